/**
 * Parses assembly source into statements: labels, instructions (operands checked against each
 * mnemonic's shape) and directives. Symbols are resolved later, by the assembler.
 * @module
 */
import { instructionByName, type InstructionInfo } from "../isa/index.ts";
import { errorAt, type SourcePosition } from "./errors.ts";
import { type Token, tokenize, type TokenLine } from "./lexer.ts";
import { type OperandSlot, operandSlots, operandTemplate, registerNumber } from "./syntax.ts";

/** An integer expression; symbols are labels or `.equ` constants. */
export type Expr =
  | { readonly kind: "number"; readonly value: bigint; readonly pos: SourcePosition }
  | { readonly kind: "symbol"; readonly name: string; readonly pos: SourcePosition }
  | { readonly kind: "jump_address"; readonly name: string; readonly pos: SourcePosition }
  | { readonly kind: "negate"; readonly operand: Expr; readonly pos: SourcePosition }
  | {
    readonly kind: "binary";
    readonly op: "+" | "-" | "*";
    readonly left: Expr;
    readonly right: Expr;
    readonly pos: SourcePosition;
  };

/** An immediate operand: its value and, optionally, how many bytes to encode it in. */
export interface Immediate {
  /** The value. */
  readonly expr: Expr;
  /** Encoded width in bytes (`value:width`); undefined means the shortest. */
  readonly width?: number;
  /** Where the operand starts. */
  readonly pos: SourcePosition;
}

/** A label definition (`name:`). */
export interface LabelStatement {
  /** Statement kind. */
  readonly kind: "label";
  /** The label. */
  readonly name: string;
  /** Where it is defined. */
  readonly pos: SourcePosition;
}

/** One instruction with its operands mapped to instruction fields. */
export interface InstructionStatement {
  /** Statement kind. */
  readonly kind: "instruction";
  /** The instruction. */
  readonly info: InstructionInfo;
  /** Register A (0 when unused). */
  readonly a: number;
  /** Register B (0 when unused). */
  readonly b: number;
  /** Register D (0 when unused). */
  readonly d: number;
  /** First immediate (or branch target), when the instruction has one. */
  readonly x?: Immediate;
  /** Second immediate (or branch target), when the instruction has one. */
  readonly y?: Immediate;
  /** Where the mnemonic is. */
  readonly pos: SourcePosition;
}

/** A directive argument: an expression or a string. */
export type DirectiveArg =
  | { readonly kind: "expr"; readonly expr: Expr; readonly pos: SourcePosition }
  | { readonly kind: "string"; readonly bytes: Uint8Array; readonly pos: SourcePosition };

/** A directive (`.name args`). */
export interface DirectiveStatement {
  /** Statement kind. */
  readonly kind: "directive";
  /** Directive name without the dot. */
  readonly name: string;
  /** Comma-separated arguments. */
  readonly args: readonly DirectiveArg[];
  /** Where the directive is. */
  readonly pos: SourcePosition;
  /** Where the line ends (for errors about missing arguments). */
  readonly end: SourcePosition;
}

/** Any statement. */
export type Statement = LabelStatement | InstructionStatement | DirectiveStatement;

/** Parses `source` into statements; throws `AssemblyError` at the first problem. */
export function parse(source: string): Statement[] {
  const statements: Statement[] = [];
  for (const line of tokenize(source)) {
    if (line.tokens.length > 0) new LineParser(line).parseInto(statements);
  }
  return statements;
}

/** A parsed operand before it is matched to a slot. */
type RawOperand =
  | { kind: "reg"; reg: number; pos: SourcePosition }
  | { kind: "imm"; imm: Immediate; pos: SourcePosition }
  | { kind: "mem"; base?: number; imm: Immediate; pos: SourcePosition };

class LineParser {
  private i = 0;
  private readonly tokens: readonly Token[];

  constructor(private readonly line: TokenLine) {
    this.tokens = line.tokens;
  }

