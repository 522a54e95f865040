/**
 * Deno.dlopen bindings of the native sandbox library. Every symbol takes integers and JS-owned
 * buffers only, so the library works under a path-scoped `--allow-ffi=<library>`; the two
 * pointer-returning symbols serve zero-copy views (guest memory, the VmCtx page) when
 * `--allow-ffi` is unscoped.
 * @module
 */
import { SandboxError } from "../src/pvm/mod.ts";
import {
  LIBRARY_ENV,
  type LibraryLocation,
  locateLibrary,
  unreadLibraryEnvNote,
} from "./location.ts";
import { verifyAbi } from "./vmctx.ts";

/** The C functions exported by `zig-native/lib.zig`. */
export const NATIVE_SYMBOLS = {
  pvmbox_abi_version: { parameters: [], result: "u32" },
  pvmbox_abi_describe: { parameters: ["buffer", "usize"], result: "usize" },
  pvmbox_zygote_image_size: { parameters: [], result: "usize" },
  pvmbox_spawn: { parameters: ["u32", "u32", "buffer", "buffer", "usize"], result: "i32" },
  pvmbox_dispose: { parameters: ["i32"], result: "i32" },
  pvmbox_kill: { parameters: ["i32"], result: "i32" },
  pvmbox_live_count: { parameters: [], result: "u32" },
  pvmbox_pid: { parameters: ["i32"], result: "i32" },
  pvmbox_death: { parameters: ["i32", "buffer"], result: "i32" },
  pvmbox_run: { parameters: ["i32", "u64", "u64"], result: "i32" },
  pvmbox_resume: { parameters: ["i32", "u64"], result: "i32" },
  pvmbox_sync: { parameters: ["i32", "u64"], result: "i32" },
  pvmbox_post: { parameters: ["i32", "u32", "u64", "u64"], result: "i32" },
  pvmbox_poll: { parameters: ["i32"], result: "i32" },
  pvmbox_wait_any: { parameters: ["u64"], result: "u32", nonblocking: true },
  pvmbox_exit_info: { parameters: ["i32", "buffer"], result: "i32" },
  pvmbox_vmctx_address: { parameters: ["i32"], result: "pointer" },
  pvmbox_get_reg: { parameters: ["i32", "u32"], result: "u64" },
  pvmbox_set_reg: { parameters: ["i32", "u32", "u64"], result: "void" },
  pvmbox_get_regs: { parameters: ["i32", "buffer"], result: "void" },
  pvmbox_set_regs: { parameters: ["i32", "buffer"], result: "void" },
  pvmbox_get_gas: { parameters: ["i32"], result: "i64" },
  pvmbox_set_gas: { parameters: ["i32", "i64"], result: "void" },
  pvmbox_facts: { parameters: ["i32", "buffer", "usize"], result: "usize" },
  pvmbox_last_errno: { parameters: ["i32"], result: "u32" },
  pvmbox_set_memory_limit: { parameters: ["i32", "u64"], result: "i32" },
  pvmbox_set_keep_resident: { parameters: ["i32", "u64"], result: "i32" },
  pvmbox_message: { parameters: ["i32", "buffer", "usize"], result: "usize" },
  pvmbox_load_code: {
    parameters: ["i32", "buffer", "usize", "buffer", "usize"],
    result: "u32",
  },
  pvmbox_memory_address: { parameters: ["i32"], result: "pointer" },
  pvmbox_memory_read: { parameters: ["i32", "u64", "buffer", "usize"], result: "u32" },
  pvmbox_memory_write: { parameters: ["i32", "u64", "buffer", "usize"], result: "u32" },
  pvmbox_memory_op: {
    parameters: ["i32", "u32", "u64", "u64", "u32", "u64"],
    result: "i32",
  },
  pvmbox_image_write: {
    parameters: ["i32", "u64", "buffer", "usize", "usize"],
    result: "u32",
  },
  pvmbox_reset: { parameters: ["i32", "u64"], result: "i32" },
  pvmbox_drop_kept: { parameters: ["i32", "u64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** What went wrong opening the library, once, with its path, where it came from and the fix. */
function loadFailure(location: LibraryLocation, error: unknown): string {
  const { path, source } = location;
  const unread = unreadLibraryEnvNote(location.unreadableEnv);
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `cannot load the native sandbox library ${path}: no permission; run with ` +
      `--allow-ffi=${path}${unread}`;
  }
  // The system's reason, without the repeated "Could not open library" and path Deno adds.
  const reason = (error instanceof Error ? error.message : String(error))
    .replace(/^(Could not open library: )+/, "")
    .replace(`${path}: `, "");
  const fix = source === LIBRARY_ENV
    ? `point ${LIBRARY_ENV} at a built library`
    : "rebuild it with `deno task build`";
  return `cannot load the native sandbox library ${path} (from ${source}): ${reason}; ${fix}` +
    unread;
}

/** The opened library. */
export type NativeLibrary = Deno.DynamicLibrary<typeof NATIVE_SYMBOLS>;

let opened: NativeLibrary | undefined;
let openedFrom: LibraryLocation | undefined;

/** Where the opened library came from, once `nativeLibrary()` succeeded. */
export function nativeLibraryLocation(): LibraryLocation | undefined {
  return openedFrom;
}

/**
 * Opens the library once per process and checks that its ABI matches `ffi/vmctx.ts`; throws a
 * `SandboxError` ("native-library") saying what to do otherwise.
 */
export function nativeLibrary(): NativeLibrary {
  if (opened !== undefined) return opened;
  const location = locateLibrary();
  let library: NativeLibrary;
  try {
    library = Deno.dlopen(location.path, NATIVE_SYMBOLS);
  } catch (error) {
    throw new SandboxError("native-library", loadFailure(location, error));
  }
  try {
    verifyAbi(library.symbols.pvmbox_abi_version(), describeAbi(library));
  } catch (error) {
    library.close();
    throw error;
  }
  opened = library;
  openedFrom = location;
  return library;
}

/** The ABI description text the library was compiled with. */
export function describeAbi(library: NativeLibrary): string {
  const length = Number(library.symbols.pvmbox_abi_describe(new Uint8Array(0), 0n));
  const buffer = new Uint8Array(length);
  library.symbols.pvmbox_abi_describe(buffer, BigInt(length));
  return new TextDecoder().decode(buffer);
}

/** True when `--allow-ffi` is unscoped, so pointer views (zero-copy memory) are allowed. */
export function pointerAccessGranted(): boolean {
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}
