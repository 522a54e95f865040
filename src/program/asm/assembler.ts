/**
 * The assembler: source text → raw blob, or JAM standard program when the source lays out data,
 * heap or stack (or when asked to). Branch offsets get the shortest encoding that reaches, found
 * by growing widths until the layout is stable.
 * @module
 */
import { encodeBlob, jumpTableEntrySizeFor } from "../blob.ts";
import { decodeCode } from "../decoder.ts";
import { DEFAULT_PROFILE, type IsaProfile, Op } from "../isa/index.ts";
import { RO_DATA_START, rwDataStart } from "../../pvm/mod.ts";
import { encodeServiceCode } from "../service.ts";
import { encodeStandardProgram } from "../standard.ts";
import {
  encodedLength,
  encodeInstruction,
  fitsImmediateWidth,
  immediateLayout,
  minImmediateWidth,
} from "./encoding.ts";
import { errorAt, type SourcePosition } from "./errors.ts";
import {
  type DirectiveArg,
  type DirectiveStatement,
  type Expr,
  type Immediate,
  type InstructionStatement,
  parse,
} from "./parser.ts";

/** Which container the assembler writes. */
export type OutputKind = "raw" | "standard" | "service";

/** Options of `assemble`. */
export interface AssembleOptions {
  /**
   * Force the output container. By default: service code when `.metadata` is present, else a
   * standard program when data or layout directives are, else a raw blob.
   */
  readonly kind?: OutputKind;
  /** Instruction set to encode for (default `jam-0.7`). */
  readonly profile?: IsaProfile;
}

/** Where a label points: a code offset or a data address. */
export interface LabelValue {
  /** The section the label is in. */
  readonly section: Section;
  /** Code offset (for `code`) or guest address (for data sections). */
  readonly value: number;
}

/** The assembler's output with the facts a caller may want besides the bytes. */
export interface AssemblyOutput {
  /** The encoded program. */
  readonly bytes: Uint8Array;
  /** The container written. */
  readonly kind: OutputKind;
  /** Every label with its final value. */
  readonly labels: ReadonlyMap<string, LabelValue>;
  /** Jump-table entries (code offsets), in order. */
  readonly jumpTable: readonly number[];
  /** Legal but probably unintended things, e.g. a branch to a label that starts no block. */
  readonly warnings: readonly AssemblyWarning[];
}

/** Something the assembler accepted but that will likely misbehave at run time. */
export interface AssemblyWarning extends SourcePosition {
  /** What is suspicious and what to do about it. */
  readonly message: string;
}

/** Sections of a source file. */
export type Section = "code" | DataSection;

/** Sections that hold bytes rather than instructions. */
export type DataSection = "ro_data" | "rw_data" | "metadata";

const DEFAULT_STACK_SIZE = 0x10000;

/**
 * Assembles `source`; throws `AssemblyError` (with line and column) on any problem.
 *
 * @example A raw blob, then a JAM standard program
 * ```ts
 * import { assemble } from "@pvmbox/pvmbox/asm";
 *
 * const raw = assemble("    load_imm a0, 7\n    trap\n");
 * const standard = assemble(".stack_size 4096\n    load_imm a0, 7\n    jump_ind ra, 0\n");
 * console.log(raw.length, standard.length);
 * ```
 */
export function assemble(source: string, options: AssembleOptions = {}): Uint8Array {
  return assembleDetailed(source, options).bytes;
}

/** Assembles `source` and also returns labels, jump table and output kind. */
export function assembleDetailed(source: string, options: AssembleOptions = {}): AssemblyOutput {
  return new Assembler(options.profile ?? DEFAULT_PROFILE).run(source, options.kind);
}

type SymbolDef =
  | { kind: "code"; item: number; pos: SourcePosition }
  | { kind: "data"; section: "ro_data" | "rw_data"; offset: number; pos: SourcePosition }
  | { kind: "const"; expr: Expr; pos: SourcePosition };

interface InstructionItem {
  kind: "instruction";
  stmt: InstructionStatement;
  x: number;
  y: number;
  wide: bigint;
  xWidth: number;
  yWidth: number;
  length: number;
}

interface BytesItem {
  kind: "bytes";
  args: readonly DirectiveArg[];
  opcodeStart: boolean;
  length: number;
}

type CodeItem = InstructionItem | BytesItem;

