/**
 * Expression evaluation for the assembler: numbers, `+ - *`, negation, constants, labels (a code
 * label as a branch target, a data label as its guest address) and `&label` jump addresses, each
 * allowed only where its context permits; plus the checks of directive arguments and ranges.
 * @module
 */
import { RO_DATA_START, rwDataStart } from "../../pvm/mod.ts";
import { fitsImmediateWidth, minImmediateWidth } from "./encoding.ts";
import { errorAt, type SourcePosition } from "./errors.ts";
import type { DirectiveArg, DirectiveStatement, Expr, Immediate } from "./parser.ts";
import type { SourceUnit } from "./unit.ts";

/**
 * How symbols may be used where an expression is evaluated: `value` (data labels and jump
 * addresses), `target` (code labels, as code offsets) or `const` (constants only).
 */
export type Context = "value" | "target" | "const";

/** The expression of a directive argument; a string there is an error. */
export function exprOf(arg: DirectiveArg): Expr {
  if (arg.kind !== "expr") throw errorAt(arg.pos, "a string is not allowed here");
  return arg.expr;
}

/** `v` as a number when it lies in `min … max`; otherwise an error at `pos`. */
export function inRange(v: bigint, min: number, max: number, pos: SourcePosition): number {
  if (v < BigInt(min) || v > BigInt(max)) {
    throw errorAt(pos, `value ${v} is out of range (${min} … ${formatLimit(max)})`);
  }
  return Number(v);
}

function formatLimit(max: number): string {
  return max >= 0x10000 ? `0x${max.toString(16)}` : `${max}`;
}

/** Evaluates expressions against the symbols and layout of one unit. */
export class Evaluator {
  readonly #unit: SourceUnit;
  /** Constants being evaluated, to report a definition in terms of itself. */
  readonly #evaluating = new Set<string>();

  /** An evaluator reading `unit` as it stands when each expression is evaluated. */
  constructor(unit: SourceUnit) {
    this.#unit = unit;
  }

  /** The value of `expr` where symbols are allowed as `context` says. */
  evaluate(expr: Expr, context: Context): bigint {
    switch (expr.kind) {
      case "number":
        return expr.value;
      case "negate":
        return -this.evaluate(expr.operand, context);
      case "binary": {
        const l = this.evaluate(expr.left, context);
        const r = this.evaluate(expr.right, context);
        return expr.op === "+" ? l + r : expr.op === "-" ? l - r : l * r;
      }
      case "jump_address": {
        if (context !== "value") {
          throw errorAt(expr.pos, `&${expr.name} (a jump address) cannot be used here`);
        }
        this.codeLabel(expr.name, expr.pos);
        return BigInt((this.#unit.jumpTableIndex.get(expr.name)! + 1) * 2);
      }
      case "symbol":
        return this.symbol(expr.name, expr.pos, context);
    }
  }

  /** The code label `name`, used as `&name` at `pos`. */
  codeLabel(name: string, pos: SourcePosition): { readonly item: number } {
    const def = this.#unit.symbols.get(name);
    if (def === undefined) throw errorAt(pos, `undefined label '${name}'`);
    if (def.kind !== "code") throw errorAt(pos, `&${name}: '${name}' is not a code label`);
    return def;
  }

  /** The value of the symbol `name`, used at `pos` in `context`. */
  symbol(name: string, pos: SourcePosition, context: Context): bigint {
    const unit = this.#unit;
    const def = unit.symbols.get(name);
    if (def === undefined) throw errorAt(pos, `undefined label '${name}'`);
    if (def.kind === "const") {
      if (this.#evaluating.has(name)) throw errorAt(pos, `'${name}' is defined in terms of itself`);
      this.#evaluating.add(name);
      try {
        return this.evaluate(def.expr, context);
      } finally {
        this.#evaluating.delete(name);
      }
    }
    if (context === "const") {
      throw errorAt(pos, `'${name}' is a label; a constant is needed here`);
    }
    if (def.kind === "code") {
      if (context === "target") return BigInt(unit.pcs[def.item]);
      throw errorAt(pos, `'${name}' is a code label; use &${name} for its jump address`);
    }
    if (context === "target") {
      throw errorAt(pos, `'${name}' is a data label, not a place in the code`);
    }
    const base = def.section === "ro_data" ? RO_DATA_START : rwDataStart(unit.sizes.ro_data);
    return BigInt(base + def.offset);
  }

  /** A constant directive argument in `min … max`. */
  constNumber(arg: DirectiveArg, min: number, max: number): number {
    return inRange(this.evaluate(exprOf(arg), "const"), min, max, arg.pos);
  }

  /** The value of setting `name` in `min … max`, or `fallback` when it is not set. */
  settingValue(name: string, min: number, max: number, fallback = min): number {
    const stmt = this.#unit.settings.get(name);
    if (stmt === undefined) return fallback;
    const arg = stmt.args[0];
    return inRange(this.evaluate(exprOf(arg), "value"), min, max, arg.pos);
  }

  /** An int32 immediate from a value written as −2^31 … 2^32 − 1 (both halves wrap to 32 bits). */
  immediate32(imm: Immediate): number {
    const v = this.evaluate(imm.expr, "value");
    if (v < -(1n << 31n) || v >= 1n << 32n) {
      throw errorAt(imm.pos, `immediate ${v} does not fit in 32 bits (-2^31 … 2^32-1)`);
    }
    const int32 = Number(BigInt.asIntN(32, v));
    checkWidth(imm, int32);
    return int32;
  }
}

/** Checks that `stored` fits the width `imm` was written with, if any. */
export function checkWidth(imm: Immediate, stored: number): void {
  if (imm.width !== undefined && !fitsImmediateWidth(stored, imm.width)) {
    throw errorAt(
      imm.pos,
      `${stored} does not fit in ${imm.width} byte${imm.width === 1 ? "" : "s"} ` +
        `(it needs ${minImmediateWidth(stored)})`,
    );
  }
}

/** Checks that directive `d` has `min … max` arguments. */
export function expectArgs(d: DirectiveStatement, min: number, max: number): void {
  const n = d.args.length;
  if (n >= min && n <= max) return;
  const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min}…${max}`;
  throw errorAt(
    n > max ? d.args[max].pos : d.end,
    `.${d.name} takes ${want} argument${want === "1" ? "" : "s"}, not ${n}`,
  );
}
