/**
 * The assembler's first pass: reads the statements of a source file into a `SourceUnit` —
 * labels and constants, instructions and raw bytes in `.code`, data directives sized in their
 * sections, one-time settings and `.jump_table` entries — checking each where it stands.
 * @module
 */
import { type IsaProfile, Op } from "../isa/index.ts";
import { byteArgsLength, DATA_WIDTHS, dataDirectiveSize } from "./data.ts";
import { errorAt, type SourcePosition } from "./errors.ts";
import { Evaluator, expectArgs, exprOf } from "./evaluate.ts";
import { type DirectiveStatement, type InstructionStatement, parse } from "./parser.ts";
import { emptyUnit, type Section, type SourceUnit, type SymbolDef } from "./unit.ts";

/** Directives that only a standard program can hold. */
const LAYOUT_DIRECTIVES = new Set(["ro_data", "rw_data", "heap_pages", "stack_size"]);

/** Collects `source` into a unit for `profile`; throws `AssemblyError` where it is wrong. */
export function collect(source: string, profile: IsaProfile): SourceUnit {
  return new Collector(profile).run(source);
}

class Collector {
  readonly #profile: IsaProfile;
  readonly #unit: SourceUnit = emptyUnit();
  readonly #ev: Evaluator = new Evaluator(this.#unit);
  #section: Section = "code";

  constructor(profile: IsaProfile) {
    this.#profile = profile;
  }

  run(source: string): SourceUnit {
    for (const stmt of parse(source)) {
      if (stmt.kind === "label") this.#define(stmt.name, stmt.pos);
      else if (stmt.kind === "directive") this.#directive(stmt);
      else this.#instruction(stmt);
    }
    return this.#unit;
  }

  #define(name: string, pos: SourcePosition, def?: SymbolDef): void {
    const previous = this.#unit.symbols.get(name);
    if (previous !== undefined) {
      throw errorAt(pos, `'${name}' is already defined on line ${previous.pos.line}`);
    }
    this.#unit.symbols.set(name, def ?? this.#labelHere(pos));
  }

  /** A label defined at `pos`, at the current place of the current section. */
  #labelHere(pos: SourcePosition): SymbolDef {
    const section = this.#section;
    if (section === "code") return { kind: "code", item: this.#unit.code.length, pos };
    if (section === "metadata") throw errorAt(pos, "labels have no address in .metadata");
    return { kind: "data", section, offset: this.#unit.sizes[section], pos };
  }

  #instruction(stmt: InstructionStatement): void {
    if (this.#section !== "code") {
      throw errorAt(stmt.pos, `instructions belong in .code, not in .${this.#section}`);
    }
    const profile = this.#profile;
    if (stmt.info.id === Op.sbrk && !profile.hasSbrk) {
      throw errorAt(
        stmt.pos,
        `${profile.name} has no sbrk; its heap grows by the grow_heap host call`,
      );
    }
    if (profile.encodeTable[stmt.info.id] < 0) {
      throw errorAt(stmt.pos, `'${stmt.info.name}' is not an instruction of ${profile.name}`);
    }
    this.#unit.code.push({
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

  #directive(d: DirectiveStatement): void {
    const unit = this.#unit;
    if (LAYOUT_DIRECTIVES.has(d.name)) unit.firstLayout ??= d;
    switch (d.name) {
      case "code":
      case "ro_data":
      case "rw_data":
      case "metadata":
        if (d.name === "metadata") unit.metadataStart ??= d;
        expectArgs(d, 0, 0);
        this.#section = d.name;
        return;
      case "equ": {
        expectArgs(d, 2, 2);
        const [name, value] = d.args;
        if (name.kind !== "expr" || name.expr.kind !== "symbol") {
          throw errorAt(name.pos, ".equ needs a name, then a value");
        }
        this.#define(name.expr.name, name.pos, {
          kind: "const",
          expr: exprOf(value),
          pos: name.pos,
        });
        return;
      }
      case "jump_table":
        expectArgs(d, 1, Infinity);
        for (const arg of d.args) exprOf(arg);
        unit.jumpTableArgs.push(...d.args);
        return;
      case "jump_table_entry_size":
      case "heap_pages":
      case "stack_size":
      case "bitmask_padding": {
        expectArgs(d, 1, 1);
        const previous = unit.settings.get(d.name);
        if (previous !== undefined) {
          throw errorAt(d.pos, `.${d.name} is already set on line ${previous.pos.line}`);
        }
        exprOf(d.args[0]);
        unit.settings.set(d.name, d);
        return;
      }
    }
    const section = this.#section;
    if (section === "code") {
      this.#codeDirective(d);
      return;
    }
    const offset = unit.sizes[section];
    const size = dataDirectiveSize(d, offset, this.#ev);
    unit.data[section].push({ directive: d, offset, size });
    unit.sizes[section] = offset + size;
  }

  #codeDirective(d: DirectiveStatement): void {
    if (d.name !== "insn" && d.name !== "bytes") {
      const hint = d.name in DATA_WIDTHS || d.name === "string" || d.name === "zero" ||
          d.name === "align"
        ? ` (data directives belong in .ro_data, .rw_data or .metadata)`
        : "";
      throw errorAt(d.pos, `unknown directive '.${d.name}' in .code${hint}`);
    }
    expectArgs(d, 1, Infinity);
    this.#unit.code.push({
      kind: "bytes",
      args: d.args,
      opcodeStart: d.name === "insn",
      length: byteArgsLength(d.args),
    });
  }
}
