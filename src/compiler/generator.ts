/**
 * The code generator: emits x86-64 for each PVM instruction of an analysed program, in pc
 * order, with gas charged at every block entry and exits as zygote/abi.zig prescribes. Cold
 * paths (out of gas, panics on invalid targets, invalid dynamic jumps) go to out-of-line stubs
 * emitted after all instructions, so the hot code falls straight through.
 *
 * Gas lives in the target's gas register, so a charge is a register subtraction; the VmCtx
 * (exit pc and argument, trampolines) is reached RIP-relative, through `#vmctx` alone.
 *
 * Guest registers stay in their native registers; only rcx (scratch) and, around a multiply or
 * divide that needs rax:rdx, pushed copies on the zygote stack hold temporaries. No guest
 * register changes before a memory access that may fault, so a page fault leaves exactly the
 * state before the instruction.
 * @module
 */
import { Op } from "../program/isa/index.ts";
import { HALT_ADDRESS } from "../pvm/mod.ts";
import type { ProgramAnalysis } from "../program/analysis.ts";
import { type CodeTarget, STEP_PC_FLAG } from "./target.ts";
import { emitFused, Fusion, fusionAt } from "./fusion.ts";
import { X64 } from "./x64/assembler.ts";
import { Addr, Alu, Cond, Load, Reg, Shift, Unary } from "./x64/operands.ts";

/**
 * Kinds of out-of-line stubs besides the out-of-gas ones: the instruction's static target is no
 * block start (panic at its pc); its dynamic target is outside the jump table (halt or panic at
 * its pc); the entry of the second instruction of a fused pair (it alone, then back after the
 * pair).
 */
const Stub = { Panic: 0, Dynamic: 1, Entry: 2 } as const;
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

/** The halt address as the dynamic-jump check sees it (address / 2 − 1). */
const HALT_INDEX = HALT_ADDRESS / 2 - 1;
const JUMP_TABLE_ENTRY = 8;
/** An out-of-gas stub packs its block's pc (low 24 bits) and cost (high 8 bits) in ecx. */
const PACKED_PC_BITS = 24;
const PACKED_PC_LIMIT = 1 << PACKED_PC_BITS;
const PACKED_COST_LIMIT = 1 << (32 - PACKED_PC_BITS);

/** Generated code and where each instruction and stub landed in it. */
export interface GeneratedCode {
  /** The machine code. */
  readonly code: Uint8Array;
  /** Per instruction: offset of the gas-charging block entry, -1 where no block starts. */
  readonly blockEntry: Int32Array;
  /**
   * Per instruction: offset where execution enters it without a charge: its code in the
   * instruction stream, ascending, except for the second instruction of a fused pair, which is
   * entered in a stub.
   */
  readonly instructionEntry: Int32Array;
  /**
   * Ascending offsets where each stub begins, after all instructions' code; the first entry is
   * the shared code of no instruction.
   */
  readonly stubStart: Int32Array;
  /** Instruction number owning each stub (-1 for the shared code). */
  readonly stubOwner: Int32Array;
  /** Offset of the stub that traps for jump-table entries that start no block. */
  readonly invalidEntry: number;
}

/**
 * Out-of-line stubs requested while emitting instructions, in request order: each with its
 * kind, the instruction owning it and where its jump goes (a label, or for out-of-gas stubs the
 * site of the rel32 to patch: one charge jumps to each).
 */
class StubList {
  kind: Uint8Array = new Uint8Array(256);
  owner: Int32Array = new Int32Array(256);
  link: Int32Array = new Int32Array(256);
  count = 0;

