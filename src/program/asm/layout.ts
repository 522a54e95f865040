/**
 * The assembler's code layout: fixes each jump-table index, evaluates the immediates that do not
 * depend on where code lies, then places the code, growing branch-offset widths until every
 * branch reaches its target; afterwards every label has its final value.
 * @module
 */
import { encodedLength, immediateLayout, minImmediateWidth } from "./encoding.ts";
import { errorAt } from "./errors.ts";
import { checkWidth, type Evaluator } from "./evaluate.ts";
import type { Expr } from "./parser.ts";
import type { InstructionItem, LabelValue, SourceUnit } from "./unit.ts";

/** Fixes each jump-table index: explicit entries first, then labels only used as `&label`. */
export function planJumpTable(unit: SourceUnit): void {
  const order = unit.jumpTableArgs.map((arg) =>
    arg.kind === "expr" && arg.expr.kind === "symbol" ? arg.expr.name : ""
  );
  order.forEach((name, i) => {
    if (name !== "" && !unit.jumpTableIndex.has(name)) unit.jumpTableIndex.set(name, i);
  });
  const visit = (expr: Expr): void => {
    if (expr.kind === "jump_address" && !unit.jumpTableIndex.has(expr.name)) {
      unit.jumpTableIndex.set(expr.name, order.length);
      unit.jumpAddressUses.set(expr.name, expr.pos);
      order.push(expr.name);
    } else if (expr.kind === "negate") visit(expr.operand);
    else if (expr.kind === "binary") {
      visit(expr.left);
      visit(expr.right);
    }
  };
  for (const item of unit.code) {
    if (item.kind === "instruction") {
      if (item.stmt.x) visit(item.stmt.x.expr);
      if (item.stmt.y) visit(item.stmt.y.expr);
    } else item.args.forEach((a) => a.kind === "expr" && visit(a.expr));
  }
  for (const def of unit.symbols.values()) if (def.kind === "const") visit(def.expr);
  for (const items of Object.values(unit.data)) {
    for (const { directive } of items) {
      directive.args.forEach((a) => a.kind === "expr" && visit(a.expr));
    }
  }
  unit.jumpTableOrder = order;
}

/** Evaluates every immediate that does not depend on the code layout. */
export function prepareInstructions(unit: SourceUnit, ev: Evaluator): void {
  for (const item of unit.code) {
    if (item.kind !== "instruction") {
      continue;
    }
    const { stmt } = item;
    const layout = immediateLayout(stmt.info.format);
    if (stmt.info.format === "reg_ext") {
      const v = ev.evaluate(stmt.x!.expr, "value");
      if (v < -(1n << 63n) || v >= 1n << 64n) {
        throw errorAt(stmt.x!.pos, `immediate ${v} does not fit in 64 bits`);
      }
      item.wide = BigInt.asUintN(64, v);
    }
    if (layout.x === "imm") {
      item.x = ev.immediate32(stmt.x!);
      item.xWidth = stmt.x!.width ?? minImmediateWidth(item.x);
    } else item.xWidth = stmt.x?.width ?? 0;
    if (layout.y === "imm") {
      item.y = ev.immediate32(stmt.y!);
      item.yWidth = stmt.y!.width ?? minImmediateWidth(item.y);
    } else item.yWidth = stmt.y?.width ?? 0;
    item.length = encodedLength(stmt.info.format, item.xWidth, item.yWidth);
  }
}

/** Places the code, growing branch-offset widths until every branch reaches its target. */
export function layOutCode(unit: SourceUnit, ev: Evaluator): void {
  for (let changed = true; changed;) {
    changed = false;
    unit.pcs = [];
    let pc = 0;
    for (const item of unit.code) {
      unit.pcs.push(pc);
      pc += item.length;
    }
    unit.pcs.push(pc);
    unit.code.forEach((item, i) => {
      if (item.kind !== "instruction") return;
      const layout = immediateLayout(item.stmt.info.format);
      if (layout.x === "target") changed = reach(item, "x", unit.pcs[i], ev) || changed;
      if (layout.y === "target") changed = reach(item, "y", unit.pcs[i], ev) || changed;
    });
  }
}

/** Resolves a branch target; widens its offset if needed and says whether it did. */
function reach(item: InstructionItem, field: "x" | "y", pc: number, ev: Evaluator): boolean {
  const imm = item.stmt[field]!;
  const target = ev.evaluate(imm.expr, "target");
  const offset = target - BigInt(pc);
  if (offset < -(1n << 31n) || offset >= 1n << 31n) {
    throw errorAt(imm.pos, `branch target ${target} is out of reach from offset ${pc}`);
  }
  item[field] = Number(target);
  const needed = minImmediateWidth(Number(offset));
  const widthKey = field === "x" ? "xWidth" : "yWidth";
  if (needed <= item[widthKey]) return false;
  if (imm.width !== undefined) checkWidth(imm, Number(offset));
  item[widthKey] = needed;
  item.length = encodedLength(item.stmt.info.format, item.xWidth, item.yWidth);
  return true;
}

/** Every label with its final value (after `layOutCode`). */
export function labelValues(unit: SourceUnit, ev: Evaluator): Map<string, LabelValue> {
  const labels = new Map<string, LabelValue>();
  for (const [name, def] of unit.symbols) {
    if (def.kind === "code") labels.set(name, { section: "code", value: unit.pcs[def.item] });
    if (def.kind === "data") {
      labels.set(name, {
        section: def.section,
        value: Number(ev.symbol(name, def.pos, "value")),
      });
    }
  }
  return labels;
}
