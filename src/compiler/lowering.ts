/**
 * The x86-64 of each PVM instruction: one small lowering function per instruction (or family of
 * instructions sharing a form), found through a table indexed by instruction id. Small functions
 * matter for compile speed: V8 optimises each one soon and on its own, with the encoder methods
 * inlined, where one function switching over every instruction would be optimised late, slowly
 * and with most encoder calls left as calls.
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
import type { VmCtxOffsets } from "./target.ts";
import type { X64 } from "./x64/assembler.ts";
import { Addr, Alu, Cond, Load, Reg, Shift, Unary } from "./x64/operands.ts";

/**
 * Kinds of out-of-line stubs an instruction asks for: its static target is no block start (panic
 * at its pc); its dynamic target is outside the jump table (halt or panic at its pc); the entry
 * of the second instruction of a fused pair (it alone, then back after the pair).
 */
export const Stub = { Panic: 0, Dynamic: 1, Entry: 2 } as const;

/** The halt address as the dynamic-jump check sees it (address / 2 − 1). */
export const HALT_INDEX = HALT_ADDRESS / 2 - 1;

/** What a lowering reads and where it emits: the code generator of one program. */
export interface LoweringContext {
  /** The program. */
  readonly p: ProgramAnalysis;
  /** Where code goes. */
  readonly asm: X64;
  /** x86 register of each PVM register. */
  readonly g: Int8Array;
  /** Byte offsets of the VmCtx fields. */
  readonly off: VmCtxOffsets;
  /** Offset of the VmCtx from the start of the code (RIP-relative operands count from there). */
  readonly vmctxOffset: number;
  /** The jump table's address / 8 (an index register's base in `[index * 8 + disp]`). */
  readonly tableBase: number;
  /** Whether a dynamic jump must record its pc before the indexed jump (some entry is invalid). */
  readonly recordPcOnJump: boolean;
  /**
   * A label for a stub of `kind` owned by instruction `owner`, emitted after all code; the
   * label after it is where entry stubs jump back to (bound by the caller).
   */
  stub(kind: number, owner: number): number;
}

/** Emits instruction `i` of `c.p` on its own. */
export function lowerInstruction(c: LoweringContext, i: number): void {
  LOWERING[c.p.op[i]](c, i);
}

/**
 * The RIP-relative operand (`Addr.rip`, any base) of the VmCtx field at byte `offset`: every
 * access to the VmCtx goes through here.
 */
export function vmctx(c: LoweringContext, offset: number): number {
  return c.vmctxOffset + offset;
}

/** `VmCtx.pc = pc; jmp [VmCtx trampoline]`. */
export function exitTo(c: LoweringContext, pc: number, trampoline: number): void {
  c.asm.storeImm(4, pc, Addr.rip, 0, vmctx(c, c.off.pc));
  c.asm.jmpMem(Addr.rip, 0, vmctx(c, trampoline));
}

type Lowering = (c: LoweringContext, i: number) => void;

/** `trap`, and every id no profile defines (they execute as `trap`, as in the interpreter). */
const trap: Lowering = (c, i) => exitTo(c, c.p.pc[i], c.off.trap);

/** Lowering by instruction id. */
const LOWERING: Lowering[] = Array.from({ length: 256 }, () => trap);

/** Registers `lowering` for each of `ids`. */
function define(ids: readonly number[], lowering: Lowering): void {
  for (const id of ids) LOWERING[id] = lowering;
}

/** Ids `first` … `last`. */
function span(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, k) => first + k);
}

// ---- Control flow and the host. ----

/** Jumps to the block entry of static target `t` of instruction `i`, or panics at `i`. */
function jumpTo(c: LoweringContext, i: number, t: number): void {
  if (t < 0) exitTo(c, c.p.pc[i], c.off.trap);
  else if (t !== i + 1) c.asm.jmp(t);
}

/** Branches to static target `t` of instruction `i` when `cond` holds. */
function branchTo(c: LoweringContext, cond: number, i: number, t: number): void {
  c.asm.jcc(cond, t < 0 ? c.stub(Stub.Panic, i) : t);
}

/**
 * The dynamic jump of instruction `i` to the address in ecx: one bounds check, then one
 * indexed jump through the native jump table. Rotating right by one turns an odd address
 * into a huge index and the subtraction turns address 0 into 2^32 − 1, so misaligned, zero
 * and too-large addresses (the halt address among them) all fail the one comparison.
 */