  add(kind: number, owner: number, link: number): void {
    if (this.count === this.kind.length) {
      const kinds = new Uint8Array(this.count * 2), owners = new Int32Array(this.count * 2);
      const links = new Int32Array(this.count * 2);
      kinds.set(this.kind);
      owners.set(this.owner);
      links.set(this.link);
      this.kind = kinds;
      this.owner = owners;
      this.link = links;
    }
    this.kind[this.count] = kind;
    this.owner[this.count] = owner;
    this.link[this.count++] = link;
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
class CodeGenerator {
  readonly #p: ProgramAnalysis;
  readonly #asm: X64;
  readonly #g: Int8Array;
  /** The gas register. */
  readonly #gas: number;
  /** Offset of the VmCtx from the start of the code (RIP-relative operands count from there). */
  readonly #vmctxOffset: number;
  readonly #off: CodeTarget["offsets"];
  readonly #tableBase: number;
  /** Whether a dynamic jump must record its pc before the indexed jump (some entry is invalid). */
  readonly #recordPcOnJump: boolean;
  /** Step mode: each instruction reports itself to the host before it runs (tracing). */
  readonly #step: boolean;
  #invalidEntryLabel = -1;
  #outOfGasTail = -1;

  /** Prepares to compile `program` for `target`; throws when the target breaks an assumption. */
  constructor(program: ProgramAnalysis, target: CodeTarget, step: boolean) {
    checkTarget(program, target);
    this.#p = program;
    const perInstruction = RESERVED_BYTES_PER_INSTRUCTION + (step ? STEP_REPORT_BYTES : 0);
    reusable.reset(program.count * perInstruction + MAX_INSTRUCTION_BYTES + 64 * MAX_STUB_BYTES);
    stubs.count = 0;
    outOfGasStubs.count = 0;
    this.#asm = reusable;
    this.#g = Int8Array.from(target.guestRegisters);
    this.#gas = target.gasRegister;
    this.#vmctxOffset = Number(target.vmctxAddress - target.codeAddress);
    this.#off = target.offsets;
    this.#tableBase = Number(target.jumpTableAddress / BigInt(JUMP_TABLE_ENTRY));
    this.#recordPcOnJump = program.jumpTargets.indexOf(-1) >= 0;
    this.#step = step;
  }

  /** Generates the code: instructions in pc order, then the stubs. */
  generate(): GeneratedCode {
    const asm = this.#asm, n = this.#p.count;
    const instructionEntry = new Int32Array(n);
    // Label i: the block entry of instruction i, bound where it starts a block.
    asm.newLabels(n);
    this.#emitInstructions(instructionEntry);
    const { start, owner } = this.#emitStubs(instructionEntry);
    return {
      blockEntry: asm.labelTable(n),
      code: asm.code(),
      instructionEntry,
      stubStart: start,
      stubOwner: owner,
      invalidEntry: asm.labelOffset(this.#invalidEntryLabel),
    };
  }

  /**
   * Emits every instruction in pc order with the charges of the blocks, recording where each
   * landed. Nothing follows the loop: V8 compiles a loop this long on the fly (on-stack
   * replacement) in each compile's first call, and code after it that had not run by then
   * would throw the compiled code away at every call.
   */
  #emitInstructions(instructionEntry: Int32Array): void {
    const p = this.#p, asm = this.#asm, n = p.count;
    const { blockStart, entryCost } = p;
    const gas = this.#gas, step = this.#step;
    for (let i = 0; i < n; i++) {
      asm.reserve(MAX_INSTRUCTION_BYTES + STEP_REPORT_BYTES);
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
          instructionEntry[i] = asm.length;
          i++;
          asm.bind(i);
          asm.aluRI(Alu.sub, true, gas, entryCost[i]);
          outOfGasStubs.add(OutOfGas.Block, i, asm.jccFar(Cond.s));
          asm.bindShort(skip);
        } else if (cost > 0) {
          asm.aluRI(Alu.sub, true, gas, cost);
          outOfGasStubs.add(OutOfGas.Block, i, asm.jccFar(Cond.s));
        }
      }
      instructionEntry[i] = asm.length;
      if (step && blockStart[i] === 0) this.#stepReport(i);
      const fusion = step ? Fusion.none : fusionAt(p, i);
      if (fusion === Fusion.none) {
        this.#instruction(i);
        continue;
      }
      emitFused(asm, p, this.#g, fusion, i);
      // A run may start at i + 1 (a pc set by the host): it runs alone out of line.
      const resume = this.#stub(Stub.Entry, ++i) + 1;
      asm.bind(resume);
    }
  }

  /**
   * The RIP-relative operand (`Addr.rip`, any base) of the VmCtx field at byte `offset`: every
   * access to the VmCtx goes through here.
   */
  #vmctx(offset: number): number {
    return this.#vmctxOffset + offset;
  }