interface DataItem {
  directive: DirectiveStatement;
  offset: number;
  size: number;
}

/** How symbols may be used where an expression is evaluated. */
type Context = "value" | "target" | "const";

/** Directives that only a standard program can hold. */
const LAYOUT_DIRECTIVES = new Set(["ro_data", "rw_data", "heap_pages", "stack_size"]);
const DATA_WIDTHS: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

class Assembler {
  private section: Section = "code";
  private readonly code: CodeItem[] = [];
  private readonly data: Record<DataSection, DataItem[]> = {
    ro_data: [],
    rw_data: [],
    metadata: [],
  };
  private readonly sizes: Record<DataSection, number> = { ro_data: 0, rw_data: 0, metadata: 0 };
  private metadataStart?: DirectiveStatement;
  private readonly symbols = new Map<string, SymbolDef>();
  private readonly settings = new Map<string, DirectiveStatement>();
  private readonly jumpTableArgs: DirectiveArg[] = [];
  private firstLayout?: DirectiveStatement;
  private pcs: number[] = [];
  private jumpTableOrder: string[] = [];
  private readonly jumpTableIndex = new Map<string, number>();
  private readonly jumpAddressUses = new Map<string, SourcePosition>();
  private readonly evaluating = new Set<string>();

  constructor(private readonly profile: IsaProfile) {}

  run(source: string, forced: OutputKind | undefined): AssemblyOutput {
    for (const stmt of parse(source)) {
      if (stmt.kind === "label") this.define(stmt.name, stmt.pos);
      else if (stmt.kind === "directive") this.directive(stmt);
      else this.instruction(stmt);
    }
    const kind = forced ??
      (this.metadataStart ? "service" : this.firstLayout !== undefined ? "standard" : "raw");
    if (kind === "raw" && this.firstLayout !== undefined) {
      throw errorAt(
        this.firstLayout.pos,
        `.${this.firstLayout.name} needs a standard program, but a raw blob was asked for`,
      );
    }
    if (kind !== "service" && this.metadataStart !== undefined) {
      throw errorAt(this.metadataStart.pos, `.metadata needs service code, not a ${kind} program`);
    }
    this.planJumpTable();
    this.prepareInstructions();
    this.layOutCode();
    const { code, bitmask } = this.encodeCode();
    const jumpTable = this.jumpTableArgs.map((arg) => this.jumpTableEntry(arg));
    for (const name of this.jumpTableOrder.slice(this.jumpTableArgs.length)) {
      jumpTable.push(this.pcs[this.codeLabel(name, this.jumpAddressUses.get(name)!).item]);
    }
    const entrySizeStmt = this.settings.get("jump_table_entry_size");
    const minimalEntrySize = jumpTableEntrySizeFor(jumpTable);
    const entrySize = entrySizeStmt === undefined
      ? minimalEntrySize
      : this.settingValue("jump_table_entry_size", minimalEntrySize, 4);
    this.applyBitmaskPadding(bitmask, code.length);
    const blob = encodeBlob({ jumpTable, code, bitmask, jumpTableEntrySize: entrySize });
    const bytes = kind === "raw"
      ? blob
      : kind === "standard"
      ? this.standardProgram(blob)
      : encodeServiceCode(this.encodeData("metadata"), this.standardProgram(blob));
    const warnings = this.blockStartWarnings(code, bitmask, jumpTable);
    return { bytes, kind, labels: this.labelValues(), jumpTable, warnings };
  }

  private standardProgram(blob: Uint8Array): Uint8Array {
    const parts = {
      roData: this.encodeData("ro_data"),
      rwData: this.encodeData("rw_data"),
      heapPages: this.settingValue("heap_pages", 0, 0xffff),
      stackSize: this.settingValue("stack_size", 0, 0xffffff, DEFAULT_STACK_SIZE),
      blob,
    };
    try {
      return encodeStandardProgram(parts);
    } catch (e) {
      // Only the data sizes are unchecked so far (each must stay below 2^24 bytes).
      if (e instanceof RangeError) {
        throw errorAt(this.firstLayout?.pos ?? { line: 1, column: 1 }, e.message);
      }
      throw e;
    }
  }

  // ---- pass 1: collect statements ----

