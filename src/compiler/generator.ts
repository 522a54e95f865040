/**
 * The code generator: emits x86-64 for each PVM instruction of an analysed program (as
 * lowering.ts lowers it), in pc order, with gas charged at every block entry and exits as
 * zygote/abi.zig prescribes. Cold paths (out of gas, panics on invalid targets, invalid dynamic
 * jumps) go to out-of-line stubs emitted after all instructions, so the hot code falls straight
 * through.
 *
 * Gas lives in the target's gas register, so a charge is a register subtraction; the VmCtx
 * (exit pc and argument, trampolines) is reached RIP-relative, through `vmctx` alone.
 * @module
 */
import { Op } from "../program/isa/index.ts";
import type { ProgramAnalysis } from "../program/analysis.ts";
import { type CodeTarget, STEP_PC_FLAG } from "./target.ts";
import { emitFused, Fusion, fusionAt } from "./fusion.ts";
import { InstructionEntries } from "./entries.ts";
import { X64 } from "./x64/assembler.ts";
import { Addr, Alu, Cond, Reg, Shift } from "./x64/operands.ts";
import {
  exitTo,
  HALT_INDEX,
  type LoweringContext,
  lowerInstruction,
  Stub,
  vmctx,
} from "./lowering.ts";

/** Kinds of out-of-gas stubs: of one block, or of a lone fallthrough charged with the next. */
const OutOfGas = { Block: 0, Pair: 1 } as const;
const FALLTHROUGH: number = Op.fallthrough;
/**
 * Room reserved before each instruction (with its block's charges) and each stub: the longest,
 * the software popcount, takes about 100 bytes.
 */
const MAX_INSTRUCTION_BYTES = 256;
/** Bytes of a step-mode report (a 32-bit store and an indirect call through the VmCtx). */
const STEP_REPORT_BYTES = 32;
const MAX_STUB_BYTES = 96;

const JUMP_TABLE_ENTRY = 8;
/** An out-of-gas stub packs its block's pc (low 24 bits) and cost (high 8 bits) in ecx. */
const PACKED_PC_BITS = 24;
const PACKED_PC_LIMIT = 1 << PACKED_PC_BITS;
const PACKED_COST_LIMIT = 1 << (32 - PACKED_PC_BITS);

/** Generated code and where each instruction and stub landed in it. */
export interface GeneratedCode {
  /** The machine code. */
  readonly code: Uint8Array;
  /** Where each instruction is entered, with its block's charge or without. */
  readonly entries: InstructionEntries;
  /**
   * Ascending offsets where each stub begins, after all instructions' code; the first entry is
   * the shared code of no instruction.
   */
  readonly stubStart: Int32Array;
  /** Instruction number owning each stub (-1 for the shared code). */
  readonly stubOwner: Int32Array;
  /**
   * Per jump-table entry: the offset it jumps to, its target's block entry or, for an entry
   * that starts no block, the stub that traps.
   */
  readonly tableEntries: Int32Array;
}

/**
 * A list of stubs, in order: each with its kind, the instruction owning it and a link: for
 * requested stubs the label their jump goes to, for out-of-gas stubs the site of the rel32 to
 * patch (one charge jumps to each).
 */
class StubList {
  kind: Uint8Array = new Uint8Array(256);
  owner: Int32Array = new Int32Array(256);
  link: Int32Array = new Int32Array(256);
  count = 0;

  /**
   * Empties the list, with room for `capacity` stubs: growing by doubling from a small list
   * would allocate and copy about twice the final size, new memory that faults page by page in
   * a process's first compile.
   */
  reset(capacity: number): void {
    this.count = 0;
    if (capacity > this.kind.length) this.#resize(capacity);
  }

  add(kind: number, owner: number, link: number): void {
    if (this.count === this.kind.length) this.#resize(this.count * 2);
    this.kind[this.count] = kind;
    this.owner[this.count] = owner;
    this.link[this.count++] = link;
  }

  #resize(capacity: number): void {
    const kinds = new Uint8Array(capacity), owners = new Int32Array(capacity);
    const links = new Int32Array(capacity);
    kinds.set(this.kind.subarray(0, this.count));
    owners.set(this.owner.subarray(0, this.count));
    links.set(this.link.subarray(0, this.count));
    this.kind = kinds;
    this.owner = owners;
    this.link = links;
  }
}

/**
 * Working storage reused by every compilation (compiling is synchronous), so a compile allocates
 * little more than its results.
 */
