/**
 * Instruction decoding exactly as the Gray Paper defines it: `skip` from the opcode bitmask,
 * register nibbles clamped to 12, little-endian immediates sign-extended from at most 4 bytes,
 * zero bytes past the end of the code, and unknown opcodes as `trap`.
 * @module
 */
import {
  DEFAULT_PROFILE,
  type Instruction,
  instructionById,
  type IsaProfile,
  Op,
  type OperandFormat,
} from "./isa/index.ts";

export type { Instruction };

/** Longest distance, in bytes, from one instruction's operands to the next opcode. */
export const MAX_SKIP = 24;

/** True when the bitmask marks byte `i` as an opcode; positions past the code count as set. */
export function isOpcodeStart(bitmask: Uint8Array, codeLength: number, i: number): boolean {
  if (i >= codeLength) return true;
  if (i < 0) return false;
  return ((bitmask[i >> 3] >> (i & 7)) & 1) === 1;
}

/** skip(pc): bytes from the end of the opcode at `pc` to the next opcode, at most 24. */
export function skipAt(bitmask: Uint8Array, codeLength: number, pc: number): number {
  for (let j = 0; j < MAX_SKIP; j++) {
    if (isOpcodeStart(bitmask, codeLength, pc + 1 + j)) return j;
  }
  return MAX_SKIP;
}

function byteAt(code: Uint8Array, i: number): number {
  return i < code.length ? code[i] : 0;
}

/** The int32 that the low `n` (0..4) bytes of `value` sign-extend to, as an immediate reads. */
export function signExtend(value: number, n: number): number {
  if (n === 0) return 0;
  const shift = 32 - 8 * n;
  return (value << shift) >> shift;
}

/** Reads `n` (0..4) little-endian bytes at `at` and sign-extends them to an int32. */
function immediate(code: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) v |= byteAt(code, at + k) << (8 * k);
  return signExtend(v, n);
}

function clampReg(nibble: number): number {
  return nibble > 12 ? 12 : nibble;
}

function clampLen(n: number): number {
  return n < 0 ? 0 : n > 4 ? 4 : n;
}

/** Bytes of the two immediates of an instruction (the Gray Paper's lX and lY), each 0..4. */
export interface ImmediateWidths {
  /** Bytes of immediate x (or of the branch offset it holds). */
  readonly x: number;
  /** Bytes of immediate y (or of the branch offset it holds). */
  readonly y: number;
}

/**
 * How many bytes the decoder reads for each immediate of an instruction of `format` at `pc`
 * whose operands span `skip` bytes; 0 for immediates the format does not have.
 */
export function immediateWidths(
  code: Uint8Array,
  pc: number,
  format: OperandFormat,
  skip: number,
): ImmediateWidths {
  switch (format) {
    case "imm":
    case "off":
      return { x: clampLen(skip), y: 0 };
    case "reg_imm":
    case "reg_reg_imm":
    case "reg_reg_off":
      return { x: clampLen(skip - 1), y: 0 };
    case "imm_imm": {
      const x = clampLen(byteAt(code, pc + 1) & 7);
      return { x, y: clampLen(skip - x - 1) };
    }
    case "reg_imm_imm":
    case "reg_imm_off": {
      const x = clampLen((byteAt(code, pc + 1) >> 4) & 7);
      return { x, y: clampLen(skip - x - 1) };
    }
    case "reg_reg_imm_imm": {
      const x = clampLen(byteAt(code, pc + 2) & 7);
      return { x, y: clampLen(skip - x - 2) };
    }
    default:
      return { x: 0, y: 0 };
  }
}

