/**
 * What the compiler is told about the process its code runs in, and what it produces.
 * @module
 */

/** Byte offsets inside the VmCtx page that generated code reads and writes. */
export interface VmCtxOffsets {
  /** Guest pc of an exit (u32). */
  readonly pc: number;
  /** Host-call id of an exit (u32). */
  readonly exitArg: number;
  /** Trampoline `jmp`ed to on halt. */
  readonly returnToHost: number;
  /** Trampoline `call`ed for a host call; returns when the host resumes. */
  readonly hostCall: number;
  /** Trampoline `jmp`ed to on a trap (panic). */
  readonly trap: number;
  /** Trampoline `jmp`ed to when a block's gas cannot be paid. */
  readonly outOfGas: number;
}

/** Where generated code runs: supplied by the native backend from the ffi/ mirror of zygote/abi.zig. */
export interface CodeTarget {
  /** Where the code is mapped, read+execute. */
  readonly codeAddress: bigint;
  /** Bytes of the code region at `codeAddress`: no longer code is ever loaded. */
  readonly codeLimit: number;
  /** Where the jump table of dynamic jumps is mapped (8-byte absolute native addresses). */
  readonly jumpTableAddress: bigint;
  /**
   * Where the VmCtx is mapped. Code reaches its fields RIP-relative, so it must lie within
   * ±2 GiB of every byte of the code region.
   */
  readonly vmctxAddress: bigint;
  /** x86 register number holding the remaining gas (i64) while code runs (r13 = 13). */
  readonly gasRegister: number;
  /** x86 register number generated code may clobber (rcx = 1). */
  readonly scratchRegister: number;
  /** x86 register number of PVM register i (abi.zig GUEST_REGISTERS). */
  readonly guestRegisters: readonly number[];
  /** Byte offsets inside the VmCtx. */
  readonly offsets: VmCtxOffsets;
}

/** How a program is compiled. */
export interface CompileOptions {
  /**
   * Step mode, for tracing: before each instruction runs (before its block's gas charge at a
   * block start), its code reports it like a host call whose pc carries `STEP_PC_FLAG`; the host
   * resumes it to go on. Entering a block start unpaid (`instructionEntry`) reports nothing.
   */
  readonly step?: boolean;
}

/** Set in the pc of a step-mode report (pcs of real exits are below 2^31). */
export const STEP_PC_FLAG = 0x8000_0000;

/** A compiled program: machine code, its jump table, and the maps between pcs and code. */
export interface CompiledCode {
  /** Machine code, loaded at `codeAddress`. */
  readonly code: Uint8Array;
  /** Entry k (for dynamic address 2(k+1)) = the native address of its block's entry. */
  readonly jumpTable: Uint8Array;
  /**
   * Native offset of the gas-charging entry of the block starting at instruction number `i`,
   * -1 if none starts there.
   */
  blockEntry(i: number): number;
  /** Native offset of instruction number `i`'s code without any charge (resume point). */
  instructionEntry(i: number): number;
  /** Instruction number whose code holds native offset `nativeOffset` (-1 if none does). */
  instructionAt(nativeOffset: number): number;
}
