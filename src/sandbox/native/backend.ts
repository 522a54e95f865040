/**
 * The native backend: a PVM program compiled to x86-64, running in a zygote, behind the same
 * `Backend` contract as the interpreter. This module turns the zygote's raw reports into exact
 * PVM exits — the pc of a page fault from the native offset, `sbrk` serviced on the host and
 * resumed invisibly, a user-set pc inside a block charged here — so that every exit, register,
 * gas count and memory byte equals the interpreter's.
 * @module
 */
import {
  applyLayout,
  type Backend,
  type Exit,
  LOWEST_FAULT_ADDRESS,
  type MemoryRegion,
  PAGE_SIZE,
  SandboxError,
  sbrk,
  type StandardLayout,
} from "../../pvm/mod.ts";
import { instructionById, Op } from "../../program/isa/index.ts";
import { entryCharge, instructionAtPc, type ProgramAnalysis } from "../../program/analysis.ts";
import { ABI } from "../../../ffi/vmctx.ts";
import { STEP_PC_FLAG } from "../../compiler/mod.ts";
import type { NativeExit } from "./exit.ts";
import { MemoryImage } from "./memory.ts";
import type { Zygote } from "./zygote.ts";

/** Compiled code as the backend needs it (what the compiler's `CompiledCode` provides). */
export interface NativeCode {
  /** Machine code, loaded at the code address. */
  readonly code: Uint8Array;
  /** The jump table of dynamic jumps (8-byte native addresses). */
  readonly jumpTable: Uint8Array;
  /** Native offset of the gas-charging entry of the block starting at instruction `i`, or -1. */
  blockEntry(i: number): number;
  /** Native offset of instruction `i`'s code without any charge. */
  instructionEntry(i: number): number;
  /** The instruction number whose code holds native offset `nativeOffset`. */
  instructionAt(nativeOffset: number): number;
}

/** How the next `run()` enters the code. */
const enum Entry {
  /** At `pc`, charging gas as a new basic block (the start, or after `pc` was set). */
  Fresh,
  /** At the faulting instruction, already paid for (after a page fault). */
  Unpaid,
  /** Back into the parked guest, right after its `ecalli`. */
  Parked,
}

/** Bytes a load or store touches, by instruction id (0 for others). */
const ACCESS_WIDTH = new Uint8Array(256);
for (let id = 0; id < 256; id++) {
  const match = /^(load|store)\w*_[ui](8|16|32|64)$/.exec(instructionById(id)?.name ?? "");
  if (match !== null) ACCESS_WIDTH[id] = Number(match[2]) / 8;
}

/** The read-only data of each program as a memory image, shared by all its sandboxes. */
const images = new WeakMap<Uint8Array, MemoryImage>();

/** The image of a read-only region (cached by its contents' identity, checked by length). */
function imageOf(region: MemoryRegion): MemoryImage {
  let image = images.get(region.contents);
  if (image === undefined || image.segments[0].length !== region.length) {
    const { address, contents: bytes, length } = region;
    image = new MemoryImage([{ address, bytes, length, access: "read" }]);
    images.set(region.contents, image);
  }
  return image;
}

/** What a forgotten backend's finalizer needs to give its zygote back; nothing refers to it. */
interface Lease {
  readonly zygote: Zygote;
  readonly release: (zygote: Zygote) => void;
}

/**
 * Returns the zygote of a backend dropped without disposal to its pool; a finalizer must not
 * throw, so a zygote the pool refuses is disposed instead.
 */
const forgotten = new FinalizationRegistry<Lease>(({ zygote, release }) => {
  try {
    release(zygote);
  } catch {
    zygote[Symbol.dispose]();
  }
});

/** Marks an `sbrk` serviced on the host: the guest resumes without the caller seeing it. */
const SERVICED = Symbol("serviced");

/** A PVM instance running compiled code in a zygote. */
export class NativeBackend implements Backend {
  /** Backend name. */
  readonly name: "native" = "native";
  readonly #zygote: Zygote;
  readonly #program: ProgramAnalysis;
  readonly #code: NativeCode;
  readonly #release: (zygote: Zygote) => void;
  #pc = 0;
  #entry = Entry.Fresh;
  /** Instruction number to enter at when `#entry` is `Unpaid`. */
  #unpaidIndex = 0;
  #heapTop = 0;
  #released = false;
  /** Tracing hook; set only for code compiled in step mode. */
  readonly #onInstruction: ((pc: number) => void) | undefined;
  /** Step mode: the instruction that reported itself last and has not been traced yet, or -1. */
  #stepping = -1;

  /**
   * Runs `code` (compiled from `program`) in `zygote`, which must have it loaded and its memory
   * reset; `release` takes the zygote back on disposal. With `onInstruction`, `code` must be
   * compiled in step mode: the hook is called with the pc of each instruction after it executed,
   * exactly as the interpreter calls it.
   */
  constructor(
    zygote: Zygote,
    program: ProgramAnalysis,
    code: NativeCode,
    release: (zygote: Zygote) => void,
    onInstruction?: (pc: number) => void,
  ) {
    this.#onInstruction = onInstruction;
    this.#zygote = zygote;
    this.#program = program;
    this.#code = code;
    this.#release = release;
    forgotten.register(this, { zygote, release }, this);
  }