function dynamicJump(c: LoweringContext, i: number): void {
  const asm = c.asm;
  asm.shiftRI(Shift.ror, false, Reg.rcx, 1);
  asm.aluRI(Alu.sub, false, Reg.rcx, 1);
  asm.aluRI(Alu.cmp, false, Reg.rcx, c.p.jumpTargets.length);
  asm.jcc(Cond.ae, c.stub(Stub.Dynamic, i));
  if (c.recordPcOnJump) asm.storeImm(4, c.p.pc[i], Addr.rip, 0, vmctx(c, c.off.pc));
  asm.aluRI(Alu.add, true, Reg.rcx, c.tableBase);
  asm.jmpMem(Addr.scaled8, Reg.rcx, 0);
}

// fallthrough; unlikely (jam-0.8: a hint for the gas model, no effect).
define([Op.fallthrough, Op.unlikely], () => {});
define([Op.ecalli], (c, i) => {
  c.asm.storeImm(4, c.p.pc[i], Addr.rip, 0, vmctx(c, c.off.pc));
  c.asm.storeImm(4, c.p.x[i], Addr.rip, 0, vmctx(c, c.off.exitArg));
  c.asm.callMem(Addr.rip, 0, vmctx(c, c.off.hostCall));
});
// sbrk: performed by the host, like a host call at this pc.
define([Op.sbrk], (c, i) => {
  c.asm.storeImm(4, c.p.pc[i], Addr.rip, 0, vmctx(c, c.off.pc));
  c.asm.callMem(Addr.rip, 0, vmctx(c, c.off.hostCall));
});
define([Op.jump], (c, i) => jumpTo(c, i, c.p.target[i]));
define([Op.load_imm_jump], (c, i) => {
  const p = c.p, x = p.x[i];
  c.asm.loadConstant(c.g[p.ra[i]], x, x >> 31);
  jumpTo(c, i, p.target[i]);
});
define([Op.jump_ind], (c, i) => {
  c.asm.leaRD(false, Reg.rcx, c.g[c.p.ra[i]], c.p.x[i]);
  dynamicJump(c, i);
});
define([Op.load_imm_jump_ind], (c, i) => {
  const p = c.p, x = p.x[i];
  c.asm.leaRD(false, Reg.rcx, c.g[p.rb[i]], p.y[i]); // the address from B before A changes
  c.asm.loadConstant(c.g[p.ra[i]], x, x >> 31);
  dynamicJump(c, i);
});

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
define(span(Op.branch_eq_imm, Op.branch_gt_s_imm), (c, i) => {
  const p = c.p;
  compareImm(c, c.g[p.ra[i]], p.x[i]);
  branchTo(c, BRANCH_IMM_COND[p.op[i] - Op.branch_eq_imm], i, p.target[i]);
});

/** Conditions of branch_eq … branch_ge_s, in id order. */
const BRANCH_COND = [Cond.e, Cond.ne, Cond.b, Cond.l, Cond.ae, Cond.ge];
define(span(Op.branch_eq, Op.branch_ge_s), (c, i) => {
  const p = c.p;
  c.asm.aluRR(Alu.cmp, true, c.g[p.ra[i]], c.g[p.rb[i]]);
  branchTo(c, BRANCH_COND[p.op[i] - Op.branch_eq], i, p.target[i]);
});

// ---- Constants and memory. ----

define([Op.load_imm_64], (c, i) => c.asm.loadConstant(c.g[c.p.ra[i]], c.p.x[i], c.p.y[i]));
define([Op.load_imm], (c, i) => {
  const x = c.p.x[i];
  c.asm.loadConstant(c.g[c.p.ra[i]], x, x >> 31);
});

/** Access size of store variant k (u8, u16, u32, u64). */
function sizeOf(k: number): 1 | 2 | 4 | 8 {
  return (1 << k) as 1 | 2 | 4 | 8;
}

