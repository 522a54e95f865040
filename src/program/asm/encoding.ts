/**
 * Instruction encoding, the inverse of the decoder: opcode byte, register nibbles and
 * little-endian immediates of a chosen width. Shared by the assembler and by the
 * disassembler, which uses it to check that what it prints re-encodes to the same bytes.
 * @module
 */
import { type Instruction, signExtend } from "../decoder.ts";
import { instructionById, type IsaProfile, type OperandFormat } from "../isa/index.ts";

/**
 * What it takes to encode one instruction: the fields of a decoded `Instruction` (so one
 * re-encodes as it is) and optionally the immediate widths. Fields its format does not use are
 * ignored.
 */
export interface EncodeInput
  extends Pick<Instruction, "op" | "a" | "b" | "d" | "x" | "y" | "wide"> {
  /** Bytes for the first immediate (or branch offset); undefined means the shortest. */
  readonly xWidth?: number;
  /** Bytes for the second immediate (or branch offset); undefined means the shortest. */
  readonly yWidth?: number;
}

/** Which immediates a format has and whether each is a branch target. */
export interface ImmediateLayout {
  /** The format has an immediate (or target) x. */
  readonly x: "imm" | "target" | "none";
  /** The format has an immediate (or target) y. */
  readonly y: "imm" | "target" | "none";
  /** Bytes besides the opcode and the x/y immediates. */
  readonly fixed: number;
}

const LAYOUTS: Record<OperandFormat, ImmediateLayout> = {
  none: { x: "none", y: "none", fixed: 0 },
  imm: { x: "imm", y: "none", fixed: 0 },
  reg_ext: { x: "none", y: "none", fixed: 9 },
  imm_imm: { x: "imm", y: "imm", fixed: 1 },
  off: { x: "target", y: "none", fixed: 0 },
  reg_imm: { x: "imm", y: "none", fixed: 1 },
  reg_imm_imm: { x: "imm", y: "imm", fixed: 1 },
  reg_imm_off: { x: "imm", y: "target", fixed: 1 },
  reg_reg: { x: "none", y: "none", fixed: 1 },
  reg_reg_imm: { x: "imm", y: "none", fixed: 1 },
  reg_reg_off: { x: "target", y: "none", fixed: 1 },
  reg_reg_imm_imm: { x: "imm", y: "imm", fixed: 2 },
  reg3: { x: "none", y: "none", fixed: 2 },
};

/** The immediate layout of an operand format. */
export function immediateLayout(format: OperandFormat): ImmediateLayout {
  return LAYOUTS[format];
}

/** Fewest bytes (0…4) whose sign extension gives back the int32 `value`. */
export function minImmediateWidth(value: number): number {
  let width = 0;
  while (width < 4 && signExtend(value, width) !== value) width++;
  return width;
}

/** True when the int32 `value` survives being encoded in `width` bytes and sign-extended. */
export function fitsImmediateWidth(value: number, width: number): boolean {
  return minImmediateWidth(value) <= width;
}

/** Bytes an instruction of `format` takes with the given immediate widths. */
export function encodedLength(format: OperandFormat, xWidth: number, yWidth: number): number {
  const layout = LAYOUTS[format];
  return 1 + layout.fixed + (layout.x === "none" ? 0 : xWidth) + (layout.y === "none" ? 0 : yWidth);
}

/** The value stored for immediate x or y: the int32 itself or, for targets, target − pc. */
function storedImmediate(
  kind: "imm" | "target" | "none",
  value: number,
  pc: number,
): number {
  return kind === "target" ? value - pc : value;
}

/**
 * Encodes `input` placed at `pc`. Throws `RangeError` when the profile lacks the instruction,
 * a register is outside 0…12, a branch is out of int32 reach or a value does not fit its width.
 */
export function encodeInstruction(input: EncodeInput, pc: number, profile: IsaProfile): Uint8Array {
  const info = instructionById(input.op);
  const opcode = info === undefined ? -1 : profile.encodeTable[info.id];
  if (info === undefined || opcode < 0) {
    throw new RangeError(`'${info?.name ?? input.op}' is not an instruction of ${profile.name}`);
  }
  const layout = LAYOUTS[info.format];
  const xValue = storedImmediate(layout.x, input.x, pc);
  const yValue = storedImmediate(layout.y, input.y, pc);
  const xWidth = chooseWidth(xValue, input.xWidth);
  const yWidth = chooseWidth(yValue, input.yWidth);
  const out: number[] = [opcode];
  const reg = (r: number): number => {
    if (!Number.isInteger(r) || r < 0 || r > 12) throw new RangeError(`no register r${r}`);
    return r;
  };
  const imm = (value: number, width: number): void => {
    for (let k = 0; k < width; k++) out.push((value >> (8 * k)) & 0xff);
  };
  switch (info.format) {
    case "none":
      break;
    case "imm":
    case "off":
      imm(xValue, xWidth);
      break;
    case "reg_ext":
      out.push(reg(input.a));
      for (let k = 0n; k < 8n; k++) out.push(Number((input.wide >> (8n * k)) & 0xffn));
      break;
    case "imm_imm":
      out.push(xWidth);
      imm(xValue, xWidth);
      imm(yValue, yWidth);
      break;
    case "reg_imm":
      out.push(reg(input.a));
      imm(xValue, xWidth);
      break;
    case "reg_imm_imm":
    case "reg_imm_off":
      out.push(reg(input.a) | (xWidth << 4));
      imm(xValue, xWidth);
      imm(yValue, yWidth);
      break;
    case "reg_reg":
      out.push(reg(input.d) | (reg(input.a) << 4));
      break;
    case "reg_reg_imm":
    case "reg_reg_off":
      out.push(reg(input.a) | (reg(input.b) << 4));
      imm(xValue, xWidth);
      break;
    case "reg_reg_imm_imm":
      out.push(reg(input.a) | (reg(input.b) << 4), xWidth);
      imm(xValue, xWidth);
      imm(yValue, yWidth);
      break;
    case "reg3":
      out.push(reg(input.a) | (reg(input.b) << 4), reg(input.d));
      break;
  }
  return Uint8Array.from(out);
}

function chooseWidth(value: number, width: number | undefined): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RangeError(`${value} does not fit a 32-bit immediate`);
  }
  if (width === undefined) return minImmediateWidth(value);
  if (!fitsImmediateWidth(value, width)) {
    throw new RangeError(`${value} does not fit in ${width} byte${width === 1 ? "" : "s"}`);
  }
  return width;
}