  private define(name: string, pos: SourcePosition, def?: SymbolDef): void {
    const previous = this.symbols.get(name);
    if (previous !== undefined) {
      throw errorAt(pos, `'${name}' is already defined on line ${previous.pos.line}`);
    }
    this.symbols.set(name, def ?? this.labelHere(pos));
  }

  /** A label defined at `pos`, at the current place of the current section. */
  private labelHere(pos: SourcePosition): SymbolDef {
    const section = this.section;
    if (section === "code") return { kind: "code", item: this.code.length, pos };
    if (section === "metadata") throw errorAt(pos, "labels have no address in .metadata");
    return { kind: "data", section, offset: this.sizes[section], pos };
  }

  private instruction(stmt: InstructionStatement): void {
    if (this.section !== "code") {
      throw errorAt(stmt.pos, `instructions belong in .code, not in .${this.section}`);
    }
    if (stmt.info.id === Op.sbrk && !this.profile.hasSbrk) {
      throw errorAt(
        stmt.pos,
        `${this.profile.name} has no sbrk; its heap grows by the grow_heap host call`,
      );
    }
    if (this.profile.encodeTable[stmt.info.id] < 0) {
      throw errorAt(stmt.pos, `'${stmt.info.name}' is not an instruction of ${this.profile.name}`);
    }
    this.code.push({
      kind: "instruction",
      stmt,
      x: 0,
      y: 0,
      wide: 0n,
      xWidth: 0,
      yWidth: 0,
      length: 0,
    });
  }

  private directive(d: DirectiveStatement): void {
    if (LAYOUT_DIRECTIVES.has(d.name)) this.firstLayout ??= d;
    switch (d.name) {
      case "code":
      case "ro_data":
      case "rw_data":
      case "metadata":
        if (d.name === "metadata") this.metadataStart ??= d;
        this.expectArgs(d, 0, 0);
        this.section = d.name;
        return;
      case "equ": {
        this.expectArgs(d, 2, 2);
        const [name, value] = d.args;
        if (name.kind !== "expr" || name.expr.kind !== "symbol") {
          throw errorAt(name.pos, ".equ needs a name, then a value");
        }
        this.define(name.expr.name, name.pos, {
          kind: "const",
          expr: this.exprArg(value),
          pos: name.pos,
        });
        return;
      }
      case "jump_table":
        this.expectArgs(d, 1, Infinity);
        for (const arg of d.args) this.exprArg(arg);
        this.jumpTableArgs.push(...d.args);
        return;
      case "jump_table_entry_size":
      case "heap_pages":
      case "stack_size":
      case "bitmask_padding": {
        this.expectArgs(d, 1, 1);
        const previous = this.settings.get(d.name);
        if (previous !== undefined) {
          throw errorAt(d.pos, `.${d.name} is already set on line ${previous.pos.line}`);
        }
        this.exprArg(d.args[0]);
        this.settings.set(d.name, d);
        return;
      }
    }
    if (this.section === "code") this.codeDirective(d);
    else this.dataDirective(d, this.section);
  }

  private codeDirective(d: DirectiveStatement): void {
    if (d.name !== "insn" && d.name !== "bytes") {
      const hint = d.name in DATA_WIDTHS || d.name === "string" || d.name === "zero" ||
          d.name === "align"
        ? ` (data directives belong in .ro_data, .rw_data or .metadata)`
        : "";
      throw errorAt(d.pos, `unknown directive '.${d.name}' in .code${hint}`);
    }
    this.expectArgs(d, 1, Infinity);
    this.code.push({
      kind: "bytes",
      args: d.args,
      opcodeStart: d.name === "insn",
      length: byteArgsLength(d.args),
    });
  }

  private dataDirective(d: DirectiveStatement, section: DataSection): void {
    const offset = this.sizes[section];
    let size: number;
    if (d.name in DATA_WIDTHS) {
      this.expectArgs(d, 1, Infinity);
      for (const arg of d.args) this.exprArg(arg);
      size = DATA_WIDTHS[d.name] * d.args.length;
    } else if (d.name === "bytes") {
      this.expectArgs(d, 1, Infinity);
      size = byteArgsLength(d.args);
    } else if (d.name === "string") {
      this.expectArgs(d, 1, Infinity);
      for (const arg of d.args) {
        if (arg.kind !== "string") throw errorAt(arg.pos, '.string takes "quoted" strings');
      }
      size = byteArgsLength(d.args);
    } else if (d.name === "zero") {
      this.expectArgs(d, 1, 1);
      size = this.constNumber(d.args[0], 0, 0xffffff);
    } else if (d.name === "align") {
      this.expectArgs(d, 1, 1);
      const n = this.constNumber(d.args[0], 1, 0x10000);
      size = (n - (offset % n)) % n;
    } else if (d.name === "insn") {
      throw errorAt(d.pos, ".insn belongs in .code");
    } else {
      throw errorAt(d.pos, `unknown directive '.${d.name}'`);
    }
    this.data[section].push({ directive: d, offset, size });
    this.sizes[section] = offset + size;
  }