const reusable = new X64();
/**
 * Code bytes reserved per instruction, stubs included (real programs take 10 to 14): reserved
 * room that stays unused costs nothing, while outgrowing it copies the code.
 */
const RESERVED_BYTES_PER_INSTRUCTION = 16;
const stubs = new StubList();
/** The out-of-gas stubs, one per charged block, in block order. */
const outOfGasStubs = new StubList();
/**
 * Bytes of out-of-gas stubs after which a new hub is emitted: the stubs jump to the nearest one
 * with a 2-byte jmp (reach 128 bytes back), not a 5-byte one to the far tail.
 */
const HUB_SPACING = 96;

/**
 * Generates the code of a whole program for `target`: instructions in pc order, then the stubs;
 * with `step`, every instruction reports itself to the host before it runs (tracing). Throws
 * when the target breaks an assumption of the code generator.
 */
export function generateCode(
  program: ProgramAnalysis,
  target: CodeTarget,
  step: boolean,
): GeneratedCode {
  return new CodeGenerator(program, target, step).generate();
}

/** Emits the code of a whole program (one at a time: it works in shared storage). */
class CodeGenerator implements LoweringContext {
  readonly p: ProgramAnalysis;
  readonly asm: X64;
  readonly g: Int8Array;
  /** The gas register. */
  readonly #gas: number;
  readonly vmctxOffset: number;
  readonly off: CodeTarget["offsets"];
  readonly tableBase: number;
  readonly recordPcOnJump: boolean;
  /** Step mode: each instruction reports itself to the host before it runs (tracing). */
  readonly #step: boolean;
  #invalidEntryLabel = -1;
  /**
   * Where each stub (and hub) begins and the instruction owning it (-1: none), the arrays
   * handed out (as the first `#stubCount` entries).
   */
  #stubStart: Int32Array = new Int32Array(0);
  #stubOwner: Int32Array = new Int32Array(0);
  #stubCount = 0;
  /** The label of the latest hub: a `jmp` to the out-of-gas tail, near the stubs after it. */
  #outOfGasHub = -1;
  #outOfGasTail = -1;

  /** Prepares to compile `program` for `target`; throws when the target breaks an assumption. */
  constructor(program: ProgramAnalysis, target: CodeTarget, step: boolean) {
    checkTarget(program, target);
    this.p = program;
    const perInstruction = RESERVED_BYTES_PER_INSTRUCTION + (step ? STEP_REPORT_BYTES : 0);
    reusable.reset(program.count * perInstruction + MAX_INSTRUCTION_BYTES + 64 * MAX_STUB_BYTES);
    stubs.reset(0);
    // Real programs start a block every four to six instructions.
    outOfGasStubs.reset(program.count >> 2);
    this.asm = reusable;
    this.g = Int8Array.from(target.guestRegisters);
    this.#gas = target.gasRegister;
    this.vmctxOffset = Number(target.vmctxAddress - target.codeAddress);
    this.off = target.offsets;
    this.tableBase = Number(target.jumpTableAddress / BigInt(JUMP_TABLE_ENTRY));
    this.recordPcOnJump = program.jumpTargets.indexOf(-1) >= 0;
    this.#step = step;
  }