  /** Step mode: reports instruction `i` to the host (like a host call, its pc flagged). */
  #stepReport(i: number): void {
    this.#asm.storeImm(4, this.#p.pc[i] | STEP_PC_FLAG, Addr.rip, 0, this.#vmctx(this.#off.pc));
    this.#asm.callMem(Addr.rip, 0, this.#vmctx(this.#off.hostCall));
  }

  /**
   * Whether block `i` is a lone fallthrough (a common loop head) charged together with the next
   * block: one gas update per iteration instead of two. Nothing between the two charges can
   * exit, so only running out of gas needs them apart (in the out-of-gas stub). Never in step
   * mode, where every block start reports itself before its own charge.
   */
  #fusesWithNext(i: number): boolean {
    const { op, entryCost } = this.#p;
    return !this.#step && op[i] === FALLTHROUGH && entryCost[i] > 0 && i + 1 < this.#p.count &&
      entryCost[i + 1] > 0;
  }

  // ---- Stubs. ----

  /**
   * A label for a stub of `kind` owned by instruction `owner`, emitted after all code; the
   * label after it is where entry stubs jump back to (bound by the caller).
   */
  #stub(kind: number, owner: number): number {
    const label = this.#asm.newLabels(2);
    stubs.add(kind, owner, label);
    return label;
  }

  /**
   * Emits the stubs: shared code, the out-of-gas ones, the requested ones; records the entries
   * that lie in stubs in `instructionEntry`.
   */
  #emitStubs(instructionEntry: Int32Array): { start: Int32Array; owner: Int32Array } {
    const asm = this.#asm, p = this.#p, off = this.#off;
    const regionCount = outOfGasStubs.count + stubs.count + 1;
    const starts = new Int32Array(regionCount), owners = new Int32Array(regionCount);
    let regions = 0;
    const begin = (i: number, bytes = MAX_STUB_BYTES): void => {
      starts[regions] = asm.length;
      owners[regions++] = i;
      asm.reserve(bytes);
    };
    // Shared code of no instruction, first so that the stubs jump back to it (no fixups): the
    // trap of jump-table entries that start no block (the jump recorded its pc already), and
    // the tail of the packed out-of-gas stubs (pc and cost in ecx).
    begin(-1);
    this.#invalidEntryLabel = asm.newLabels(1);
    asm.bind(this.#invalidEntryLabel);
    asm.jmpMem(Addr.rip, 0, this.#vmctx(off.trap));
    this.#outOfGasTail = asm.newLabels(1);
    asm.bind(this.#outOfGasTail);
    asm.store(4, Reg.rcx, Addr.rip, 0, this.#vmctx(off.pc));
    asm.aluMI(Alu.and, false, Addr.rip, 0, this.#vmctx(off.pc), PACKED_PC_LIMIT - 1);
    asm.shiftRI(Shift.shr, false, Reg.rcx, PACKED_PC_BITS);
    asm.aluRR(Alu.add, true, this.#gas, Reg.rcx);
    asm.jmpMem(Addr.rip, 0, this.#vmctx(off.outOfGas));
    // Out-of-gas stubs, in block order, paired as the charges were.
    for (let k = 0; k < outOfGasStubs.count; k++) {
      const i = outOfGasStubs.owner[k];
      begin(i);
      asm.bindFar(outOfGasStubs.link[k]);
      if (outOfGasStubs.kind[k] === OutOfGas.Pair) this.#fusedOutOfGas(i);
      else this.#outOfGas(i);
    }
    for (let k = 0; k < stubs.count; k++) {
      const i = stubs.owner[k], label = stubs.link[k];
      begin(i, stubs.kind[k] === Stub.Entry ? MAX_INSTRUCTION_BYTES : MAX_STUB_BYTES);
      asm.bind(label);
      switch (stubs.kind[k]) {
        case Stub.Panic:
          this.#exit(p.pc[i], off.trap);
          break;
        case Stub.Entry:
          instructionEntry[i] = asm.length;
          this.#instruction(i);
          asm.jmp(label + 1);
          break;
        default: { // Stub.Dynamic: rcx holds the rotated index of the target address
          asm.storeImm(4, p.pc[i], Addr.rip, 0, this.#vmctx(off.pc));
          asm.aluRI(Alu.cmp, false, Reg.rcx, HALT_INDEX);
          const halt = asm.jccShort(Cond.e);
          asm.jmpMem(Addr.rip, 0, this.#vmctx(off.trap));
          asm.bindShort(halt);
          asm.jmpMem(Addr.rip, 0, this.#vmctx(off.returnToHost));
        }
      }
    }
    if (regions !== regionCount) {
      throw new Error(`${regions} stub regions, ${regionCount} expected`);
    }
    return { start: starts, owner: owners };
  }

  /** Out-of-gas stub of block `i`: gives its cost back and exits at its pc. */
  #outOfGas(i: number): void {
    // Most blocks pass their pc and cost packed in ecx to one shared tail.
    const asm = this.#asm, cost = this.#p.entryCost[i], pc = this.#p.pc[i];
    if (pc < PACKED_PC_LIMIT && cost < PACKED_COST_LIMIT) {
      asm.movRI(false, Reg.rcx, (cost * PACKED_PC_LIMIT + pc) | 0);
      asm.jmp(this.#outOfGasTail);
    } else {
      asm.aluRI(Alu.add, true, this.#gas, cost);
      this.#exit(pc, this.#off.outOfGas);
    }
  }

  /**
   * Out-of-gas stub of lone-fallthrough block `i` charged with block i + 1: with both costs
   * given back, gas g < cost(i) + cost(i + 1); block i fails when g is below its own cost,
   * otherwise it runs (nothing but a fallthrough) and block i + 1 fails with g − cost(i).
   */
  #fusedOutOfGas(i: number): void {
    const asm = this.#asm, p = this.#p, gas = this.#gas;
    const cost = p.entryCost[i];
    asm.aluRI(Alu.add, true, gas, cost + p.entryCost[i + 1]);
    asm.aluRI(Alu.cmp, true, gas, cost);
    const first = asm.jccShort(Cond.l);
    asm.aluRI(Alu.sub, true, gas, cost);
    this.#exit(p.pc[i + 1], this.#off.outOfGas);
    asm.bindShort(first);
    this.#exit(p.pc[i], this.#off.outOfGas);
  }

  /** `VmCtx.pc = pc; jmp [VmCtx trampoline]`. */
  #exit(pc: number, trampoline: number): void {
    this.#asm.storeImm(4, pc, Addr.rip, 0, this.#vmctx(this.#off.pc));
    this.#asm.jmpMem(Addr.rip, 0, this.#vmctx(trampoline));
  }

  /** Jumps to the block entry of static target `t` of instruction `i`, or panics at `i`. */
  #jumpTo(i: number, t: number): void {
    if (t < 0) this.#exit(this.#p.pc[i], this.#off.trap);
    else if (t !== i + 1) this.#asm.jmp(t);
  }

  /** Branches to static target `t` of instruction `i` when `cond` holds. */
  #branchTo(cond: number, i: number, t: number): void {
    this.#asm.jcc(cond, t < 0 ? this.#stub(Stub.Panic, i) : t);
  }

  // ---- Instructions. ----

  #instruction(i: number): void {
    const p = this.#p, asm = this.#asm, g = this.#g;
    const op = p.op[i];
    const a = g[p.ra[i]], b = g[p.rb[i]], d = g[p.rd[i]];
    const x = p.x[i], y = p.y[i];
    switch (op) {
      case 0: // trap
        return this.#exit(p.pc[i], this.#off.trap);
      case 1: // fallthrough
      case 2: // unlikely (jam-0.8: a hint for the gas model, no effect)
        return;
      case 10: // ecalli
        asm.storeImm(4, p.pc[i], Addr.rip, 0, this.#vmctx(this.#off.pc));
        asm.storeImm(4, x, Addr.rip, 0, this.#vmctx(this.#off.exitArg));
        return asm.callMem(Addr.rip, 0, this.#vmctx(this.#off.hostCall));
      case 101: // sbrk: performed by the host, like a host call at this pc
        asm.storeImm(4, p.pc[i], Addr.rip, 0, this.#vmctx(this.#off.pc));
        return asm.callMem(Addr.rip, 0, this.#vmctx(this.#off.hostCall));
      case 20: // load_imm_64
        return asm.loadConstant(a, x, y);
      case 51: // load_imm
        return asm.loadConstant(a, x, x >> 31);
      case 30: // store_imm_u8
      case 31: // store_imm_u16
      case 32: // store_imm_u32
      case 33: // store_imm_u64
        return asm.storeImm(sizeOf(op - Op.store_imm_u8), y, Addr.absolute32, 0, x);
      case 52: // load_u8
      case 53: // load_i8
      case 54: // load_u16
      case 55: // load_i16
      case 56: // load_u32
      case 57: // load_i32
      case 58: // load_u64
        return asm.load(op - Op.load_u8, a, Addr.absolute32, 0, x);
      case 59: // store_u8
      case 60: // store_u16
      case 61: // store_u32
      case 62: // store_u64
        return asm.store(sizeOf(op - Op.store_u8), a, Addr.absolute32, 0, x);
      case 70: // store_imm_ind_u8
      case 71: // store_imm_ind_u16
      case 72: // store_imm_ind_u32
      case 73: // store_imm_ind_u64
        return asm.storeImm(sizeOf(op - Op.store_imm_ind_u8), y, Addr.base32, a, x);
      case 120: // store_ind_u8
      case 121: // store_ind_u16
      case 122: // store_ind_u32
      case 123: // store_ind_u64
        return asm.store(sizeOf(op - Op.store_ind_u8), a, Addr.base32, b, x);
      case 124: // load_ind_u8
      case 125: // load_ind_i8
      case 126: // load_ind_u16
      case 127: // load_ind_i16
      case 128: // load_ind_u32
      case 129: // load_ind_i32
      case 130: // load_ind_u64
        return asm.load(op - Op.load_ind_u8, a, Addr.base32, b, x);
      case 40: // jump
        return this.#jumpTo(i, p.target[i]);
      case 80: // load_imm_jump
        asm.loadConstant(a, x, x >> 31);
        return this.#jumpTo(i, p.target[i]);
      case 50: // jump_ind
        asm.leaRD(false, Reg.rcx, a, x);
        return this.#dynamicJump(i);
      case 180: // load_imm_jump_ind
        asm.leaRD(false, Reg.rcx, b, y); // the address from B before A changes
        asm.loadConstant(a, x, x >> 31);
        return this.#dynamicJump(i);
      case 81: // branch_eq_imm
      case 82: // branch_ne_imm
      case 83: // branch_lt_u_imm
      case 84: // branch_le_u_imm
      case 85: // branch_ge_u_imm
      case 86: // branch_gt_u_imm
      case 87: // branch_lt_s_imm
      case 88: // branch_le_s_imm
      case 89: // branch_ge_s_imm
      case 90: // branch_gt_s_imm
        this.#compareImm(a, x);
        return this.#branchTo(BRANCH_IMM_COND[op - Op.branch_eq_imm], i, p.target[i]);
      case 170: // branch_eq
      case 171: // branch_ne
      case 172: // branch_lt_u
      case 173: // branch_lt_s
      case 174: // branch_ge_u
      case 175: // branch_ge_s
        asm.aluRR(Alu.cmp, true, a, b);
        return this.#branchTo(BRANCH_COND[op - Op.branch_eq], i, p.target[i]);
      case 100: // move_reg
        if (d !== a) asm.movRR(true, d, a);
        return;
      case 102: // count_set_bits_64
      case 103: // count_set_bits_32
        return this.#popcount(op === Op.count_set_bits_64, d, a);
      case 104: // leading_zero_bits_64
      case 105: { // leading_zero_bits_32
        const w = op === Op.leading_zero_bits_64;
        asm.bsr(w, Reg.rcx, a);
        const found = asm.jccShort(Cond.ne);
        asm.movRI(w, Reg.rcx, -1); // zero input: (bits − 1) − (−1) = bits
        asm.bindShort(found);
        asm.unary(Unary.neg, w, Reg.rcx);
        asm.aluRI(Alu.add, w, Reg.rcx, w ? 63 : 31);
        return asm.movRR(true, d, Reg.rcx);
      }
      case 106: // trailing_zero_bits_64
      case 107: { // trailing_zero_bits_32
        const w = op === Op.trailing_zero_bits_64;
        asm.bsf(w, Reg.rcx, a);
        const found = asm.jccShort(Cond.ne);
        asm.movRI(false, Reg.rcx, w ? 64 : 32);
        asm.bindShort(found);
        return asm.movRR(true, d, Reg.rcx);
      }
      case 108: // sign_extend_8
        return asm.movsx8(d, a);
      case 109: // sign_extend_16
        return asm.movsx16(d, a);
      case 110: // zero_extend_16
        return asm.movzx16(d, a);
      case 111: // reverse_bytes
        if (d !== a) asm.movRR(true, d, a);
        return asm.bswap(true, d);
      case 131: // add_imm_32
        asm.leaRD(false, a, b, x);
        return asm.movsxd(a, a);
      case 149: // add_imm_64
        return asm.leaRD(true, a, b, x);
      case 132: // and_imm
        return this.#andImm(a, b, x);
      case 133: // xor_imm
      case 134: // or_imm
        if (a !== b) asm.movRR(true, a, b);
        return asm.aluRI(IMM_ALU[op - Op.and_imm], true, a, x);
      case 135: // mul_imm_32
        asm.imulRRI(false, a, b, x);
        return asm.movsxd(a, a);
      case 150: // mul_imm_64
        return asm.imulRRI(true, a, b, x);
      case 136: // set_lt_u_imm
      case 137: // set_lt_s_imm
      case 142: // set_gt_u_imm
      case 143: // set_gt_s_imm
        return this.#setImm(SET_IMM_COND[op - Op.set_lt_u_imm], a, b, x);
      case 138: // shlo_l_imm_32
        if (a !== b) asm.movRR(false, a, b);
        asm.shiftRI(Shift.shl, false, a, x & 31);
        return asm.movsxd(a, a);
      case 139: // shlo_r_imm_32
        if ((x & 31) === 0) return asm.movsxd(a, b);
        if (a !== b) asm.movRR(false, a, b);
        // A logical shift by 1…31 clears bit 31: the zero-extended result is the sign-extended one.
        return asm.shiftRI(Shift.shr, false, a, x & 31);
      case 140: // shar_r_imm_32
        // Shifting the sign-extended 64-bit value gives the sign-extended 32-bit result.
        asm.movsxd(a, b);
        if ((x & 31) !== 0) asm.shiftRI(Shift.sar, true, a, x & 31);
        return;
      case 141: // neg_add_imm_32
      case 154: { // neg_add_imm_64
        const w = op === Op.neg_add_imm_64;
        if (a === b) {
          asm.unary(Unary.neg, w, a);
          asm.aluRI(Alu.add, w, a, x);
        } else {
          asm.movRI(w, a, x);
          asm.aluRR(Alu.sub, w, a, b);
        }
        if (!w) asm.movsxd(a, a);
        return;
      }
      case 144: // shlo_l_imm_alt_32
      case 145: // shlo_r_imm_alt_32
      case 146: // shar_r_imm_alt_32
        asm.movRR(false, Reg.rcx, b);
        asm.movRI(false, a, x);
        asm.shiftRCl(SHIFTS[op - Op.shlo_l_imm_alt_32], false, a);
        return asm.movsxd(a, a);
      case 147: // cmov_iz_imm
      case 148: // cmov_nz_imm
        asm.loadConstant(Reg.rcx, x, x >> 31);
        asm.testRR(true, b, b);
        return asm.cmov(op === Op.cmov_iz_imm ? Cond.e : Cond.ne, true, a, Reg.rcx);
      case 151: // shlo_l_imm_64
      case 152: // shlo_r_imm_64
      case 153: // shar_r_imm_64
        if (a !== b) asm.movRR(true, a, b);
        return asm.shiftRI(SHIFTS[op - Op.shlo_l_imm_64], true, a, x & 63);
      case 155: // shlo_l_imm_alt_64
      case 156: // shlo_r_imm_alt_64
      case 157: // shar_r_imm_alt_64
        asm.movRR(false, Reg.rcx, b);
        asm.loadConstant(a, x, x >> 31);
        return asm.shiftRCl(SHIFTS[op - Op.shlo_l_imm_alt_64], true, a);
      case 158: // rot_r_64_imm
        if (a !== b) asm.movRR(true, a, b);
        return asm.shiftRI(Shift.ror, true, a, x & 63);
      case 159: // rot_r_64_imm_alt
        asm.movRR(false, Reg.rcx, b);
        asm.loadConstant(a, x, x >> 31);
        return asm.shiftRCl(Shift.ror, true, a);
      case 160: // rot_r_32_imm
        if (a !== b) asm.movRR(false, a, b);
        asm.shiftRI(Shift.ror, false, a, x & 31);
        return asm.movsxd(a, a);
      case 161: // rot_r_32_imm_alt
        asm.movRR(false, Reg.rcx, b);
        asm.movRI(false, a, x);
        asm.shiftRCl(Shift.ror, false, a);
        return asm.movsxd(a, a);
      case 190: // add_32
        asm.leaRR(false, d, a, b);
        return asm.movsxd(d, d);
      case 200: // add_64
        if (d === a) asm.aluRR(Alu.add, true, d, b);
        else if (d === b) asm.aluRR(Alu.add, true, d, a);
        else asm.leaRR(true, d, a, b);
        return;
      case 191: // sub_32
      case 201: // sub_64
      case 210: // and
      case 211: // xor
      case 212: // or
      case 192: // mul_32
      case 202: // mul_64
        return this.#binary(op, d, a, b);
      case 193: // div_u_32
      case 194: // div_s_32
      case 195: // rem_u_32
      case 196: // rem_s_32
      case 203: // div_u_64
      case 204: // div_s_64
      case 205: // rem_u_64
      case 206: // rem_s_64
        return this.#divide(op, d, a, b);
      case 197: // shlo_l_32
      case 198: // shlo_r_32
      case 199: // shar_r_32
      case 221: // rot_l_32
      case 223: // rot_r_32
        asm.movRR(false, Reg.rcx, b);
        if (d !== a) asm.movRR(false, d, a);
        asm.shiftRCl(SHIFT_BY_REG[op - Op.shlo_l_32], false, d);
        return asm.movsxd(d, d);
      case 207: // shlo_l_64
      case 208: // shlo_r_64
      case 209: // shar_r_64
      case 220: // rot_l_64
      case 222: // rot_r_64
        asm.movRR(false, Reg.rcx, b);
        if (d !== a) asm.movRR(true, d, a);
        return asm.shiftRCl(SHIFT_BY_REG[op - Op.shlo_l_32], true, d);
      case 213: // mul_upper_s_s
      case 214: // mul_upper_u_u
      case 215: // mul_upper_s_u
        return this.#mulUpper(op, d, a, b);
      case 216: // set_lt_u
      case 217: // set_lt_s
        return this.#setLess(op === Op.set_lt_u ? Cond.b : Cond.l, d, a, b);
      case 218: // cmov_iz
      case 219: // cmov_nz
        asm.testRR(true, b, b);
        return asm.cmov(op === Op.cmov_iz ? Cond.e : Cond.ne, true, d, a);
      case 224: // and_inv
      case 225: { // or_inv
        // ~B in D, or in rcx when D is A (which the operation still reads).
        const inverse = d === a ? Reg.rcx : d;
        if (inverse !== b) asm.movRR(true, inverse, b);
        asm.unary(Unary.not, true, inverse);
        const alu = op === Op.and_inv ? Alu.and : Alu.or;
        return asm.aluRR(alu, true, d, inverse === d ? a : inverse);
      }
      case 226: // xnor
        if (d === b) asm.aluRR(Alu.xor, true, d, a);
        else {
          if (d !== a) asm.movRR(true, d, a);
          asm.aluRR(Alu.xor, true, d, b);
        }
        return asm.unary(Unary.not, true, d);
      case 227: // max
      case 228: // max_u
      case 229: // min
      case 230: { // min_u
        // A in D (in rcx when D is B, still to be compared), replaced by B when B wins.
        const result = d === b && d !== a ? Reg.rcx : d;
        if (result !== a) asm.movRR(true, result, a);
        asm.aluRR(Alu.cmp, true, result, b);
        asm.cmov(MINMAX_COND[op - Op.max], true, result, b);
        if (result !== d) asm.movRR(true, d, result);
        return;
      }
      default:
        // Every instruction of the profiles is handled above; others execute as `trap`, as
        // in the interpreter.
        return this.#exit(p.pc[i], this.#off.trap);
    }
  }

  /** D = A op B for the two-operand ALU and multiply forms; 32-bit results sign-extended. */
  #binary(op: number, d: number, a: number, b: number): void {
    const asm = this.#asm;
    const w = op !== Op.sub_32 && op !== Op.mul_32;
    if (d === a) this.#binaryInPlace(op, w, d, b);
    else if (d === b && op !== Op.sub_32 && op !== Op.sub_64) this.#binaryInPlace(op, w, d, a);
    else if (d === b) {
      asm.movRR(true, Reg.rcx, b);
      asm.movRR(w, d, a);
      this.#binaryInPlace(op, w, d, Reg.rcx);
    } else {
      asm.movRR(w, d, a);
      this.#binaryInPlace(op, w, d, b);
    }
    if (!w) asm.movsxd(d, d);
  }

  /** dst = dst op src. */
  #binaryInPlace(op: number, w: boolean, dst: number, src: number): void {
    if (op === Op.mul_32 || op === Op.mul_64) this.#asm.imulRR(w, dst, src);
    else this.#asm.aluRR(BINARY_ALU[op - Op.sub_32], w, dst, src);
  }

  /**
   * A = B & imm (imm sign-extended): a non-negative mask clears the upper half, so 32-bit forms
   * do (they zero-extend), and the byte and halfword masks are one `movzx` even from another
   * register.
   */
  #andImm(a: number, b: number, imm: number): void {
    const asm = this.#asm;
    if (imm === 0xff) return asm.movzx8(a, b);
    if (imm === 0xffff) return asm.movzx16(a, b);
    const w = imm < 0;
    if (a !== b) asm.movRR(w, a, b);
    if (imm !== -1) asm.aluRI(Alu.and, w, a, imm);
  }

  /** A = (B cond imm) as 0 or 1. */
  #setImm(cond: number, a: number, b: number, imm: number): void {
    const asm = this.#asm;
    const dst = a === b ? Reg.rcx : a;
    asm.aluRR(Alu.xor, false, dst, dst);
    this.#compareImm(b, imm);
    asm.setcc(cond, dst);
    if (dst !== a) asm.movRR(true, a, dst);
  }

  /**
   * Sets the flags as `cmp reg, imm` (64-bit) would: `test reg, reg` for zero, shorter and
   * with the same flags (carry and overflow clear, zero and sign from `reg`).
   */
  #compareImm(reg: number, imm: number): void {
    if (imm === 0) this.#asm.testRR(true, reg, reg);
    else this.#asm.aluRI(Alu.cmp, true, reg, imm);
  }

  /** D = (A < B) as 0 or 1 with the given condition. */
  #setLess(cond: number, d: number, a: number, b: number): void {
    const asm = this.#asm;
    const dst = d === a || d === b ? Reg.rcx : d;
    asm.aluRR(Alu.xor, false, dst, dst);
    asm.aluRR(Alu.cmp, true, a, b);
    asm.setcc(cond, dst);
    if (dst !== d) asm.movRR(true, d, dst);
  }

  /**
   * The dynamic jump of instruction `i` to the address in ecx: one bounds check, then one
   * indexed jump through the native jump table. Rotating right by one turns an odd address
   * into a huge index and the subtraction turns address 0 into 2^32 − 1, so misaligned, zero
   * and too-large addresses (the halt address among them) all fail the one comparison.
   */
  #dynamicJump(i: number): void {
    const asm = this.#asm;
    asm.shiftRI(Shift.ror, false, Reg.rcx, 1);
    asm.aluRI(Alu.sub, false, Reg.rcx, 1);
    asm.aluRI(Alu.cmp, false, Reg.rcx, this.#p.jumpTargets.length);
    asm.jcc(Cond.ae, this.#stub(Stub.Dynamic, i));
    if (this.#recordPcOnJump) {
      asm.storeImm(4, this.#p.pc[i], Addr.rip, 0, this.#vmctx(this.#off.pc));
    }
    asm.aluRI(Alu.add, true, Reg.rcx, this.#tableBase);
    asm.jmpMem(Addr.scaled8, Reg.rcx, 0);
  }

  /**
   * D = number of set bits of A (its low 32 bits when not `w`), in software (popcnt is not in
   * the x86-64 baseline): the SWAR sum in rcx, with D and one pushed register as temporaries.
   */
  #popcount(w: boolean, d: number, a: number): void {
    const asm = this.#asm;
    const t = this.#g[0] === d ? this.#g[1] : this.#g[0];
    asm.movRR(w, Reg.rcx, a);
    asm.push(t);
    // rcx -= (rcx >> 1) & 0x5555…
    asm.movRR(true, d, Reg.rcx);
    asm.shiftRI(Shift.shr, true, d, 1);
    asm.movRI64(t, 0x55555555, 0x55555555);
    asm.aluRR(Alu.and, true, d, t);
    asm.aluRR(Alu.sub, true, Reg.rcx, d);
    // rcx = (rcx & 0x3333…) + ((rcx >> 2) & 0x3333…)
    asm.movRI64(t, 0x33333333, 0x33333333);
    asm.movRR(true, d, Reg.rcx);
    asm.aluRR(Alu.and, true, d, t);
    asm.shiftRI(Shift.shr, true, Reg.rcx, 2);
    asm.aluRR(Alu.and, true, Reg.rcx, t);
    asm.aluRR(Alu.add, true, Reg.rcx, d);
    // rcx = (rcx + (rcx >> 4)) & 0x0f0f…
    asm.movRR(true, d, Reg.rcx);
    asm.shiftRI(Shift.shr, true, d, 4);
    asm.aluRR(Alu.add, true, Reg.rcx, d);
    asm.movRI64(t, 0x0f0f0f0f, 0x0f0f0f0f);
    asm.aluRR(Alu.and, true, Reg.rcx, t);
    // Sum of the bytes in the top byte.
    asm.movRI64(t, 0x01010101, 0x01010101);
    asm.imulRR(true, Reg.rcx, t);
    asm.shiftRI(Shift.shr, true, Reg.rcx, 56);
    asm.pop(t);
    asm.movRR(true, d, Reg.rcx);
  }

  /** Loads the value guest register `reg` had before rax and rdx were pushed (rdx first). */
  #original(dst: number, reg: number): void {
    if (reg === Reg.rax) this.#asm.load(Load.u64, dst, Addr.base64, Reg.rsp, 0);
    else if (reg === Reg.rdx) this.#asm.load(Load.u64, dst, Addr.base64, Reg.rsp, 8);
    else if (reg !== dst) this.#asm.movRR(true, dst, reg);
  }

  /** D = upper 64 bits of the 128-bit product A × B (signedness by instruction). */
  #mulUpper(op: number, d: number, a: number, b: number): void {
    const asm = this.#asm;
    asm.push(Reg.rdx);
    asm.push(Reg.rax);
    asm.movRR(true, Reg.rcx, b);
    if (a !== Reg.rax) asm.movRR(true, Reg.rax, a);
    asm.unary(op === Op.mul_upper_s_s ? Unary.imul : Unary.mul, true, Reg.rcx);
    if (op === Op.mul_upper_s_u) {
      // Signed A: the unsigned product counted A as A + 2^64 when negative; subtract B then.
      this.#original(Reg.rax, a);
      asm.shiftRI(Shift.sar, true, Reg.rax, 63);
      asm.aluRR(Alu.and, true, Reg.rax, Reg.rcx);
      asm.aluRR(Alu.sub, true, Reg.rdx, Reg.rax);
    }
    asm.movRR(true, Reg.rcx, Reg.rdx);
    asm.pop(Reg.rax);
    asm.pop(Reg.rdx);
    asm.movRR(true, d, Reg.rcx);
  }

  /**
   * D = A / B or A rem B without host faults: division by zero gives all ones (quotient) or
   * A (remainder); a signed divisor of −1 gives −A (wrapping, so INT_MIN / −1 = INT_MIN) or 0.
   * 32-bit forms work on the low halves and sign-extend the result.
   */
  #divide(op: number, d: number, a: number, b: number): void {
    const asm = this.#asm;
    const w = op >= Op.div_u_64;
    const signed = op === Op.div_s_32 || op === Op.rem_s_32 || op === Op.div_s_64 ||
      op === Op.rem_s_64;
    const remainder = op === Op.rem_u_32 || op === Op.rem_s_32 || op === Op.rem_u_64 ||
      op === Op.rem_s_64;
    asm.testRR(w, b, b);
    const nonZero = asm.jccShort(Cond.ne);
    if (remainder) this.#extend(w, d, a);
    else asm.movRI(true, d, -1);
    const zeroDone = asm.jmpShort();
    asm.bindShort(nonZero);
    let minusOneDone = -1;
    if (signed) {
      asm.aluRI(Alu.cmp, w, b, -1);
      const general = asm.jccShort(Cond.ne);
      if (remainder) asm.aluRR(Alu.xor, false, d, d);
      else {
        if (d !== a) asm.movRR(w, d, a);
        asm.unary(Unary.neg, w, d);
        if (!w) asm.movsxd(d, d);
      }
      minusOneDone = asm.jmpShort();
      asm.bindShort(general);
    }
    asm.push(Reg.rdx);
    asm.push(Reg.rax);
    asm.movRR(w, Reg.rcx, b);
    if (a !== Reg.rax) asm.movRR(w, Reg.rax, a);
    if (signed) asm.signExtendAccumulator(w);
    else asm.aluRR(Alu.xor, false, Reg.rdx, Reg.rdx);
    asm.unary(signed ? Unary.idiv : Unary.div, w, Reg.rcx);
    asm.movRR(w, Reg.rcx, remainder ? Reg.rdx : Reg.rax);
    asm.pop(Reg.rax);
    asm.pop(Reg.rdx);
    this.#extend(w, d, Reg.rcx);
    asm.bindShort(zeroDone);
    if (minusOneDone >= 0) asm.bindShort(minusOneDone);
  }

  /** D = src (64-bit), or src's low 32 bits sign-extended. */
  #extend(w: boolean, d: number, src: number): void {
    if (!w) this.#asm.movsxd(d, src);
    else if (d !== src) this.#asm.movRR(true, d, src);
  }
}

/** Access size of store variant k (u8, u16, u32, u64). */
function sizeOf(k: number): 1 | 2 | 4 | 8 {
  return (1 << k) as 1 | 2 | 4 | 8;
}

/** Conditions of branch_eq_imm … branch_gt_s_imm, in id order. */
const BRANCH_IMM_COND = [
  Cond.e,
  Cond.ne,
  Cond.b,
  Cond.be,
  Cond.ae,
  Cond.a,
  Cond.l,
  Cond.le,
  Cond.ge,
  Cond.g,
];
/** Conditions of branch_eq … branch_ge_s, in id order. */
const BRANCH_COND = [Cond.e, Cond.ne, Cond.b, Cond.l, Cond.ae, Cond.ge];
/** and_imm, xor_imm, or_imm. */
const IMM_ALU = [Alu.and, Alu.xor, Alu.or];
/** set_lt_u_imm, set_lt_s_imm, then (after 138…141) set_gt_u_imm, set_gt_s_imm. */
const SET_IMM_COND: number[] = [];
SET_IMM_COND[Op.set_lt_u_imm - Op.set_lt_u_imm] = Cond.b;
SET_IMM_COND[Op.set_lt_s_imm - Op.set_lt_u_imm] = Cond.l;
SET_IMM_COND[Op.set_gt_u_imm - Op.set_lt_u_imm] = Cond.a;
SET_IMM_COND[Op.set_gt_s_imm - Op.set_lt_u_imm] = Cond.g;
/** Logical left, logical right, arithmetic right (the order of every PVM shift triple). */
const SHIFTS = [Shift.shl, Shift.shr, Shift.sar];
/** shlo_l_32 … shar_r_32, then (ids +10) the 64-bit forms, then the rotates at 220 … 223. */
const SHIFT_BY_REG: number[] = [];
for (
  const [id, shift] of [
    [Op.shlo_l_32, Shift.shl],
    [Op.shlo_r_32, Shift.shr],
    [Op.shar_r_32, Shift.sar],
    [Op.shlo_l_64, Shift.shl],
    [Op.shlo_r_64, Shift.shr],
    [Op.shar_r_64, Shift.sar],
    [Op.rot_l_64, Shift.rol],
    [Op.rot_l_32, Shift.rol],
    [Op.rot_r_64, Shift.ror],
    [Op.rot_r_32, Shift.ror],
  ] as const
) SHIFT_BY_REG[id - Op.shlo_l_32] = shift;
/** The ALU operation of sub_32, sub_64, and, xor and or, by id − sub_32. */
const BINARY_ALU: number[] = [];
BINARY_ALU[Op.sub_32 - Op.sub_32] = Alu.sub;
BINARY_ALU[Op.sub_64 - Op.sub_32] = Alu.sub;
BINARY_ALU[Op.and - Op.sub_32] = Alu.and;
BINARY_ALU[Op.xor - Op.sub_32] = Alu.xor;
BINARY_ALU[Op.or - Op.sub_32] = Alu.or;
/** Which condition makes B the result: max, max_u, min, min_u. */
const MINMAX_COND = [Cond.l, Cond.b, Cond.g, Cond.a];

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
