/**
 * The assembler's code output, once layout has placed everything: the code bytes and bitmask
 * (and any `.bitmask_padding`), the jump table, and warnings for branch targets and jump-table
 * entries that start no basic block.
 * @module
 */
import { decodeCode } from "../decoder.ts";
import type { IsaProfile } from "../isa/index.ts";
import { byteArgs } from "./data.ts";
import { encodeInstruction, immediateLayout } from "./encoding.ts";
import { errorAt, type SourcePosition } from "./errors.ts";
import { type Evaluator, exprOf, inRange } from "./evaluate.ts";
import type { Immediate } from "./parser.ts";
import type { SourceUnit } from "./unit.ts";

/** Something the assembler accepted but that will likely misbehave at run time. */
export interface AssemblyWarning extends SourcePosition {
  /** What is suspicious and what to do about it. */
  readonly message: string;
}

/** The code bytes and bitmask of the laid-out `unit`. */
export function encodeCode(
  unit: SourceUnit,
  ev: Evaluator,
  profile: IsaProfile,
): { code: Uint8Array; bitmask: Uint8Array } {
  const length = unit.pcs[unit.code.length];
  const code = new Uint8Array(length);
  const bitmask = new Uint8Array(Math.ceil(length / 8));
  unit.code.forEach((item, i) => {
    const pc = unit.pcs[i];
    if (item.kind === "bytes") {
      code.set(byteArgs(item.args, ev), pc);
      if (item.opcodeStart) bitmask[pc >> 3] |= 1 << (pc & 7);
      return;
    }
    const { stmt } = item;
    try {
      code.set(encodeInstruction({ op: stmt.info.id, ...stmt, ...item }, pc, profile), pc);
    } catch (e) {
      if (e instanceof RangeError) throw errorAt(stmt.pos, e.message);
      throw e;
    }
    bitmask[pc >> 3] |= 1 << (pc & 7);
  });
  return { code, bitmask };
}

/** Sets the unused bits of the last bitmask byte as `.bitmask_padding` asks, if it does. */
export function applyBitmaskPadding(
  unit: SourceUnit,
  ev: Evaluator,
  bitmask: Uint8Array,
  codeLength: number,
): void {
  const stmt = unit.settings.get("bitmask_padding");
  if (stmt === undefined) return;
  const padding = ev.settingValue("bitmask_padding", 0, 0xff);
  const usedBits = codeLength % 8 === 0 ? 0xff : (1 << (codeLength % 8)) - 1;
  if ((padding & usedBits) !== 0 || bitmask.length === 0) {
    throw errorAt(
      stmt.args[0].pos,
      `bitmask padding 0x${padding.toString(16)} overlaps the bits of the code ` +
        `(the last bitmask byte's code bits are 0x${usedBits.toString(16)})`,
    );
  }
  bitmask[bitmask.length - 1] |= padding;
}

/** The jump table's code offsets: the `.jump_table` entries, then labels used only as `&label`. */
export function jumpTableOffsets(unit: SourceUnit, ev: Evaluator): number[] {
  const jumpTable = unit.jumpTableArgs.map((arg) =>
    inRange(ev.evaluate(exprOf(arg), "target"), 0, 0xffffffff, arg.pos)
  );
  for (const name of unit.jumpTableOrder.slice(unit.jumpTableArgs.length)) {
    jumpTable.push(unit.pcs[ev.codeLabel(name, unit.jumpAddressUses.get(name)!).item]);
  }
  return jumpTable;
}

/** Branch targets and jump-table entries that start no basic block: jumping there panics. */
export function blockStartWarnings(
  unit: SourceUnit,
  profile: IsaProfile,
  code: Uint8Array,
  bitmask: Uint8Array,
  jumpTable: readonly number[],
): AssemblyWarning[] {
  const { blockStart } = decodeCode(code, bitmask, profile);
  const starts = (pc: number) => pc >= 0 && pc < code.length && blockStart[pc] === 1;
  const warnings: AssemblyWarning[] = [];
  const warn = (pos: SourcePosition, what: string, target: number) => {
    if (starts(target)) return;
    const hint = target >= 0 && target < code.length
      ? "put a terminator such as `fallthrough` right before it"
      : "it lies outside the code";
    warnings.push({
      ...pos,
      message: `${what} (offset ${target}) does not start a basic block, so jumping there ` +
        `panics; ${hint}`,
    });
  };
  for (const item of unit.code) {
    if (item.kind !== "instruction") continue;
    const layout = immediateLayout(item.stmt.info.format);
    if (layout.x === "target") warn(item.stmt.x!.pos, targetWords(item.stmt.x!), item.x);
    if (layout.y === "target") warn(item.stmt.y!.pos, targetWords(item.stmt.y!), item.y);
  }
  unit.jumpTableOrder.forEach((name, i) => {
    const arg = unit.jumpTableArgs[i];
    const pos = arg?.pos ?? unit.jumpAddressUses.get(name)!;
    warn(pos, `jump-table entry ${i}${name ? ` '${name}'` : ""}`, jumpTable[i]);
  });
  return warnings;
}

function targetWords(imm: Immediate): string {
  return imm.expr.kind === "symbol" ? `branch target '${imm.expr.name}'` : "branch target";
}