define(span(Op.store_imm_u8, Op.store_imm_u64), (c, i) => {
  const p = c.p;
  c.asm.storeImm(sizeOf(p.op[i] - Op.store_imm_u8), p.y[i], Addr.absolute32, 0, p.x[i]);
});
define(span(Op.load_u8, Op.load_u64), (c, i) => {
  const p = c.p;
  c.asm.load(p.op[i] - Op.load_u8, c.g[p.ra[i]], Addr.absolute32, 0, p.x[i]);
});
define(span(Op.store_u8, Op.store_u64), (c, i) => {
  const p = c.p;
  c.asm.store(sizeOf(p.op[i] - Op.store_u8), c.g[p.ra[i]], Addr.absolute32, 0, p.x[i]);
});
define(span(Op.store_imm_ind_u8, Op.store_imm_ind_u64), (c, i) => {
  const p = c.p;
  c.asm.storeImm(sizeOf(p.op[i] - Op.store_imm_ind_u8), p.y[i], Addr.base32, c.g[p.ra[i]], p.x[i]);
});
define(span(Op.store_ind_u8, Op.store_ind_u64), (c, i) => {
  const p = c.p, g = c.g;
  c.asm.store(sizeOf(p.op[i] - Op.store_ind_u8), g[p.ra[i]], Addr.base32, g[p.rb[i]], p.x[i]);
});
define(span(Op.load_ind_u8, Op.load_ind_u64), (c, i) => {
  const p = c.p, g = c.g;
  c.asm.load(p.op[i] - Op.load_ind_u8, g[p.ra[i]], Addr.base32, g[p.rb[i]], p.x[i]);
});

// ---- Two registers. ----

define([Op.move_reg], (c, i) => {
  const d = c.g[c.p.rd[i]], a = c.g[c.p.ra[i]];
  if (d !== a) c.asm.movRR(true, d, a);
});
define([Op.count_set_bits_64, Op.count_set_bits_32], (c, i) => {
  const p = c.p;
  popcount(c, p.op[i] === Op.count_set_bits_64, c.g[p.rd[i]], c.g[p.ra[i]]);
});
define([Op.leading_zero_bits_64, Op.leading_zero_bits_32], (c, i) => {
  const p = c.p, asm = c.asm;
  const w = p.op[i] === Op.leading_zero_bits_64;
  asm.bsr(w, Reg.rcx, c.g[p.ra[i]]);
  const found = asm.jccShort(Cond.ne);
  asm.movRI(w, Reg.rcx, -1); // zero input: (bits − 1) − (−1) = bits
  asm.bindShort(found);
  asm.unary(Unary.neg, w, Reg.rcx);
  asm.aluRI(Alu.add, w, Reg.rcx, w ? 63 : 31);
  asm.movRR(true, c.g[p.rd[i]], Reg.rcx);
});
define([Op.trailing_zero_bits_64, Op.trailing_zero_bits_32], (c, i) => {
  const p = c.p, asm = c.asm;
  const w = p.op[i] === Op.trailing_zero_bits_64;
  asm.bsf(w, Reg.rcx, c.g[p.ra[i]]);
  const found = asm.jccShort(Cond.ne);
  asm.movRI(false, Reg.rcx, w ? 64 : 32);
  asm.bindShort(found);
  asm.movRR(true, c.g[p.rd[i]], Reg.rcx);
});
define([Op.sign_extend_8], (c, i) => c.asm.movsx8(c.g[c.p.rd[i]], c.g[c.p.ra[i]]));
define([Op.sign_extend_16], (c, i) => c.asm.movsx16(c.g[c.p.rd[i]], c.g[c.p.ra[i]]));
define([Op.zero_extend_16], (c, i) => c.asm.movzx16(c.g[c.p.rd[i]], c.g[c.p.ra[i]]));
define([Op.reverse_bytes], (c, i) => {
  const d = c.g[c.p.rd[i]], a = c.g[c.p.ra[i]];
  if (d !== a) c.asm.movRR(true, d, a);
  c.asm.bswap(true, d);
});

/**
 * D = number of set bits of A (its low 32 bits when not `w`), in software (popcnt is not in
 * the x86-64 baseline): the SWAR sum in rcx, with D and one pushed register as temporaries.
 */