  parseInto(out: Statement[]): void {
    while (this.peek()?.kind === "ident" && this.peekAt(1)?.text === ":") {
      const name = this.next();
      this.checkLabelName(name);
      this.next();
      out.push({ kind: "label", name: name.text, pos: name });
    }
    const head = this.peek();
    if (head === undefined) return;
    if (head.kind === "directive") out.push(this.directive());
    else if (head.kind === "ident") out.push(this.instruction());
    else throw errorAt(head, `expected a label, a mnemonic or a directive, found '${head.text}'`);
  }

  private checkLabelName(token: Token): void {
    if (registerNumber(token.text) !== undefined) {
      throw errorAt(token, `'${token.text}' is a register name and cannot be a label`);
    }
  }

  private directive(): DirectiveStatement {
    const head = this.next();
    const args: DirectiveArg[] = [];
    this.commaList(() => {
      const t = this.peek();
      if (t?.kind === "string") {
        this.next();
        args.push({ kind: "string", bytes: t.bytes!, pos: t });
      } else {
        args.push({ kind: "expr", expr: this.expression(), pos: t ?? this.endPos() });
      }
    });
    return { kind: "directive", name: head.text, args, pos: head, end: this.endPos() };
  }

  private instruction(): InstructionStatement {
    const head = this.next();
    const info = instructionByName(head.text.toLowerCase());
    if (info === undefined) throw errorAt(head, `unknown instruction '${head.text}'`);
    const operands: RawOperand[] = [];
    this.commaList(() => operands.push(this.operand()));
    const slots = operandSlots(info);
    if (operands.length !== slots.length) {
      const shape = slots.length === 0
        ? "no operands"
        : `${slots.length} (${operandTemplate(info)})`;
      const at = operands[slots.length]?.pos ?? this.endPos();
      throw errorAt(at, `${info.name} takes ${shape}, not ${operands.length}`);
    }
    const fields: { a: number; b: number; d: number; x?: Immediate; y?: Immediate } = {
      a: 0,
      b: 0,
      d: 0,
    };
    slots.forEach((slot, k) => fill(fields, slot, operands[k], info, k + 1));
    return { kind: "instruction", info, ...fields, pos: head };
  }

  /** Parses `item, item, …` up to the end of the line (nothing at all is an empty list). */
  private commaList(item: () => void): void {
    if (this.peek() === undefined) return;
    item();
    while (this.peek() !== undefined) {
      this.expect(",");
      item();
    }
  }

  private operand(): RawOperand {
    const t = this.peek();
    if (t === undefined) throw errorAt(this.endPos(), "expected an operand");
    if (t.text === "[" && t.kind === "punct") return this.memory();
    if (t.kind === "ident") {
      const reg = registerNumber(t.text);
      if (reg !== undefined) {
        this.next();
        return { kind: "reg", reg, pos: t };
      }
    }
    return { kind: "imm", imm: this.immediate(), pos: t };
  }

  private memory(): RawOperand {
    const open = this.next();
    const t = this.peek();
    let base: number | undefined;
    let imm: Immediate;
    if (t?.kind === "ident" && registerNumber(t.text) !== undefined) {
      this.next();
      base = registerNumber(t.text);
      const sign = this.peek();
      if (sign?.text === "+" || sign?.text === "-") {
        // `[reg - 8 + 4]` is reg + (0 - 8 + 4): the sign joins the offset expression.
        imm = this.immediate({ kind: "number", value: 0n, pos: sign });
      } else {
        imm = { expr: { kind: "number", value: 0n, pos: t }, pos: t };
      }
    } else {
      imm = this.immediate();
    }
    this.expect("]");
    return { kind: "mem", base, imm, pos: open };
  }

  private immediate(start?: Expr): Immediate {
    const pos = this.peek() ?? this.endPos();
    const expr = this.expression(start);
    if (this.peek()?.text !== ":") return { expr, pos };
    this.next();
    const w = this.peek();
    if (w?.kind !== "number" || w.number! > 4n) {
      throw errorAt(w ?? this.endPos(), "an encoding width after ':' must be 0, 1, 2, 3 or 4");
    }
    this.next();
    return { expr, width: Number(w.number), pos };
  }

