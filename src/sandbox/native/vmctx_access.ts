/**
 * Registers, gas and exit details of one zygote's VmCtx page as the host reads and writes them:
 * typed arrays over the host's mapping of the page when `--allow-ffi` is unscoped (no call at
 * all), bulk copy calls into the library when it is scoped to the library's path. Everything
 * read here was writable by the zygote: callers validate what they use.
 * @module
 */
import type { NativeLibrary } from "../../../ffi/library.ts";
import { ABI, fieldOffset as offset } from "../../../ffi/vmctx.ts";
import { REGISTER_COUNT } from "../../pvm/mod.ts";

/** Exit details of the latest report, as the zygote left them. */
export interface ExitDetails {
  /** Guest pc written by generated code. */
  readonly pc: number;
  /** Host-call id. */
  readonly exitArg: number;
  /** Faulting address (si_addr). */
  readonly faultAddress: bigint;
  /** Native instruction pointer of a signal. */
  readonly nativeAddress: bigint;
  /** Signal number. */
  readonly signal: number;
  /** errno of a failed queued operation. */
  readonly errno: number;
}

/** Element indices of the exit details in 32- and 64-bit views of the page (looked up once). */
const PC_WORD = offset("pc") / 4;
const EXIT_ARG_WORD = offset("exit_arg") / 4;
const SIGNAL_WORD = offset("signal") / 4;
const ERRNO_WORD = offset("error_errno") / 4;
const FAULT_ADDRESS_WIDE = offset("fault_address") / 8;
const NATIVE_ADDRESS_WIDE = offset("native_address") / 8;

/** Typed views over the VmCtx fields the host exchanges on every run. */
interface Views {
  readonly buffer: ArrayBuffer;
  readonly regs: BigUint64Array;
  readonly gas: BigInt64Array;
  readonly words: Uint32Array;
  readonly wide: BigUint64Array;
}

function viewsOf(buffer: ArrayBuffer): Views {
  return {
    buffer,
    regs: new BigUint64Array(buffer, offset("regs"), REGISTER_COUNT),
    gas: new BigInt64Array(buffer, offset("gas"), 1),
    words: new Uint32Array(buffer),
    wide: new BigUint64Array(buffer),
  };
}

/** Access to one zygote's registers, gas and exit details. Created by `Zygote`. */
export class VmCtxAccess {
  readonly #library: NativeLibrary;
  readonly #handle: number;
  readonly #copy = new BigUint64Array(REGISTER_COUNT);
  readonly #info = new BigUint64Array(6);
  #views: Views | undefined;

  /** @internal Maps a view of `handle`'s page when `zeroCopy`, else uses copy calls. */
  constructor(library: NativeLibrary, handle: number, zeroCopy: boolean) {
    this.#library = library;
    this.#handle = handle;
    if (zeroCopy) {
      const pointer = library.symbols.pvmbox_vmctx_address(handle);
      if (pointer !== null) {
        this.#views = viewsOf(Deno.UnsafePointerView.getArrayBuffer(pointer, ABI.VMCTX_SIZE));
      }
    }
  }

  /** True when fields are read through typed views (no FFI call). */
  get zeroCopy(): boolean {
    return this.#views !== undefined;
  }

  /** Copies the 13 registers into `out`. */
  readRegisters(out: BigUint64Array): void {
    if (this.#views !== undefined) out.set(this.#views.regs);
    else {
      this.#library.symbols.pvmbox_get_regs(this.#handle, this.#copy);
      out.set(this.#copy);
    }
  }

  /** Sets the 13 registers from `values`. */
  writeRegisters(values: BigUint64Array): void {
    if (this.#views !== undefined) this.#views.regs.set(values);
    else this.#library.symbols.pvmbox_set_regs(this.#handle, values);
  }

  /** Register `index` (0..12). */
  register(index: number): bigint {
    if (this.#views !== undefined) return this.#views.regs[index];
    return this.#library.symbols.pvmbox_get_reg(this.#handle, index);
  }

  /** Sets register `index` (0..12). */
  setRegister(index: number, value: bigint): void {
    if (this.#views !== undefined) this.#views.regs[index] = value;
    else this.#library.symbols.pvmbox_set_reg(this.#handle, index, BigInt.asUintN(64, value));
  }

  /** Remaining gas (signed 64-bit). */
  get gas(): bigint {
    if (this.#views !== undefined) return this.#views.gas[0];
    return this.#library.symbols.pvmbox_get_gas(this.#handle);
  }

  set gas(value: bigint) {
    if (this.#views !== undefined) this.#views.gas[0] = value;
    else this.#library.symbols.pvmbox_set_gas(this.#handle, BigInt.asIntN(64, value));
  }

  /** Exit details of the latest report. */
  exitDetails(): ExitDetails {
    const v = this.#views;
    if (v !== undefined) {
      return {
        pc: v.words[PC_WORD],
        exitArg: v.words[EXIT_ARG_WORD],
        faultAddress: v.wide[FAULT_ADDRESS_WIDE],
        nativeAddress: v.wide[NATIVE_ADDRESS_WIDE],
        signal: v.words[SIGNAL_WORD],
        errno: v.words[ERRNO_WORD],
      };
    }
    const info = this.#info;
    this.#library.symbols.pvmbox_exit_info(this.#handle, info);
    return {
      pc: Number(info[0]),
      exitArg: Number(info[1]),
      faultAddress: info[2],
      nativeAddress: info[3],
      signal: Number(info[4]),
      errno: Number(info[5]),
    };
  }

  /** @internal A function that detaches the views without keeping this object alive. */
  detacher(): () => void {
    const buffer = this.#views?.buffer;
    return () => {
      if (buffer !== undefined && !buffer.detached) buffer.transfer(0);
    };
  }

  /** @internal Detaches the views before the page is unmapped. */
  detach(): void {
    const buffer = this.#views?.buffer;
    this.#views = undefined;
    if (buffer !== undefined && !buffer.detached) buffer.transfer(0);
  }
}