  /** Guest memory of the zygote. */
  get memory(): Zygote["memory"] {
    return this.#zygote.memory;
  }

  /** Reads register `index` (0..12). */
  getRegister(index: number): bigint {
    return this.#zygote.vmctx.register(index);
  }

  /** Writes register `index` (0..12), modulo 2^64. */
  setRegister(index: number, value: bigint): void {
    this.#zygote.vmctx.setRegister(index, BigInt.asUintN(64, value));
  }

  /** Copies all 13 registers into `out`. */
  getRegisters(out: BigUint64Array): void {
    this.#zygote.vmctx.readRegisters(out);
  }

  /** Sets all 13 registers from `values`. */
  setRegisters(values: BigUint64Array): void {
    this.#zygote.vmctx.writeRegisters(values);
  }

  /** Remaining gas. */
  get gas(): bigint {
    return this.#zygote.vmctx.gas;
  }

  set gas(value: bigint) {
    this.#zygote.vmctx.gas = value;
  }

  /** Where the next `run()` starts; setting it starts a new basic block there. */
  get pc(): number {
    return this.#pc;
  }

  set pc(value: number) {
    this.#pc = value;
    this.#entry = Entry.Fresh;
  }

  /** The heap top `sbrk` grows from. */
  get heapTop(): number {
    return this.#heapTop;
  }

  set heapTop(value: number) {
    this.#heapTop = value;
  }

