/**
 * Instruction decoding exactly as the Gray Paper defines it: `skip` from the opcode bitmask,
 * register nibbles clamped to 12, little-endian immediates sign-extended from at most 4 bytes,
 * zero bytes past the end of the code, and unknown opcodes as `trap`.
 * @module
 */
import {
  DEFAULT_PROFILE,
  type Instruction,
  INSTRUCTIONS,
  type IsaProfile,
  Op,
  type OperandFormat,
} from "./isa/index.ts";
import type { InstructionColumns } from "./isa/columns.ts";

export type { Instruction };

/** Longest distance, in bytes, from one instruction's operands to the next opcode. */
export const MAX_SKIP = 24;

/** True when the bitmask marks byte `i` as an opcode; positions past the code count as set. */
export function isOpcodeStart(bitmask: Uint8Array, codeLength: number, i: number): boolean {
  if (i >= codeLength) return true;
  if (i < 0) return false;
  return ((bitmask[i >> 3] >> (i & 7)) & 1) === 1;
}

/**
 * The first position at or after `from` whose bitmask bit is set, or `codeLength` when none is
 * before the end; steps through the bitmask a byte at a time.
 */
export function nextOpcodeStart(bitmask: Uint8Array, codeLength: number, from: number): number {
  for (let at = from; at < codeLength; at = (at | 7) + 1) {
    const bits = (at >> 3) < bitmask.length ? bitmask[at >> 3] >> (at & 7) : 0;
    if (bits !== 0) {
      const found = at + 31 - Math.clz32(bits & -bits);
      return found < codeLength ? found : codeLength;
    }
  }
  return codeLength;
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

/**
 * Reads `n` (0..4) little-endian bytes at `at` and sign-extends them to an int32. Four bytes are
 * read at once where the code has them (the shift drops those past `n`).
 */
function immediate(code: Uint8Array, at: number, n: number): number {
  let v: number;
  if (at + 4 <= code.length) {
    v = code[at] | (code[at + 1] << 8) | (code[at + 2] << 16) | (code[at + 3] << 24);
  } else {
    v = byteAt(code, at) | (byteAt(code, at + 1) << 8) | (byteAt(code, at + 2) << 16) |
      (byteAt(code, at + 3) << 24);
  }
  return signExtend(v, n);
}

function clampReg(nibble: number): number {
  return nibble > 12 ? 12 : nibble;
}

function clampLen(n: number): number {
  return n < 0 ? 0 : n > 4 ? 4 : n;
}

// Where each operand format keeps its operands, as bits the decoder follows for every format
// alike (one path through it, whatever the instruction).
/** Register A is the low (`A_LO`) or high (`A_HI`) nibble of the byte after the opcode. */
const A_LO = 1, A_HI = 2;
/** Register B is the high nibble of the byte after the opcode. */
const B_HI = 4;
/** Register D is the low nibble of the byte after the opcode, or (`D_BYTE2`) the next byte. */
const D_LO = 8, D_BYTE2 = 16;
/** Immediate x starts this many bytes (0..3) after the opcode, in bits 5-6. */
const X_AT_SHIFT = 5;
/**
 * The width of x, lX: the skip minus the argument (`LX_SKIP`); three bits of the byte the
 * argument's low two bits point at, above bit 4 if its bit 2 is set (`LX_BYTE`); or 4 bytes
 * (`LX_FOUR`, load_imm_64's low half). None (0 bytes) otherwise.
 */
const LX_SKIP = 1 << 7, LX_BYTE = 2 << 7, LX_FOUR = 3 << 7, LX_RULE = 3 << 7;
const LX_ARG_SHIFT = 9;
/**
 * Immediate y follows x; its width, lY: the skip minus lX minus the argument (`LY_SKIP`) or 4
 * bytes (`LY_FOUR`, load_imm_64's high half). None otherwise.
 */
const LY_SKIP = 1 << 12, LY_FOUR = 3 << 12, LY_RULE = 3 << 12;
const LY_ARG_SHIFT = 14;
/** Immediate x (`X_REL`) or y (`Y_REL`) is a branch offset from the opcode's pc. */
const X_REL = 1 << 16, Y_REL = 1 << 17;

/** Immediate x alone at `xAt`, as wide as the skip minus `lxArg`. */
const oneImmediate = (xAt: number, lxArg: number) =>
  (xAt << X_AT_SHIFT) | LX_SKIP | (lxArg << LX_ARG_SHIFT);
/** Immediate x at `xAt` (width by `lxRule` and `lxArg`), then y: the skip minus lX minus `lyArg`. */
const twoImmediates = (xAt: number, lxRule: number, lxArg: number, lyArg: number) =>
  (xAt << X_AT_SHIFT) | lxRule | (lxArg << LX_ARG_SHIFT) | LY_SKIP | (lyArg << LY_ARG_SHIFT);

/** The layout of every operand format (Gray Paper A.5). */
const LAYOUT: Readonly<Record<OperandFormat, number>> = {
  none: 0,
  imm: oneImmediate(1, 0),
  off: oneImmediate(1, 0) | X_REL,
  reg_ext: A_LO | (2 << X_AT_SHIFT) | LX_FOUR | LY_FOUR,
  imm_imm: twoImmediates(2, LX_BYTE, 1, 1),
  reg_imm: A_LO | oneImmediate(2, 1),
  reg_imm_imm: A_LO | twoImmediates(2, LX_BYTE, 1 | 4, 1),
  reg_imm_off: A_LO | twoImmediates(2, LX_BYTE, 1 | 4, 1) | Y_REL,
  reg_reg: D_LO | A_HI,
  reg_reg_imm: A_LO | B_HI | oneImmediate(2, 1),
  reg_reg_off: A_LO | B_HI | oneImmediate(2, 1) | X_REL,
  reg_reg_imm_imm: A_LO | B_HI | twoImmediates(3, LX_BYTE, 2, 2),
  reg3: A_LO | B_HI | D_BYTE2,
};

/** Per instruction id: its format's layout (ids no instruction has are never decoded). */
const LAYOUT_OF = new Int32Array(256);
/** Per instruction id: 1 when it ends a basic block (ids no instruction has are traps). */
const TERMINATES = new Uint8Array(256).fill(1);
/** Which operand column holds an instruction's static branch or jump target, if any. */
export const TargetField = { none: 0, x: 1, y: 2 } as const;
/** Per instruction id: its `TargetField`. */
const TARGET_FIELD = new Uint8Array(256);
for (const info of INSTRUCTIONS) {
  const layout = LAYOUT[info.format];
  LAYOUT_OF[info.id] = layout;
  TERMINATES[info.id] = info.terminator ? 1 : 0;
  TARGET_FIELD[info.id] = (layout & X_REL) !== 0
    ? TargetField.x
    : (layout & Y_REL) !== 0
    ? TargetField.y
    : TargetField.none;
}

/** lX: bytes of immediate x of an instruction laid out as `layout` at `pc`, operands `skip` long. */
function xWidth(code: Uint8Array, pc: number, layout: number, skip: number): number {
  const arg = (layout >> LX_ARG_SHIFT) & 7;
  switch (layout & LX_RULE) {
    case LX_SKIP:
      return clampLen(skip - arg);
    case LX_BYTE:
      return clampLen((byteAt(code, pc + (arg & 3)) >> (arg & 4)) & 7);
    case LX_FOUR:
      return 4;
    default:
      return 0;
  }
}

/** lY: bytes of immediate y, immediate x being `x` bytes long. */
function yWidth(layout: number, skip: number, x: number): number {
  switch (layout & LY_RULE) {
    case LY_SKIP:
      return clampLen(skip - x - ((layout >> LY_ARG_SHIFT) & 3));
    case LY_FOUR:
      return 4;
    default:
      return 0;
  }
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
 * whose operands span `skip` bytes; 0 for immediates the format does not have (load_imm_64's
 * fixed 8-byte immediate included: it has no lX or lY).
 */
export function immediateWidths(
  code: Uint8Array,
  pc: number,
  format: OperandFormat,
  skip: number,
): ImmediateWidths {
  if (format === "reg_ext") return { x: 0, y: 0 };
  const x = xWidth(code, pc, LAYOUT[format], skip);
  return { x, y: yWidth(LAYOUT[format], skip, x) };
}

/**
 * Where `decodeOperands` writes the operands of instruction number `i`: registers A, B and D and
 * immediates x and y as the `Instruction` fields hold them, except that `load_imm_64` puts the
 * low and high halves of its 64-bit immediate in x and y (as int32s), and branches and jumps
 * hold their absolute target. The program analysis' own columns, so decoding builds no objects.
 */
export type OperandColumns = Pick<InstructionColumns, "ra" | "rb" | "rd" | "x" | "y">;

/**
 * Decodes into slot `i` of `out` the operands of the valid instruction `id` whose opcode is at
 * `pc` and whose operands span `skip` bytes (every operand column is written; 0 where the
 * instruction lacks the operand).
 */
export function decodeOperands(
  code: Uint8Array,
  pc: number,
  id: number,
  skip: number,
  out: OperandColumns,
  i: number,
): void {
  const layout = LAYOUT_OF[id];
  const b1 = byteAt(code, pc + 1);
  const lo = clampReg(b1 & 15), hi = clampReg(b1 >> 4);
  out.ra[i] = (layout & A_LO) !== 0 ? lo : (layout & A_HI) !== 0 ? hi : 0;
  out.rb[i] = (layout & B_HI) !== 0 ? hi : 0;
  out.rd[i] = (layout & D_LO) !== 0
    ? lo
    : (layout & D_BYTE2) !== 0
    ? clampReg(byteAt(code, pc + 2))
    : 0;
  const lx = xWidth(code, pc, layout, skip);
  const xAt = pc + ((layout >> X_AT_SHIFT) & 3);
  out.x[i] = immediate(code, xAt, lx) + ((layout & X_REL) !== 0 ? pc : 0);
  out.y[i] = immediate(code, xAt + lx, yWidth(layout, skip, lx)) +
    ((layout & Y_REL) !== 0 ? pc : 0);
}

/**
 * Where instruction id `id` keeps the static branch or jump target `decodeOperands` wrote:
 * `TargetField.x`, `TargetField.y`, or `TargetField.none` when it has none.
 */
export function targetField(id: number): number {
  return TARGET_FIELD[id];
}

/**
 * The `Instruction` of valid instruction `op` at `pc`, `length` bytes long, from the operands
 * `decodeOperands` wrote to slot 0 of `o` (`load_imm_64`'s halves become its 64-bit `wide`).
 */
function instructionOf(op: number, pc: number, length: number, o: OperandColumns): Instruction {
  const a = o.ra[0], b = o.rb[0], d = o.rd[0], x = o.x[0], y = o.y[0];
  if ((LAYOUT_OF[op] & LX_RULE) === LX_FOUR) {
    const wide = (BigInt(y >>> 0) << 32n) | BigInt(x >>> 0);
    return { op, pc, length, a, b: 0, d: 0, x: 0, y: 0, wide, invalid: false };
  }
  return { op, pc, length, a, b, d, x, y, wide: 0n, invalid: false };
}

/** One slot of operand columns. */
const scratch: OperandColumns = {
  ra: new Uint8Array(1),
  rb: new Uint8Array(1),
  rd: new Uint8Array(1),
  x: new Int32Array(1),
  y: new Int32Array(1),
};

/**
 * Decodes the instruction at `pc` (which may lie past the end: that reads as `trap`). `profile`
 * is the default (`jam-0.7`) when omitted, for callers outside pvmbox; pvmbox passes one.
 */
export function decodeAt(
  code: Uint8Array,
  bitmask: Uint8Array,
  pc: number,
  profile: IsaProfile = DEFAULT_PROFILE,
): Instruction {
  const skip = skipAt(bitmask, code.length, pc);
  const id = isOpcodeStart(bitmask, code.length, pc) ? profile.decodeTable[byteAt(code, pc)] : -1;
  if (id < 0) return invalidAt(pc, 1 + skip);
  scratch.ra[0] =
    scratch.rb[0] =
    scratch.rd[0] =
    scratch.x[0] =
    scratch.y[0] =
      0;
  decodeOperands(code, pc, id, skip, scratch, 0);
  return instructionOf(id, pc, 1 + skip, scratch);
}

/** The `trap` an opcode byte that is no instruction executes as (`length` bytes long). */
function invalidAt(pc: number, length: number): Instruction {
  return { op: Op.trap, pc, length, a: 0, b: 0, d: 0, x: 0, y: 0, wide: 0n, invalid: true };
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
  return TERMINATES[op] !== 0;
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

/**
 * Decodes every instruction of `code` and finds the basic-block starts. `profile` is the default
 * (`jam-0.7`) when omitted, for callers outside pvmbox; pvmbox passes one.
 */
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
