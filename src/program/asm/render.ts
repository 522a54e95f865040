/**
 * Writes one decoded instruction as assembly text that the parser reads back to the same
 * fields: registers by name, values in decimal or hex, memory operands in brackets, branch
 * targets through a caller-supplied namer, and `:width` only where an immediate's encoding is
 * longer than the shortest.
 * @module
 */
import type { ImmediateWidths, Instruction } from "../decoder.ts";
import { instructionById } from "../isa/index.ts";
import { minImmediateWidth } from "./encoding.ts";
import { operandSlots, REGISTER_NAMES } from "./syntax.ts";

/** Names a branch target: a label, or a number when no label can sit there. */
export type TargetNamer = (target: number) => string;

/** A signed value: decimal when small, hex otherwise. */
function formatValue(v: number | bigint): string {
  const big = BigInt(v);
  const magnitude = big < 0n ? -big : big;
  const text = magnitude < 0x1000n ? magnitude.toString() : `0x${magnitude.toString(16)}`;
  return big < 0n ? `-${text}` : text;
}

/** An int32 read as an unsigned 32-bit address, in hex. */
export function formatAddress(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

/** The 64-bit immediate of `load_imm_64`: signed when that is shorter to read. */
function formatWide(v: bigint): string {
  const signed = BigInt.asIntN(64, v);
  return signed < 0n && signed > -0x1000n ? formatValue(signed) : formatValue(v);
}

/** Which branch-offset widths to write even when they are the shortest. */
export interface ForcedWidths {
  /** Write the width of the branch offset in x. */
  readonly x?: boolean;
  /** Write the width of the branch offset in y. */
  readonly y?: boolean;
}

/**
 * Renders `ins` (which must be a valid instruction) with its operands; widths are written where
 * they are not the shortest, and for the branch offsets `forced` names.
 */
export function renderInstruction(
  ins: Instruction,
  widths: ImmediateWidths,
  nameTarget: TargetNamer,
  forced: ForcedWidths = {},
): string {
  const info = instructionById(ins.op)!;
  const hint = (stored: number, width: number, force = false): string =>
    !force && width === minImmediateWidth(stored) ? "" : `:${width}`;
  const operands = operandSlots(info).map((slot) => {
    switch (slot) {
      case "rA":
        return REGISTER_NAMES[ins.a];
      case "rB":
        return REGISTER_NAMES[ins.b];
      case "rD":
        return REGISTER_NAMES[ins.d];
      case "x":
        return formatValue(ins.x) + hint(ins.x, widths.x);
      case "y":
        return formatValue(ins.y) + hint(ins.y, widths.y);
      case "x64":
        return formatWide(ins.wide);
      case "tx":
        return nameTarget(ins.x) + hint(ins.x - ins.pc, widths.x, forced.x);
      case "ty":
        return nameTarget(ins.y) + hint(ins.y - ins.pc, widths.y, forced.y);
      case "[x]":
        return `[${formatAddress(ins.x)}${hint(ins.x, widths.x)}]`;
      case "[rA+x]":
      case "[rB+x]": {
        const base = REGISTER_NAMES[slot === "[rA+x]" ? ins.a : ins.b];
        const w = hint(ins.x, widths.x);
        if (ins.x === 0 && w === "") return `[${base}]`;
        const sign = ins.x < 0 ? "-" : "+";
        return `[${base} ${sign} ${formatValue(Math.abs(ins.x))}${w}]`;
      }
    }
  });
  return operands.length === 0 ? info.name : `${info.name} ${operands.join(", ")}`;
}