  /** Generates the code: instructions in pc order, then the stubs. */
  generate(): GeneratedCode {
    const asm = this.asm, p = this.p, n = p.count;
    const entries = new InstructionEntries(n);
    // Label i: the block entry of instruction i, bound where it starts a block.
    asm.newLabels(n);
    this.#emitInstructions(entries);
    const { start, owner } = this.#emitStubs(entries);
    const tableEntries = new Int32Array(p.jumpTargets.length);
    const invalidEntry = asm.labelOffset(this.#invalidEntryLabel);
    for (let k = 0; k < tableEntries.length; k++) {
      const t = p.jumpTargets[k];
      tableEntries[k] = t >= 0 ? asm.labelOffset(t) : invalidEntry;
    }
    asm.checkLabelsBound();
    return {
      code: asm.code(),
      entries,
      stubStart: start,
      stubOwner: owner,
      tableEntries,
    };
  }

  /**
   * Emits every instruction in pc order with the charges of the blocks, recording where each
   * landed. Nothing follows the loop: V8 compiles a loop this long on the fly (on-stack
   * replacement) in each compile's first call, and code after it that had not run by then
   * would throw the compiled code away at every call.
   */
  #emitInstructions(entries: InstructionEntries): void {
    const p = this.p, asm = this.asm, n = p.count;
    const { blockStart, entryCost } = p;
    const { low, anchor, charge } = entries;
    const gas = this.#gas, step = this.#step;
    let reached = -1;
    for (let i = 0; i < n; i++) {
      asm.reserve(MAX_INSTRUCTION_BYTES + STEP_REPORT_BYTES);
      const group = InstructionEntries.groupOf(i);
      if (group !== reached) {
        anchor[group] = asm.length;
        reached = group;
      }
      if (blockStart[i] === 1) {
        asm.bind(i);
        // Reported before the charge, so that the trace sees the gas before the block is paid.
        if (step) this.#stepReport(i);
        const cost = entryCost[i];
        if (this.#fusesWithNext(i)) {
          // Pay for both blocks and skip the next block's own charge.
          asm.aluRI(Alu.sub, true, gas, cost + entryCost[i + 1]);
          outOfGasStubs.add(OutOfGas.Pair, i, asm.jccFar(Cond.s));
          const skip = asm.jmpShort();
          // Without a charge: enter the next block, charged.
          low[i] = asm.length;
          charge[i] = asm.length - asm.labelOffset(i);
          i++;
          asm.bind(i);
          asm.aluRI(Alu.sub, true, gas, entryCost[i]);
          outOfGasStubs.add(OutOfGas.Block, i, asm.jccFar(Cond.s));
          asm.bindShort(skip);
        } else if (cost > 0) {
          asm.aluRI(Alu.sub, true, gas, cost);
          outOfGasStubs.add(OutOfGas.Block, i, asm.jccFar(Cond.s));
        }
        charge[i] = asm.length - asm.labelOffset(i);
      }
      low[i] = asm.length;
      if (step && blockStart[i] === 0) this.#stepReport(i);
      const fusion = step ? Fusion.none : fusionAt(p, i);
      if (fusion === Fusion.none) {
        lowerInstruction(this, i);
        continue;
      }
      emitFused(asm, p, this.g, fusion, i);
      // A run may start at i + 1 (a pc set by the host): it runs alone out of line.
      const resume = this.stub(Stub.Entry, ++i) + 1;
      asm.bind(resume);
    }
  }