function popcount(c: LoweringContext, w: boolean, d: number, a: number): void {
  const asm = c.asm;
  const t = c.g[0] === d ? c.g[1] : c.g[0];
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

// ---- Two registers and an immediate. ----

define([Op.add_imm_32], (c, i) => {
  const a = c.g[c.p.ra[i]];
  c.asm.leaRD(false, a, c.g[c.p.rb[i]], c.p.x[i]);
  c.asm.movsxd(a, a);
});
define([Op.add_imm_64], (c, i) => c.asm.leaRD(true, c.g[c.p.ra[i]], c.g[c.p.rb[i]], c.p.x[i]));

/**
 * A = B & imm (imm sign-extended): a non-negative mask clears the upper half, so 32-bit forms
 * do (they zero-extend), and the byte and halfword masks are one `movzx` even from another
 * register.
 */
define([Op.and_imm], (c, i) => {
  const asm = c.asm, a = c.g[c.p.ra[i]], b = c.g[c.p.rb[i]], imm = c.p.x[i];
  if (imm === 0xff) return asm.movzx8(a, b);
  if (imm === 0xffff) return asm.movzx16(a, b);
  const w = imm < 0;
  if (a !== b) asm.movRR(w, a, b);
  if (imm !== -1) asm.aluRI(Alu.and, w, a, imm);
});

/** xor_imm, or_imm by id − xor_imm. */
const IMM_ALU = [Alu.xor, Alu.or];
define([Op.xor_imm, Op.or_imm], (c, i) => {
  const p = c.p, a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  if (a !== b) c.asm.movRR(true, a, b);
  c.asm.aluRI(IMM_ALU[p.op[i] - Op.xor_imm], true, a, p.x[i]);
});
define([Op.mul_imm_32], (c, i) => {
  const a = c.g[c.p.ra[i]];
  c.asm.imulRRI(false, a, c.g[c.p.rb[i]], c.p.x[i]);
  c.asm.movsxd(a, a);
});
define([Op.mul_imm_64], (c, i) => c.asm.imulRRI(true, c.g[c.p.ra[i]], c.g[c.p.rb[i]], c.p.x[i]));

/** set_lt_u_imm, set_lt_s_imm, then (after 138…141) set_gt_u_imm, set_gt_s_imm. */
const SET_IMM_COND: number[] = [];
SET_IMM_COND[Op.set_lt_u_imm - Op.set_lt_u_imm] = Cond.b;
SET_IMM_COND[Op.set_lt_s_imm - Op.set_lt_u_imm] = Cond.l;
SET_IMM_COND[Op.set_gt_u_imm - Op.set_lt_u_imm] = Cond.a;
SET_IMM_COND[Op.set_gt_s_imm - Op.set_lt_u_imm] = Cond.g;
/** A = (B cond imm) as 0 or 1. */
define([Op.set_lt_u_imm, Op.set_lt_s_imm, Op.set_gt_u_imm, Op.set_gt_s_imm], (c, i) => {
  const p = c.p, asm = c.asm, a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  const dst = a === b ? Reg.rcx : a;
  asm.aluRR(Alu.xor, false, dst, dst);
  compareImm(c, b, p.x[i]);
  asm.setcc(SET_IMM_COND[p.op[i] - Op.set_lt_u_imm], dst);
  if (dst !== a) asm.movRR(true, a, dst);
});

/**
 * Sets the flags as `cmp reg, imm` (64-bit) would: `test reg, reg` for zero, shorter and
 * with the same flags (carry and overflow clear, zero and sign from `reg`).
 */
function compareImm(c: LoweringContext, reg: number, imm: number): void {
  if (imm === 0) c.asm.testRR(true, reg, reg);
  else c.asm.aluRI(Alu.cmp, true, reg, imm);
}

define([Op.shlo_l_imm_32], (c, i) => {
  const asm = c.asm, a = c.g[c.p.ra[i]], b = c.g[c.p.rb[i]];
  if (a !== b) asm.movRR(false, a, b);
  asm.shiftRI(Shift.shl, false, a, c.p.x[i] & 31);
  asm.movsxd(a, a);
});
define([Op.shlo_r_imm_32], (c, i) => {
  const asm = c.asm, a = c.g[c.p.ra[i]], b = c.g[c.p.rb[i]], k = c.p.x[i] & 31;
  if (k === 0) return asm.movsxd(a, b);
  if (a !== b) asm.movRR(false, a, b);
  // A logical shift by 1…31 clears bit 31: the zero-extended result is the sign-extended one.
  asm.shiftRI(Shift.shr, false, a, k);
});
define([Op.shar_r_imm_32], (c, i) => {
  const asm = c.asm, a = c.g[c.p.ra[i]], k = c.p.x[i] & 31;
  // Shifting the sign-extended 64-bit value gives the sign-extended 32-bit result.
  asm.movsxd(a, c.g[c.p.rb[i]]);
  if (k !== 0) asm.shiftRI(Shift.sar, true, a, k);
});
define([Op.neg_add_imm_32, Op.neg_add_imm_64], (c, i) => {
  const p = c.p, asm = c.asm, a = c.g[p.ra[i]], b = c.g[p.rb[i]], x = p.x[i];
  const w = p.op[i] === Op.neg_add_imm_64;
  if (a === b) {
    asm.unary(Unary.neg, w, a);
    asm.aluRI(Alu.add, w, a, x);
  } else {
    asm.movRI(w, a, x);
    asm.aluRR(Alu.sub, w, a, b);
  }
  if (!w) asm.movsxd(a, a);
});

/** Logical left, logical right, arithmetic right (the order of every PVM shift triple). */
const SHIFTS = [Shift.shl, Shift.shr, Shift.sar];
define(span(Op.shlo_l_imm_alt_32, Op.shar_r_imm_alt_32), (c, i) => {
  const p = c.p, asm = c.asm, a = c.g[p.ra[i]];
  asm.movRR(false, Reg.rcx, c.g[p.rb[i]]);
  asm.movRI(false, a, p.x[i]);
  asm.shiftRCl(SHIFTS[p.op[i] - Op.shlo_l_imm_alt_32], false, a);
  asm.movsxd(a, a);
});
define([Op.cmov_iz_imm, Op.cmov_nz_imm], (c, i) => {
  const p = c.p, asm = c.asm, b = c.g[p.rb[i]], x = p.x[i];
  asm.loadConstant(Reg.rcx, x, x >> 31);
  asm.testRR(true, b, b);
  asm.cmov(p.op[i] === Op.cmov_iz_imm ? Cond.e : Cond.ne, true, c.g[p.ra[i]], Reg.rcx);
});
define(span(Op.shlo_l_imm_64, Op.shar_r_imm_64), (c, i) => {
  const p = c.p, a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  if (a !== b) c.asm.movRR(true, a, b);
  c.asm.shiftRI(SHIFTS[p.op[i] - Op.shlo_l_imm_64], true, a, p.x[i] & 63);
});
define(span(Op.shlo_l_imm_alt_64, Op.shar_r_imm_alt_64), (c, i) => {
  const p = c.p, asm = c.asm, a = c.g[p.ra[i]], x = p.x[i];
  asm.movRR(false, Reg.rcx, c.g[p.rb[i]]);
  asm.loadConstant(a, x, x >> 31);
  asm.shiftRCl(SHIFTS[p.op[i] - Op.shlo_l_imm_alt_64], true, a);
});
define([Op.rot_r_64_imm], (c, i) => {
  const a = c.g[c.p.ra[i]], b = c.g[c.p.rb[i]];
  if (a !== b) c.asm.movRR(true, a, b);
  c.asm.shiftRI(Shift.ror, true, a, c.p.x[i] & 63);
});
define([Op.rot_r_64_imm_alt], (c, i) => {
  const asm = c.asm, a = c.g[c.p.ra[i]], x = c.p.x[i];
  asm.movRR(false, Reg.rcx, c.g[c.p.rb[i]]);
  asm.loadConstant(a, x, x >> 31);
  asm.shiftRCl(Shift.ror, true, a);
});
define([Op.rot_r_32_imm], (c, i) => {
  const asm = c.asm, a = c.g[c.p.ra[i]], b = c.g[c.p.rb[i]];
  if (a !== b) asm.movRR(false, a, b);
  asm.shiftRI(Shift.ror, false, a, c.p.x[i] & 31);
  asm.movsxd(a, a);
});
define([Op.rot_r_32_imm_alt], (c, i) => {
  const asm = c.asm, a = c.g[c.p.ra[i]];
  asm.movRR(false, Reg.rcx, c.g[c.p.rb[i]]);
  asm.movRI(false, a, c.p.x[i]);
  asm.shiftRCl(Shift.ror, false, a);
  asm.movsxd(a, a);
});

// ---- Three registers. ----

define([Op.add_32], (c, i) => {
  const p = c.p, d = c.g[p.rd[i]];
  c.asm.leaRR(false, d, c.g[p.ra[i]], c.g[p.rb[i]]);
  c.asm.movsxd(d, d);
});
define([Op.add_64], (c, i) => {
  const p = c.p, asm = c.asm, d = c.g[p.rd[i]], a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  if (d === a) asm.aluRR(Alu.add, true, d, b);
  else if (d === b) asm.aluRR(Alu.add, true, d, a);
  else asm.leaRR(true, d, a, b);
});

/** The ALU operation of sub_32, sub_64, and, xor and or, by id − sub_32. */
const BINARY_ALU: number[] = [];
BINARY_ALU[Op.sub_32 - Op.sub_32] = Alu.sub;
BINARY_ALU[Op.sub_64 - Op.sub_32] = Alu.sub;
BINARY_ALU[Op.and - Op.sub_32] = Alu.and;
BINARY_ALU[Op.xor - Op.sub_32] = Alu.xor;
BINARY_ALU[Op.or - Op.sub_32] = Alu.or;

/** D = A op B for the two-operand ALU and multiply forms; 32-bit results sign-extended. */
define([Op.sub_32, Op.sub_64, Op.and, Op.xor, Op.or, Op.mul_32, Op.mul_64], (c, i) => {
  const p = c.p, asm = c.asm, op = p.op[i];
  const d = c.g[p.rd[i]], a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  const w = op !== Op.sub_32 && op !== Op.mul_32;
  if (d === a) binaryInPlace(asm, op, w, d, b);
  else if (d === b && op !== Op.sub_32 && op !== Op.sub_64) binaryInPlace(asm, op, w, d, a);
  else if (d === b) {
    asm.movRR(true, Reg.rcx, b);
    asm.movRR(w, d, a);
    binaryInPlace(asm, op, w, d, Reg.rcx);
  } else {
    asm.movRR(w, d, a);
    binaryInPlace(asm, op, w, d, b);
  }
  if (!w) asm.movsxd(d, d);
});

/** dst = dst op src. */
function binaryInPlace(asm: X64, op: number, w: boolean, dst: number, src: number): void {
  if (op === Op.mul_32 || op === Op.mul_64) asm.imulRR(w, dst, src);
  else asm.aluRR(BINARY_ALU[op - Op.sub_32], w, dst, src);
}

/**
 * D = A / B or A rem B without host faults: division by zero gives all ones (quotient) or
 * A (remainder); a signed divisor of −1 gives −A (wrapping, so INT_MIN / −1 = INT_MIN) or 0.
 * 32-bit forms work on the low halves and sign-extend the result.
 */
define(span(Op.div_u_32, Op.rem_s_32).concat(span(Op.div_u_64, Op.rem_s_64)), (c, i) => {
  const p = c.p, asm = c.asm, op = p.op[i];
  const d = c.g[p.rd[i]], a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  const w = op >= Op.div_u_64;
  const signed = op === Op.div_s_32 || op === Op.rem_s_32 || op === Op.div_s_64 ||
    op === Op.rem_s_64;
  const remainder = op === Op.rem_u_32 || op === Op.rem_s_32 || op === Op.rem_u_64 ||
    op === Op.rem_s_64;
  asm.testRR(w, b, b);
  const nonZero = asm.jccShort(Cond.ne);
  if (remainder) extend(asm, w, d, a);
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
  extend(asm, w, d, Reg.rcx);
  asm.bindShort(zeroDone);
  if (minusOneDone >= 0) asm.bindShort(minusOneDone);
});

/** D = src (64-bit), or src's low 32 bits sign-extended. */
function extend(asm: X64, w: boolean, d: number, src: number): void {
  if (!w) asm.movsxd(d, src);
  else if (d !== src) asm.movRR(true, d, src);
}

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
define([Op.shlo_l_32, Op.shlo_r_32, Op.shar_r_32, Op.rot_l_32, Op.rot_r_32], (c, i) => {
  const p = c.p, asm = c.asm, d = c.g[p.rd[i]], a = c.g[p.ra[i]];
  asm.movRR(false, Reg.rcx, c.g[p.rb[i]]);
  if (d !== a) asm.movRR(false, d, a);
  asm.shiftRCl(SHIFT_BY_REG[p.op[i] - Op.shlo_l_32], false, d);
  asm.movsxd(d, d);
});
define([Op.shlo_l_64, Op.shlo_r_64, Op.shar_r_64, Op.rot_l_64, Op.rot_r_64], (c, i) => {
  const p = c.p, asm = c.asm, d = c.g[p.rd[i]], a = c.g[p.ra[i]];
  asm.movRR(false, Reg.rcx, c.g[p.rb[i]]);
  if (d !== a) asm.movRR(true, d, a);
  asm.shiftRCl(SHIFT_BY_REG[p.op[i] - Op.shlo_l_32], true, d);
});

/** Loads the value guest register `reg` had before rax and rdx were pushed (rdx first). */
function original(asm: X64, dst: number, reg: number): void {
  if (reg === Reg.rax) asm.load(Load.u64, dst, Addr.base64, Reg.rsp, 0);
  else if (reg === Reg.rdx) asm.load(Load.u64, dst, Addr.base64, Reg.rsp, 8);
  else if (reg !== dst) asm.movRR(true, dst, reg);
}

/** D = upper 64 bits of the 128-bit product A × B (signedness by instruction). */
define([Op.mul_upper_s_s, Op.mul_upper_u_u, Op.mul_upper_s_u], (c, i) => {
  const p = c.p, asm = c.asm, op = p.op[i], a = c.g[p.ra[i]];
  asm.push(Reg.rdx);
  asm.push(Reg.rax);
  asm.movRR(true, Reg.rcx, c.g[p.rb[i]]);
  if (a !== Reg.rax) asm.movRR(true, Reg.rax, a);
  asm.unary(op === Op.mul_upper_s_s ? Unary.imul : Unary.mul, true, Reg.rcx);
  if (op === Op.mul_upper_s_u) {
    // Signed A: the unsigned product counted A as A + 2^64 when negative; subtract B then.
    original(asm, Reg.rax, a);
    asm.shiftRI(Shift.sar, true, Reg.rax, 63);
    asm.aluRR(Alu.and, true, Reg.rax, Reg.rcx);
    asm.aluRR(Alu.sub, true, Reg.rdx, Reg.rax);
  }
  asm.movRR(true, Reg.rcx, Reg.rdx);
  asm.pop(Reg.rax);
  asm.pop(Reg.rdx);
  asm.movRR(true, c.g[p.rd[i]], Reg.rcx);
});

/** D = (A < B) as 0 or 1, unsigned or signed. */
define([Op.set_lt_u, Op.set_lt_s], (c, i) => {
  const p = c.p, asm = c.asm, d = c.g[p.rd[i]], a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  const dst = d === a || d === b ? Reg.rcx : d;
  asm.aluRR(Alu.xor, false, dst, dst);
  asm.aluRR(Alu.cmp, true, a, b);
  asm.setcc(p.op[i] === Op.set_lt_u ? Cond.b : Cond.l, dst);
  if (dst !== d) asm.movRR(true, d, dst);
});
define([Op.cmov_iz, Op.cmov_nz], (c, i) => {
  const p = c.p, asm = c.asm, b = c.g[p.rb[i]];
  asm.testRR(true, b, b);
  asm.cmov(p.op[i] === Op.cmov_iz ? Cond.e : Cond.ne, true, c.g[p.rd[i]], c.g[p.ra[i]]);
});
define([Op.and_inv, Op.or_inv], (c, i) => {
  const p = c.p, asm = c.asm, d = c.g[p.rd[i]], a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  // ~B in D, or in rcx when D is A (which the operation still reads).
  const inverse = d === a ? Reg.rcx : d;
  if (inverse !== b) asm.movRR(true, inverse, b);
  asm.unary(Unary.not, true, inverse);
  const alu = p.op[i] === Op.and_inv ? Alu.and : Alu.or;
  asm.aluRR(alu, true, d, inverse === d ? a : inverse);
});
define([Op.xnor], (c, i) => {
  const p = c.p, asm = c.asm, d = c.g[p.rd[i]], a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  if (d === b) asm.aluRR(Alu.xor, true, d, a);
  else {
    if (d !== a) asm.movRR(true, d, a);
    asm.aluRR(Alu.xor, true, d, b);
  }
  asm.unary(Unary.not, true, d);
});

/** Which condition makes B the result: max, max_u, min, min_u. */
const MINMAX_COND = [Cond.l, Cond.b, Cond.g, Cond.a];
define([Op.max, Op.max_u, Op.min, Op.min_u], (c, i) => {
  const p = c.p, asm = c.asm, d = c.g[p.rd[i]], a = c.g[p.ra[i]], b = c.g[p.rb[i]];
  // A in D (in rcx when D is B, still to be compared), replaced by B when B wins.
  const result = d === b && d !== a ? Reg.rcx : d;
  if (result !== a) asm.movRR(true, result, a);
  asm.aluRR(Alu.cmp, true, result, b);
  asm.cmov(MINMAX_COND[p.op[i] - Op.max], true, result, b);
  if (result !== d) asm.movRR(true, d, result);
});
