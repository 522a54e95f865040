/**
 * The assembler's data directives: how many bytes each takes (`.u8` … `.u64`, `.bytes`,
 * `.string`, `.zero`, `.align`) and the bytes a data section or a `.bytes` list encodes to.
 * @module
 */
import { errorAt } from "./errors.ts";
import { type Evaluator, expectArgs, exprOf, inRange } from "./evaluate.ts";
import type { DirectiveArg, DirectiveStatement } from "./parser.ts";
import type { DataSection, SourceUnit } from "./unit.ts";

/** Bytes per value of the integer data directives. */
export const DATA_WIDTHS: Readonly<Record<string, number>> = { u8: 1, u16: 2, u32: 4, u64: 8 };

/** Bytes a `.bytes`/`.string` argument list takes: one per number, a string's own length. */
export function byteArgsLength(args: readonly DirectiveArg[]): number {
  return args.reduce((n, arg) => n + (arg.kind === "string" ? arg.bytes.length : 1), 0);
}

/** Bytes data directive `d` takes at `offset` of its section; throws for anything else. */
export function dataDirectiveSize(d: DirectiveStatement, offset: number, ev: Evaluator): number {
  if (d.name in DATA_WIDTHS) {
    expectArgs(d, 1, Infinity);
    for (const arg of d.args) exprOf(arg);
    return DATA_WIDTHS[d.name] * d.args.length;
  }
  if (d.name === "bytes") {
    expectArgs(d, 1, Infinity);
    return byteArgsLength(d.args);
  }
  if (d.name === "string") {
    expectArgs(d, 1, Infinity);
    for (const arg of d.args) {
      if (arg.kind !== "string") throw errorAt(arg.pos, '.string takes "quoted" strings');
    }
    return byteArgsLength(d.args);
  }
  if (d.name === "zero") {
    expectArgs(d, 1, 1);
    return ev.constNumber(d.args[0], 0, 0xffffff);
  }
  if (d.name === "align") {
    expectArgs(d, 1, 1);
    const n = ev.constNumber(d.args[0], 1, 0x10000);
    return (n - (offset % n)) % n;
  }
  if (d.name === "insn") throw errorAt(d.pos, ".insn belongs in .code");
  throw errorAt(d.pos, `unknown directive '.${d.name}'`);
}

/** The bytes of a `.bytes`/`.string` argument list (numbers −128 … 255). */
export function byteArgs(args: readonly DirectiveArg[], ev: Evaluator): Uint8Array {
  const out: number[] = [];
  for (const arg of args) {
    if (arg.kind === "string") out.push(...arg.bytes);
    else out.push(inRange(ev.evaluate(arg.expr, "value"), -128, 255, arg.pos) & 0xff);
  }
  return Uint8Array.from(out);
}

/** The contents of data section `section` of `unit`. */
export function encodeData(unit: SourceUnit, section: DataSection, ev: Evaluator): Uint8Array {
  const out = new Uint8Array(unit.sizes[section]);
  for (const { directive: d, offset } of unit.data[section]) {
    const width = DATA_WIDTHS[d.name];
    if (width !== undefined) {
      d.args.forEach((arg, k) => {
        const v = ev.evaluate(exprOf(arg), "value");
        const bits = BigInt(8 * width);
        if (v < -(1n << (bits - 1n)) || v >= 1n << bits) {
          throw errorAt(arg.pos, `value ${v} does not fit .${d.name}`);
        }
        const u = BigInt.asUintN(8 * width, v);
        for (let b = 0; b < width; b++) {
          out[offset + k * width + b] = Number((u >> BigInt(8 * b)) & 0xffn);
        }
      });
    } else if (d.name === "bytes" || d.name === "string") {
      out.set(byteArgs(d.args, ev), offset);
    }
  }
  return out;
}