/** Decodes the instruction at `pc` (which may lie past the end: that reads as `trap`). */
export function decodeAt(
  code: Uint8Array,
  bitmask: Uint8Array,
  pc: number,
  profile: IsaProfile = DEFAULT_PROFILE,
): Instruction {
  const skip = skipAt(bitmask, code.length, pc);
  const id = isOpcodeStart(bitmask, code.length, pc) ? profile.decodeTable[byteAt(code, pc)] : -1;
  const info = id >= 0 ? instructionById(id) : undefined;
  let a = 0, b = 0, d = 0, x = 0, y = 0, wide = 0n;
  const b1 = byteAt(code, pc + 1);
  const lo = clampReg(b1 & 15), hi = clampReg(b1 >> 4);
  if (info === undefined) {
    return { op: Op.trap, pc, length: 1 + skip, a, b, d, x, y, wide, invalid: true };
  }
  const widths = immediateWidths(code, pc, info.format, skip);
  switch (info.format) {
    case "none":
      break;
    case "imm":
      x = immediate(code, pc + 1, widths.x);
      break;
    case "reg_ext":
      a = lo;
      for (let k = 7; k >= 0; k--) wide = (wide << 8n) | BigInt(byteAt(code, pc + 2 + k));
      break;
    case "imm_imm":
      x = immediate(code, pc + 2, widths.x);
      y = immediate(code, pc + 2 + widths.x, widths.y);
      break;
    case "off":
      x = pc + immediate(code, pc + 1, widths.x);
      break;
    case "reg_imm":
      a = lo;
      x = immediate(code, pc + 2, widths.x);
      break;
    case "reg_imm_imm":
    case "reg_imm_off":
      a = lo;
      x = immediate(code, pc + 2, widths.x);
      y = immediate(code, pc + 2 + widths.x, widths.y);
      if (info.format === "reg_imm_off") y += pc;
      break;
    case "reg_reg":
      d = lo;
      a = hi;
      break;
    case "reg_reg_imm":
    case "reg_reg_off":
      a = lo;
      b = hi;
      x = immediate(code, pc + 2, widths.x);
      if (info.format === "reg_reg_off") x += pc;
      break;
    case "reg_reg_imm_imm":
      a = lo;
      b = hi;
      x = immediate(code, pc + 3, widths.x);
      y = immediate(code, pc + 3 + widths.x, widths.y);
      break;
    case "reg3":
      a = lo;
      b = hi;
      d = clampReg(byteAt(code, pc + 2));
      break;
  }
  return { op: info.id, pc, length: 1 + skip, a, b, d, x, y, wide, invalid: false };
}

/** The `trap` that execution meets at `pc` when no instruction starts there (e.g. past the code). */
export function trapAt(pc: number): Instruction {
  return { op: Op.trap, pc, length: 1, a: 0, b: 0, d: 0, x: 0, y: 0, wide: 0n, invalid: false };
}

/** True when the instruction ends a basic block (invalid opcodes are traps, so they do). */
export function isTerminator(instruction: Instruction): boolean {
  return isTerminatorOp(instruction.op);
}

/** True when instruction id `op` ends a basic block (an id no instruction has is a trap). */
export function isTerminatorOp(op: number): boolean {
  return instructionById(op)?.terminator ?? true;
}

/** A whole code section decoded once: every instruction and the basic-block starts. */
export interface DecodedCode {
  /** The instructions at every opcode position of the bitmask, in pc order. */
  readonly instructions: readonly Instruction[];
  /** `blockStart[pc]` is 1 when `pc` starts a basic block (see `basicBlockStarts`). */
  readonly blockStart: Uint8Array;
}

/**
 * The Gray Paper's basic-block starts ϖ, the only places a jump or branch may land: 1 at pc 0
 * and at n + 1 + skip(n) for every instruction n whose opcode byte is a terminator, kept only
 * where an instruction with a valid opcode starts inside the code. An invalid opcode executes
 * as `trap` but is no terminator, so the position after it is no block start; neither is the
 * end of the code. One entry per code byte.
 */
export function basicBlockStarts(
  code: Uint8Array,
  bitmask: Uint8Array,
  profile: IsaProfile,
): Uint8Array {
  const n = code.length;
  const starts = new Uint8Array(n);
  const validAt = (pc: number): boolean =>
    pc < n && isOpcodeStart(bitmask, n, pc) && profile.decodeTable[code[pc]] >= 0;
  if (validAt(0)) starts[0] = 1;
  for (let pc = 0; pc < n; pc++) {
    if (!isOpcodeStart(bitmask, n, pc)) continue;
    const id = profile.decodeTable[code[pc]];
    if (id < 0 || !isTerminatorOp(id)) continue;
    const next = pc + 1 + skipAt(bitmask, n, pc);
    if (validAt(next)) starts[next] = 1;
  }
  return starts;
}

/** Decodes every instruction of `code` and finds the basic-block starts. */
export function decodeCode(
  code: Uint8Array,
  bitmask: Uint8Array,
  profile: IsaProfile = DEFAULT_PROFILE,
): DecodedCode {
  const instructions: Instruction[] = [];
  for (let pc = 0; pc < code.length; pc++) {
    if (isOpcodeStart(bitmask, code.length, pc)) {
      instructions.push(decodeAt(code, bitmask, pc, profile));
    }
  }
  return { instructions, blockStart: basicBlockStarts(code, bitmask, profile) };
}
