/**
 * Why native guest code stopped. These are the raw exits of the sandbox process; the PVM
 * backend maps them onto `Exit` (host call, trap → panic, out-of-gas, page fault).
 * @module
 */

/** A raw exit of guest machine code running in a zygote. */
export type NativeExit =
  /** Guest code jumped to the return-to-host trampoline. */
  | { readonly kind: "return" }
  /** Guest code called the host-call trampoline with `id`; `resume()` continues after it. */
  | { readonly kind: "host-call"; readonly id: number; readonly pc: number }
  /** Guest code jumped to the trap trampoline. */
  | { readonly kind: "trap"; readonly pc: number }
  /** Guest code jumped to the out-of-gas trampoline. */
  | { readonly kind: "out-of-gas"; readonly pc: number }
  /** A guest instruction at `nativeAddress` touched an inaccessible guest `address` (< 2^32). */
  | {
    readonly kind: "page-fault";
    readonly address: number;
    readonly nativeAddress: number;
    readonly signal: number;
  }
  /**
   * Any other fault of guest code: SIGILL, SIGFPE, or a memory fault outside guest memory
   * (`address` is then the native faulting address).
   */
  | {
    readonly kind: "signal";
    readonly signal: number;
    readonly nativeAddress: number;
    readonly address: bigint;
  };

/** The kinds of `NativeExit`. */
export type NativeExitKind = NativeExit["kind"];
