/**
 * The native sandbox's machinery: zygotes (locked-down child processes that run x86-64 code,
 * spawned by the native library), their pools and memory. `Sandbox` with `backend: "native"`
 * uses them for PVM programs; this subpath is for running machine code directly, and for
 * knowing where the library is loaded from (`PVMBOX_NATIVE_LIB`, a clone's build, or the copy
 * embedded in the package, written into `$PVMBOX_CACHE`).
 *
 * @example A zygote that returns to the host at once
 * ```ts
 * import { Zygote } from "@pvmbox/pvmbox/native";
 *
 * using zygote = Zygote.spawn({ timeoutMs: 1000 });
 * // jmp [rip + 0x40002ca]: the return_to_host trampoline (VmCtx offset 0x2d0; the VmCtx lies
 * // 64 MiB after the code, and the displacement counts from this 6-byte instruction's end)
 * zygote.loadCode(new Uint8Array([0xff, 0x25, 0xca, 0x02, 0x00, 0x04]));
 * console.log(zygote.run(0)); // { kind: "return" }
 * ```
 *
 * @module
 */
export {
  DEFAULT_MEMORY_LIMIT_BYTES,
  DEFAULT_RECYCLE_POLICY,
  DEFAULT_TIMEOUT_MS,
  type ImageSegment,
  MemoryImage,
  type NativeExit,
  type NativeExitKind,
  NativeMemory,
  type RecyclePolicy,
  type RunOptions,
  Zygote,
  type ZygoteFacts,
  type ZygoteOptions,
  ZygotePool,
  type ZygotePoolOptions,
} from "./src/sandbox/native/mod.ts";
export { type ExitDetails, VmCtxAccess } from "./src/sandbox/native/vmctx_access.ts";
export {
  CACHE_ENV,
  LIBRARY_ENV,
  type LibraryLocation,
  type LibrarySource,
  locateLibrary,
} from "./ffi/location.ts";