  private expectArgs(d: DirectiveStatement, min: number, max: number): void {
    const n = d.args.length;
    if (n >= min && n <= max) return;
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min}…${max}`;
    throw errorAt(
      n > max ? d.args[max].pos : d.end,
      `.${d.name} takes ${want} argument${want === "1" ? "" : "s"}, not ${n}`,
    );
  }

  private exprArg(arg: DirectiveArg): Expr {
    if (arg.kind !== "expr") throw errorAt(arg.pos, "a string is not allowed here");
    return arg.expr;
  }

  // ---- evaluation ----

  private evaluate(expr: Expr, context: Context): bigint {
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
        return BigInt((this.jumpTableIndex.get(expr.name)! + 1) * 2);
      }
      case "symbol":
        return this.symbol(expr.name, expr.pos, context);
    }
  }

  /** The code label `name`, used as `&name` at `pos`. */
  private codeLabel(name: string, pos: SourcePosition): { item: number } {
    const def = this.symbols.get(name);
    if (def === undefined) throw errorAt(pos, `undefined label '${name}'`);
    if (def.kind !== "code") throw errorAt(pos, `&${name}: '${name}' is not a code label`);
    return def;
  }

  private symbol(name: string, pos: SourcePosition, context: Context): bigint {
    const def = this.symbols.get(name);
    if (def === undefined) throw errorAt(pos, `undefined label '${name}'`);
    if (def.kind === "const") {
      if (this.evaluating.has(name)) throw errorAt(pos, `'${name}' is defined in terms of itself`);
      this.evaluating.add(name);
      try {
        return this.evaluate(def.expr, context);
      } finally {
        this.evaluating.delete(name);
      }
    }
    if (context === "const") {
      throw errorAt(pos, `'${name}' is a label; a constant is needed here`);
    }
    if (def.kind === "code") {
      if (context === "target") return BigInt(this.pcs[def.item]);
      throw errorAt(pos, `'${name}' is a code label; use &${name} for its jump address`);
    }
    if (context === "target") {
      throw errorAt(pos, `'${name}' is a data label, not a place in the code`);
    }
    const base = def.section === "ro_data" ? RO_DATA_START : rwDataStart(this.sizes.ro_data);
    return BigInt(base + def.offset);
  }

  private constNumber(arg: DirectiveArg, min: number, max: number): number {
    return this.inRange(this.evaluate(this.exprArg(arg), "const"), min, max, arg.pos);
  }

  private inRange(v: bigint, min: number, max: number, pos: SourcePosition): number {
    if (v < BigInt(min) || v > BigInt(max)) {
      throw errorAt(pos, `value ${v} is out of range (${min} … ${formatLimit(max)})`);
    }
    return Number(v);
  }

  /** An int32 immediate from a value written as −2^31 … 2^32 − 1 (both halves wrap to 32 bits). */
  private immediate32(imm: Immediate): number {
    const v = this.evaluate(imm.expr, "value");
    if (v < -(1n << 31n) || v >= 1n << 32n) {
      throw errorAt(imm.pos, `immediate ${v} does not fit in 32 bits (-2^31 … 2^32-1)`);
    }
    const int32 = Number(BigInt.asIntN(32, v));
    this.checkWidth(imm, int32);
    return int32;
  }

  private checkWidth(imm: Immediate, stored: number): void {
    if (imm.width !== undefined && !fitsImmediateWidth(stored, imm.width)) {
      throw errorAt(
        imm.pos,
        `${stored} does not fit in ${imm.width} byte${imm.width === 1 ? "" : "s"} ` +
          `(it needs ${minImmediateWidth(stored)})`,
      );
    }
  }

  // ---- jump table and code layout ----

  /** Fixes each jump-table index: explicit entries first, then labels only used as `&label`. */
  private planJumpTable(): void {
    const order = this.jumpTableArgs.map((arg) =>
      arg.kind === "expr" && arg.expr.kind === "symbol" ? arg.expr.name : ""
    );
    order.forEach((name, i) => {
      if (name !== "" && !this.jumpTableIndex.has(name)) this.jumpTableIndex.set(name, i);
    });
    const visit = (expr: Expr): void => {
      if (expr.kind === "jump_address" && !this.jumpTableIndex.has(expr.name)) {
        this.jumpTableIndex.set(expr.name, order.length);
        this.jumpAddressUses.set(expr.name, expr.pos);
        order.push(expr.name);
      } else if (expr.kind === "negate") visit(expr.operand);
      else if (expr.kind === "binary") {
        visit(expr.left);
        visit(expr.right);
      }
    };
    for (const item of this.code) {
      if (item.kind === "instruction") {
        if (item.stmt.x) visit(item.stmt.x.expr);
        if (item.stmt.y) visit(item.stmt.y.expr);
      } else item.args.forEach((a) => a.kind === "expr" && visit(a.expr));
    }
    for (const def of this.symbols.values()) if (def.kind === "const") visit(def.expr);
    for (const items of Object.values(this.data)) {
      for (const { directive } of items) {
        directive.args.forEach((a) => a.kind === "expr" && visit(a.expr));
      }
    }
    this.jumpTableOrder = order;
  }

  /** Evaluates every immediate that does not depend on the code layout. */
  private prepareInstructions(): void {
    for (const item of this.code) {
      if (item.kind !== "instruction") {
        continue;
      }
      const { stmt } = item;
      const layout = immediateLayout(stmt.info.format);
      if (stmt.info.format === "reg_ext") {
        const v = this.evaluate(stmt.x!.expr, "value");
        if (v < -(1n << 63n) || v >= 1n << 64n) {
          throw errorAt(stmt.x!.pos, `immediate ${v} does not fit in 64 bits`);
        }
        item.wide = BigInt.asUintN(64, v);
      }
      if (layout.x === "imm") {
        item.x = this.immediate32(stmt.x!);
        item.xWidth = stmt.x!.width ?? minImmediateWidth(item.x);
      } else item.xWidth = stmt.x?.width ?? 0;
      if (layout.y === "imm") {
        item.y = this.immediate32(stmt.y!);
        item.yWidth = stmt.y!.width ?? minImmediateWidth(item.y);
      } else item.yWidth = stmt.y?.width ?? 0;
      item.length = encodedLength(stmt.info.format, item.xWidth, item.yWidth);
    }
  }

  /** Places the code, growing branch-offset widths until every branch reaches its target. */
  private layOutCode(): void {
    for (let changed = true; changed;) {
      changed = false;
      this.pcs = [];
      let pc = 0;
      for (const item of this.code) {
        this.pcs.push(pc);
        pc += item.length;
      }
      this.pcs.push(pc);
      this.code.forEach((item, i) => {
        if (item.kind !== "instruction") return;
        const layout = immediateLayout(item.stmt.info.format);
        if (layout.x === "target") changed = this.reach(item, "x", this.pcs[i]) || changed;
        if (layout.y === "target") changed = this.reach(item, "y", this.pcs[i]) || changed;
      });
    }
  }

  /** Resolves a branch target; widens its offset if needed and says whether it did. */
  private reach(item: InstructionItem, field: "x" | "y", pc: number): boolean {
    const imm = item.stmt[field]!;
    const target = this.evaluate(imm.expr, "target");
    const offset = target - BigInt(pc);
    if (offset < -(1n << 31n) || offset >= 1n << 31n) {
      throw errorAt(imm.pos, `branch target ${target} is out of reach from offset ${pc}`);
    }
    item[field] = Number(target);
    const needed = minImmediateWidth(Number(offset));
    const widthKey = field === "x" ? "xWidth" : "yWidth";
    if (needed <= item[widthKey]) return false;
    if (imm.width !== undefined) this.checkWidth(imm, Number(offset));
    item[widthKey] = needed;
    item.length = encodedLength(item.stmt.info.format, item.xWidth, item.yWidth);
    return true;
  }

  private encodeCode(): { code: Uint8Array; bitmask: Uint8Array } {
    const length = this.pcs[this.code.length];
    const code = new Uint8Array(length);
    const bitmask = new Uint8Array(Math.ceil(length / 8));
    this.code.forEach((item, i) => {
      const pc = this.pcs[i];
      if (item.kind === "bytes") {
        code.set(this.byteArgs(item.args), pc);
        if (item.opcodeStart) bitmask[pc >> 3] |= 1 << (pc & 7);
        return;
      }
      const { stmt } = item;
      try {
        code.set(encodeInstruction({ op: stmt.info.id, ...stmt, ...item }, pc, this.profile), pc);
      } catch (e) {
        if (e instanceof RangeError) throw errorAt(stmt.pos, e.message);
        throw e;
      }
      bitmask[pc >> 3] |= 1 << (pc & 7);
    });
    return { code, bitmask };
  }

  /** Branch targets and jump-table entries that start no basic block: jumping there panics. */
  private blockStartWarnings(
    code: Uint8Array,
    bitmask: Uint8Array,
    jumpTable: readonly number[],
  ): AssemblyWarning[] {
    const { blockStart } = decodeCode(code, bitmask, this.profile);
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
    for (const item of this.code) {
      if (item.kind !== "instruction") continue;
      const layout = immediateLayout(item.stmt.info.format);
      if (layout.x === "target") warn(item.stmt.x!.pos, targetWords(item.stmt.x!), item.x);
      if (layout.y === "target") warn(item.stmt.y!.pos, targetWords(item.stmt.y!), item.y);
    }
    this.jumpTableOrder.forEach((name, i) => {
      const arg = this.jumpTableArgs[i];
      const pos = arg?.pos ?? this.jumpAddressUses.get(name)!;
      warn(pos, `jump-table entry ${i}${name ? ` '${name}'` : ""}`, jumpTable[i]);
    });
    return warnings;
  }

  private jumpTableEntry(arg: DirectiveArg): number {
    return this.inRange(this.evaluate(this.exprArg(arg), "target"), 0, 0xffffffff, arg.pos);
  }

  private applyBitmaskPadding(bitmask: Uint8Array, codeLength: number): void {
    const stmt = this.settings.get("bitmask_padding");
    if (stmt === undefined) return;
    const padding = this.settingValue("bitmask_padding", 0, 0xff);
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

  private settingValue(name: string, min: number, max: number, fallback = min): number {
    const stmt = this.settings.get(name);
    if (stmt === undefined) return fallback;
    const arg = stmt.args[0];
    return this.inRange(this.evaluate(this.exprArg(arg), "value"), min, max, arg.pos);
  }

  // ---- data ----

  private byteArgs(args: readonly DirectiveArg[]): Uint8Array {
    const out: number[] = [];
    for (const arg of args) {
      if (arg.kind === "string") out.push(...arg.bytes);
      else out.push(this.inRange(this.evaluate(arg.expr, "value"), -128, 255, arg.pos) & 0xff);
    }
    return Uint8Array.from(out);
  }

  private encodeData(section: DataSection): Uint8Array {
    const out = new Uint8Array(this.sizes[section]);
    for (const { directive: d, offset } of this.data[section]) {
      const width = DATA_WIDTHS[d.name];
      if (width !== undefined) {
        d.args.forEach((arg, k) => {
          const v = this.evaluate(this.exprArg(arg), "value");
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
        out.set(this.byteArgs(d.args), offset);
      }
    }
    return out;
  }

  private labelValues(): Map<string, LabelValue> {
    const labels = new Map<string, LabelValue>();
    for (const [name, def] of this.symbols) {
      if (def.kind === "code") labels.set(name, { section: "code", value: this.pcs[def.item] });
      if (def.kind === "data") {
        labels.set(name, {
          section: def.section,
          value: Number(this.symbol(name, def.pos, "value")),
        });
      }
    }
    return labels;
  }
}

function targetWords(imm: Immediate): string {
  return imm.expr.kind === "symbol" ? `branch target '${imm.expr.name}'` : "branch target";
}

function byteArgsLength(args: readonly DirectiveArg[]): number {
  return args.reduce((n, arg) => n + (arg.kind === "string" ? arg.bytes.length : 1), 0);
}

function formatLimit(max: number): string {
  return max >= 0x10000 ? `0x${max.toString(16)}` : `${max}`;
}