  /** Runs until the next exit. */
  run(): Exit {
    const zygote = this.#zygote;
    let report: NativeExit;
    if (this.#entry === Entry.Parked) report = zygote.resume();
    else {
      const entry = this.#nativeEntry();
      if (typeof entry !== "number") return entry;
      report = zygote.run(entry);
    }
    let exit: Exit | typeof SERVICED;
    while ((exit = this.#translate(report)) === SERVICED) report = zygote.resume();
    return exit;
  }

  /** Like `run`, without blocking the JS thread (the process's one native waiter collects it). */
  async runAsync(): Promise<Exit> {
    const zygote = this.#zygote;
    let report: NativeExit;
    if (this.#entry === Entry.Parked) report = await zygote.resumeAsync();
    else {
      const entry = this.#nativeEntry();
      if (typeof entry !== "number") return entry;
      report = await zygote.runAsync(entry);
    }
    let exit: Exit | typeof SERVICED;
    while ((exit = this.#translate(report)) === SERVICED) report = await zygote.resumeAsync();
    return exit;
  }

  /** Back to a fresh instance: the zygote's memory discarded (code kept), everything zero. */
  reset(): void {
    this.#zygote.reset();
    this.#pc = 0;
    this.#entry = Entry.Fresh;
    this.#heapTop = 0;
    this.#stepping = -1;
  }

  /** Standard initialization with the read-only data as the program's shared image. */
  applyLayout(layout: StandardLayout): void {
    const [readOnly, ...rest] = layout.regions;
    if (readOnly?.name === "ro-data" && readOnly.length > 0) {
      this.#zygote.memory.applyImage(imageOf(readOnly));
      applyLayout(this.memory, { ...layout, regions: rest });
    } else applyLayout(this.memory, layout);
  }

  /** Gives the zygote back (to its pool, or kills it). */
  [Symbol.dispose](): void {
    if (this.#released) return;
    this.#released = true;
    forgotten.unregister(this);
    this.#release(this.#zygote);
  }

  /**
   * The native offset where a fresh or unpaid run enters, or the exit when none is needed: a
   * pc inside a block is charged here for the rest of its block (as the interpreter does), a pc
   * without an instruction executes as a trap.
   */
  #nativeEntry(): number | Exit {
    const p = this.#program;
    if (p.violation !== undefined) return { kind: "panic", pc: this.#pc }; // never runs
    if (this.#entry === Entry.Unpaid) {
      // An unpaid block start reports no step (it did before its charge): announce it here.
      const i = this.#unpaidIndex;
      if (this.#onInstruction !== undefined && p.blockStart[i] === 1) this.#stepping = i;
      return this.#code.instructionEntry(i);
    }
    const pc = this.#pc;
    const index = instructionAtPc(p, pc);
    if (index >= 0 && p.blockStart[index] === 1) return this.#code.blockEntry(index);
    const cost = BigInt(entryCharge(p, index));
    const vmctx = this.#zygote.vmctx;
    if (cost > vmctx.gas) return { kind: "out-of-gas", pc };
    vmctx.gas -= cost;
    if (index < 0) return { kind: "panic", pc };
    return this.#code.instructionEntry(index);
  }

  /**
   * The PVM exit of a zygote report, or `SERVICED` after an `sbrk` or a step handled here. In
   * step mode the hook runs for the instruction that reported itself before, once execution went
   * on past it: at the next step, or at its own `ecalli`; never for the instruction that ends
   * the run.
   */
  #translate(report: NativeExit): Exit | typeof SERVICED {
    if (report.kind === "host-call" && report.pc >= STEP_PC_FLAG) return this.#step(report.pc);
    const exit = this.#exit(report);
    if (exit !== SERVICED) {
      const done = this.#stepping;
      this.#stepping = -1;
      if (done >= 0 && exit.kind === "host-call") this.#onInstruction!(this.#program.pc[done]);
    }
    return exit;
  }

  /** A step-mode report before the instruction at `flaggedPc` runs. */
  #step(flaggedPc: number): typeof SERVICED {
    const hook = this.#onInstruction;
    if (hook === undefined) this.#violation(`a step at pc ${flaggedPc}`);
    const index = this.#instructionIndex(flaggedPc - STEP_PC_FLAG, "step");
    const done = this.#stepping;
    this.#stepping = index;
    if (done >= 0) hook(this.#program.pc[done]);
    return SERVICED;
  }

  #exit(report: NativeExit): Exit | typeof SERVICED {
    const p = this.#program;
    this.#entry = Entry.Fresh;
    switch (report.kind) {
      case "return": {
        const pc = this.#instructionPc(this.#zygote.vmctx.exitDetails().pc, "halt");
        this.#pc = pc;
        return { kind: "halt", pc };
      }
      case "trap":
        this.#pc = this.#instructionPc(report.pc, "trap");
        return { kind: "panic", pc: this.#pc };
      case "out-of-gas": {
        const pc = report.pc;
        if (p.blockStart[this.#instructionIndex(pc, "out-of-gas")] !== 1) {
          this.#violation(`out of gas at ${pc}`);
        }
        this.#pc = pc;
        return { kind: "out-of-gas", pc };
      }
      case "host-call": {
        const pc = report.pc;
        const index = this.#instructionIndex(pc, "host call");
        if (p.op[index] === Op.sbrk && p.profile.hasSbrk) {
          this.#sbrk(index);
          return SERVICED;
        }
        if (p.op[index] !== Op.ecalli) this.#violation(`a host call from pc ${pc}`);
        this.#pc = p.pc[index + 1];
        this.#entry = Entry.Parked;
        return { kind: "host-call", pc, id: p.x[index] >>> 0 };
      }
      case "page-fault":
        return this.#pageFault(report.nativeAddress, report.address);
      case "signal":
        this.#zygote.kill();
        throw new SandboxError(
          "protocol-violation",
          `compiled code raised signal ${report.signal} at native address 0x${
            report.nativeAddress.toString(16)
          }; the sandbox process was killed`,
        );
    }
  }

  /**
   * A denied access at guest `address` by the instruction whose code holds `nativeAddress`: a
   * resumable page fault at the page, or a panic for addresses below 64 KiB — including an
   * access that wraps past 2^32 onto address 0, as the interpreter sees it.
   */
  #pageFault(nativeAddress: number, address: number): Exit {
    const p = this.#program;
    const index = this.#code.instructionAt(nativeAddress - ABI.CODE_ADDR);
    const width = index >= 0 && index < p.count ? ACCESS_WIDTH[p.op[index]] : 0;
    if (width === 0 || address >= 2 ** 32) {
      this.#violation(`a page fault at native address 0x${nativeAddress.toString(16)}`);
    }
    const pc = p.pc[index];
    this.#pc = pc;
    if (address < LOWEST_FAULT_ADDRESS || address + width > 2 ** 32) return { kind: "panic", pc };
    this.#entry = Entry.Unpaid;
    this.#unpaidIndex = index;
    return { kind: "page-fault", pc, address: address - (address % PAGE_SIZE) };
  }

  /** Performs `sbrk` at instruction `index` for the parked guest, with the interpreter's rule. */
  #sbrk(index: number): void {
    const p = this.#program;
    const vmctx = this.#zygote.vmctx;
    const amount = vmctx.register(p.ra[index]);
    const grown = sbrk(this.memory, this.#heapTop, amount);
    this.#heapTop = grown.heapTop;
    vmctx.setRegister(p.rd[index], BigInt(grown.result));
  }

  /** The instruction starting at `pc`; when none does, the zygote lied: kill it and throw. */
  #instructionIndex(pc: number, what: string): number {
    const index = instructionAtPc(this.#program, pc);
    if (index < 0) this.#violation(`${what} at pc ${pc}`);
    return index;
  }

  /** `pc` when an instruction starts there; otherwise the zygote lied: kill it and throw. */
  #instructionPc(pc: number, what: string): number {
    this.#instructionIndex(pc, what);
    return pc;
  }

  #violation(what: string): never {
    this.#zygote.kill();
    throw new SandboxError(
      "protocol-violation",
      `the sandbox process reported ${what}, which the program cannot produce; it was killed`,
    );
  }
}
