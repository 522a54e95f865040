/**
 * The native sandbox: locked-down zygote processes that run guest machine code, spawned and
 * driven by the native library in `ffi/`.
 * @module
 */
export type { NativeExit, NativeExitKind } from "./exit.ts";
export { type ImageSegment, MemoryImage, NativeMemory } from "./memory.ts";
export { ZygotePool, type ZygotePoolOptions } from "./pool.ts";
export { type RunOptions, Zygote, type ZygoteFacts, type ZygoteOptions } from "./zygote.ts";
