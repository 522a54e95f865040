/**
 * The native sandbox: locked-down zygote processes that run guest machine code, spawned and
 * driven by the native library in `ffi/` (build it with `deno task build`).
 *
 * @example
 * ```ts
 * import { Zygote } from "./mod.ts";
 * using zygote = Zygote.spawn({ timeoutMs: 1000 });
 * zygote.memory.map(0x10000, 4096, "read-write");
 * // jmp [rip + 0x40002ca]: trampolines.return_to_host (VmCtx offset 0x2d0; the VmCtx lies
 * // 64 MiB after the code, and the displacement counts from this 6-byte instruction's end)
 * zygote.loadCode(new Uint8Array([0xff, 0x25, 0xca, 0x02, 0x00, 0x04]));
 * console.log(zygote.run(0)); // { kind: "return" }
 * ```
 * @module
 */
export type { NativeExit, NativeExitKind } from "./exit.ts";
export { type ImageSegment, MemoryImage, NativeMemory } from "./memory.ts";
export {
  DEFAULT_RECYCLE_POLICY,
  type RecyclePolicy,
  ZygotePool,
  type ZygotePoolOptions,
} from "./pool.ts";
export {
  DEFAULT_MEMORY_LIMIT_BYTES,
  DEFAULT_TIMEOUT_MS,
  type RunOptions,
  Zygote,
  type ZygoteFacts,
  type ZygoteOptions,
} from "./zygote.ts";