  /** Parses `a + b - c …`; with `start`, continues after an already parsed left operand. */
  private expression(start?: Expr): Expr {
    let left = start ?? this.term();
    for (let t = this.peek(); t?.text === "+" || t?.text === "-"; t = this.peek()) {
      this.next();
      left = { kind: "binary", op: t.text as "+" | "-", left, right: this.term(), pos: t };
    }
    return left;
  }

  private term(): Expr {
    let left = this.factor();
    for (let t = this.peek(); t?.text === "*"; t = this.peek()) {
      this.next();
      left = { kind: "binary", op: "*", left, right: this.factor(), pos: t };
    }
    return left;
  }

  private factor(): Expr {
    const t = this.peek();
    if (t === undefined) throw errorAt(this.endPos(), "expected a value");
    this.next();
    if (t.kind === "number") return { kind: "number", value: t.number!, pos: t };
    if (t.kind === "ident") {
      if (registerNumber(t.text) !== undefined) {
        throw errorAt(t, `register '${t.text}' is not allowed here: a value is expected`);
      }
      return { kind: "symbol", name: t.text, pos: t };
    }
    if (t.text === "-") return { kind: "negate", operand: this.factor(), pos: t };
    if (t.text === "(") {
      const inner = this.expression();
      this.expect(")");
      return inner;
    }
    if (t.text === "&") {
      const name = this.peek();
      if (name?.kind !== "ident") {
        throw errorAt(name ?? this.endPos(), "expected a label after '&'");
      }
      this.next();
      return { kind: "jump_address", name: name.text, pos: t };
    }
    throw errorAt(t, `expected a value, found '${t.text}'`);
  }

  private expect(text: string): Token {
    const t = this.peek();
    if (t?.text !== text || t.kind === "string") {
      throw errorAt(t ?? this.endPos(), `expected '${text}'${t ? `, found '${t.text}'` : ""}`);
    }
    return this.next();
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private peekAt(k: number): Token | undefined {
    return this.tokens[this.i + k];
  }

  private next(): Token {
    return this.tokens[this.i++];
  }

  private endPos(): SourcePosition {
    return { line: this.line.line, column: this.line.endColumn };
  }
}

/** Puts one written operand into the instruction field its slot names, checking its kind. */
function fill(
  fields: { a: number; b: number; d: number; x?: Immediate; y?: Immediate },
  slot: OperandSlot,
  operand: RawOperand,
  info: InstructionInfo,
  index: number,
): void {
  const where = `operand ${index} of ${info.name}`;
  switch (slot) {
    case "rA":
    case "rB":
    case "rD":
      if (operand.kind === "imm" && operand.imm.expr.kind === "symbol") {
        throw errorAt(
          operand.pos,
          `'${operand.imm.expr.name}' is not a register (r0…r12, ra, sp, t0…t2, s0, s1, a0…a5)`,
        );
      }
      if (operand.kind !== "reg") throw errorAt(operand.pos, `${where} must be a register`);
      fields[slot === "rA" ? "a" : slot === "rB" ? "b" : "d"] = operand.reg;
      return;
    case "x":
    case "y":
    case "x64":
    case "tx":
    case "ty": {
      if (operand.kind !== "imm") {
        const what = slot[0] === "t" ? "a label or code offset" : "an immediate value";
        throw errorAt(operand.pos, `${where} must be ${what}`);
      }
      if (slot === "x64" && operand.imm.width !== undefined) {
        throw errorAt(operand.pos, "the 64-bit immediate of load_imm_64 always takes 8 bytes");
      }
      fields[slot === "y" || slot === "ty" ? "y" : "x"] = operand.imm;
      return;
    }
    case "[x]":
      if (operand.kind !== "mem" || operand.base !== undefined) {
        throw errorAt(operand.pos, `${where} must be an absolute address like [0x20000]`);
      }
      fields.x = operand.imm;
      return;
    case "[rA+x]":
    case "[rB+x]":
      if (operand.kind !== "mem" || operand.base === undefined) {
        throw errorAt(operand.pos, `${where} must be a register-based address like [sp + 8]`);
      }
      fields[slot === "[rA+x]" ? "a" : "b"] = operand.base;
      fields.x = operand.imm;
      return;
  }
}