  /** Step mode: reports instruction `i` to the host (like a host call, its pc flagged). */
  #stepReport(i: number): void {
    this.asm.storeImm(4, this.p.pc[i] | STEP_PC_FLAG, Addr.rip, 0, vmctx(this, this.off.pc));
    this.asm.callMem(Addr.rip, 0, vmctx(this, this.off.hostCall));
  }

  /**
   * Whether block `i` is a lone fallthrough (a common loop head) charged together with the next
   * block: one gas update per iteration instead of two. Nothing between the two charges can
   * exit, so only running out of gas needs them apart (in the out-of-gas stub). Never in step
   * mode, where every block start reports itself before its own charge.
   */
  #fusesWithNext(i: number): boolean {
    const { op, entryCost } = this.p;
    return !this.#step && op[i] === FALLTHROUGH && entryCost[i] > 0 && i + 1 < this.p.count &&
      entryCost[i + 1] > 0;
  }

  // ---- Stubs. ----

  /** See `LoweringContext.stub`. */
  stub(kind: number, owner: number): number {
    const label = this.asm.newLabels(2);
    stubs.add(kind, owner, label);
    return label;
  }

  /**
   * Emits the stubs: shared code, the out-of-gas ones, the requested ones; records the entries
   * that lie in stubs in `entries`. Each loop is a method with nothing after it, for
   * the reason `#emitInstructions` gives.
   */
  #emitStubs(entries: InstructionEntries): { start: Int32Array; owner: Int32Array } {
    // Hubs come every dozen or so out-of-gas stubs.
    this.#stubRoom(2 + outOfGasStubs.count + (outOfGasStubs.count >> 3) + stubs.count);
    this.#emitSharedStubCode();
    this.#emitOutOfGasStubs();
    this.#emitRequestedStubs(entries);
    const count = this.#stubCount;
    return { start: this.#stubStart.subarray(0, count), owner: this.#stubOwner.subarray(0, count) };
  }

  /**
   * Shared code of no instruction, first so that the stubs jump back to it (no fixups): the
   * trap of jump-table entries that start no block (the jump recorded its pc already), and the
   * tail of the packed out-of-gas stubs (pc and cost in ecx).
   */
  #emitSharedStubCode(): void {
    const asm = this.asm, off = this.off;
    this.#beginStub(-1, MAX_STUB_BYTES);
    this.#invalidEntryLabel = asm.newLabels(1);
    asm.bind(this.#invalidEntryLabel);
    asm.jmpMem(Addr.rip, 0, vmctx(this, off.trap));
    this.#outOfGasTail = asm.newLabels(1);
    this.#outOfGasHub = this.#outOfGasTail;
    asm.bind(this.#outOfGasTail);
    asm.store(4, Reg.rcx, Addr.rip, 0, vmctx(this, off.pc));
    asm.aluMI(Alu.and, false, Addr.rip, 0, vmctx(this, off.pc), PACKED_PC_LIMIT - 1);
    asm.shiftRI(Shift.shr, false, Reg.rcx, PACKED_PC_BITS);
    asm.aluRR(Alu.add, true, this.#gas, Reg.rcx);
    asm.jmpMem(Addr.rip, 0, vmctx(this, off.outOfGas));
  }

  /** The out-of-gas stubs, in block order, paired as the charges were. */
  #emitOutOfGasStubs(): void {
    const asm = this.asm;
    for (let k = 0; k < outOfGasStubs.count; k++) {
      const i = outOfGasStubs.owner[k];
      if (asm.length - asm.labelOffset(this.#outOfGasHub) > HUB_SPACING) this.#outOfGasHubHere();
      this.#beginStub(i, MAX_STUB_BYTES);
      asm.bindFar(outOfGasStubs.link[k]);
      if (outOfGasStubs.kind[k] === OutOfGas.Pair) this.#fusedOutOfGas(i);
      else this.#outOfGas(i);
    }
  }

  /** The stubs instructions asked for, in request order. */
  #emitRequestedStubs(entries: InstructionEntries): void {
    const asm = this.asm, p = this.p, off = this.off;
    for (let k = 0; k < stubs.count; k++) {
      const i = stubs.owner[k], label = stubs.link[k];
      this.#beginStub(i, stubs.kind[k] === Stub.Entry ? MAX_INSTRUCTION_BYTES : MAX_STUB_BYTES);
      asm.bind(label);
      switch (stubs.kind[k]) {
        case Stub.Panic:
          exitTo(this, p.pc[i], off.trap);
          break;
        case Stub.Entry:
          entries.enterInStub(i, asm.length);
          lowerInstruction(this, i);
          asm.jmp(label + 1);
          break;
        default: { // Stub.Dynamic: rcx holds the rotated index of the target address
          asm.storeImm(4, p.pc[i], Addr.rip, 0, vmctx(this, off.pc));
          asm.aluRI(Alu.cmp, false, Reg.rcx, HALT_INDEX);
          const halt = asm.jccShort(Cond.e);
          asm.jmpMem(Addr.rip, 0, vmctx(this, off.trap));
          asm.bindShort(halt);
          asm.jmpMem(Addr.rip, 0, vmctx(this, off.returnToHost));
        }
      }
    }
  }

  /** Room for `capacity` stubs in `#stubStart` and `#stubOwner`. */
  #stubRoom(capacity: number): void {
    const starts = new Int32Array(capacity), owners = new Int32Array(capacity);
    starts.set(this.#stubStart.subarray(0, this.#stubCount));
    owners.set(this.#stubOwner.subarray(0, this.#stubCount));
    this.#stubStart = starts;
    this.#stubOwner = owners;
  }

  /**
   * Begins a stub of instruction `owner` (-1: shared code) with room for `bytes`. A method, not
   * a closure in `#emitStubs`: optimised code calling a closure made at each compile would be
   * thrown away at each compile.
   */
  #beginStub(owner: number, bytes: number): void {
    if (this.#stubCount === this.#stubStart.length) this.#stubRoom(2 * this.#stubCount);
    this.#stubStart[this.#stubCount] = this.asm.length;
    this.#stubOwner[this.#stubCount++] = owner;
    this.asm.reserve(bytes);
  }

  /** A new hub (shared code of no instruction) for the out-of-gas stubs that follow. */
  #outOfGasHubHere(): void {
    this.#beginStub(-1, MAX_STUB_BYTES);
    this.#outOfGasHub = this.asm.newLabels(1);
    this.asm.bind(this.#outOfGasHub);
    this.asm.jmp(this.#outOfGasTail);
  }

  /** Out-of-gas stub of block `i`: gives its cost back and exits at its pc. */
  #outOfGas(i: number): void {
    this.#outOfGasExit(this.p.pc[i], this.p.entryCost[i]);
  }

  /**
   * Out-of-gas stub of lone-fallthrough block `i` charged with block i + 1: with both costs
   * given back, gas g < cost(i) + cost(i + 1); block i fails when g is below its own cost,
   * otherwise it runs (nothing but a fallthrough) and block i + 1 fails with g − cost(i).
   */
  #fusedOutOfGas(i: number): void {
    const asm = this.asm, p = this.p, gas = this.#gas;
    const cost = p.entryCost[i];
    asm.aluRI(Alu.add, true, gas, cost + p.entryCost[i + 1]);
    asm.aluRI(Alu.cmp, true, gas, cost);
    const first = asm.jccShort(Cond.l);
    asm.aluRI(Alu.sub, true, gas, cost);
    this.#outOfGasExit(p.pc[i + 1], 0);
    asm.bindShort(first);
    this.#outOfGasExit(p.pc[i], 0);
  }

  /**
   * Gives `cost` back and exits out of gas at `pc`: most stubs pass both packed in ecx to the
   * shared tail, through the nearest hub.
   */
  #outOfGasExit(pc: number, cost: number): void {
    const asm = this.asm;
    if (pc < PACKED_PC_LIMIT && cost < PACKED_COST_LIMIT) {
      asm.movRI(false, Reg.rcx, (cost << PACKED_PC_BITS) | pc);
      asm.jmp(this.#outOfGasHub);
    } else {
      if (cost !== 0) asm.aluRI(Alu.add, true, this.#gas, cost);
      exitTo(this, pc, this.off.outOfGas);
    }
  }
}

/** Throws unless the target and program fit the code generator's assumptions. */
function checkTarget(program: ProgramAnalysis, target: CodeTarget): void {
  const regs = target.guestRegisters;
  const reserved = new Set([Reg.rsp, Reg.rcx, target.gasRegister]);
  const problems: string[] = [];
  if (target.scratchRegister !== Reg.rcx) problems.push("the scratch register must be rcx");
  // rax and rdx are the implicit operands of multiplications and divisions, rsp the stack.
  if (new Set<number>([Reg.rax, Reg.rdx, Reg.rcx, Reg.rsp]).has(target.gasRegister)) {
    problems.push("the gas register must not be rax, rdx, rcx or rsp");
  }
  if (regs.length !== 13 || new Set(regs).size !== 13 || regs.some((r) => reserved.has(r))) {
    problems.push("13 distinct guest registers other than rsp, rcx and the gas register");
  }
  const vmctxProblem = ripReachProblem(target);
  if (vmctxProblem !== undefined) problems.push(vmctxProblem);
  const table = target.jumpTableAddress;
  if (
    table % BigInt(JUMP_TABLE_ENTRY) !== 0n ||
    table / BigInt(JUMP_TABLE_ENTRY) + BigInt(program.jumpTargets.length) >= 1n << 31n
  ) {
    problems.push("the jump table must be 8-byte aligned and below 16 GiB");
  }
  if (program.jumpTargets.length >= HALT_INDEX) problems.push("the jump table is too large");
  if (problems.length > 0) {
    throw new Error(`cannot compile for this target: ${problems.join("; ")}`);
  }
}

/**
 * Why some VmCtx field the code uses is out of RIP-relative reach (a signed 32-bit displacement
 * from the end of an instruction) from somewhere in the code region, or undefined when none is.
 * Instruction ends lie in (codeAddress, codeAddress + codeLimit].
 */
function ripReachProblem(target: CodeTarget): string | undefined {
  const fields = Object.values(target.offsets);
  const codeStart = target.codeAddress, codeEnd = codeStart + BigInt(target.codeLimit);
  const lowest = target.vmctxAddress + BigInt(Math.min(...fields));
  const highest = target.vmctxAddress + BigInt(Math.max(...fields));
  const reach = 1n << 31n;
  if (highest - codeStart <= reach && codeEnd - lowest <= reach) return undefined;
  const vmctx = `0x${target.vmctxAddress.toString(16)}`;
  const code = `0x${codeStart.toString(16)}–0x${codeEnd.toString(16)}`;
  return `the VmCtx at ${vmctx} is out of RIP-relative reach (±2 GiB) of the code at ${code}`;
}
