/**
 * Splits assembly source into tokens, one line at a time. Comments start with `;` or `#` and run
 * to the end of the line.
 * @module
 */
import { AssemblyError, type SourcePosition } from "./errors.ts";

/** What a token is. */
export type TokenKind = "ident" | "directive" | "number" | "string" | "punct";

/** One token with its place in the source. */
export interface Token extends SourcePosition {
  /** The token's kind. */
  readonly kind: TokenKind;
  /** Source text (for `directive`, without the leading dot; for `string`, the raw literal). */
  readonly text: string;
  /** Value of a `number` token. */
  readonly number?: bigint;
  /** Bytes of a `string` token (UTF-8, escapes resolved). */
  readonly bytes?: Uint8Array;
}

/** The tokens of one source line (empty lines and comment-only lines have none). */
export interface TokenLine {
  /** 1-based line number. */
  readonly line: number;
  /** Tokens, in order. */
  readonly tokens: readonly Token[];
  /** Column just past the last character before any comment (for errors at the line's end). */
  readonly endColumn: number;
}

const PUNCTUATION = new Set([",", "[", "]", "+", "-", "*", "(", ")", "&", ":", "="]);
/** True for A–Z, a–z and _. */
function isIdentStart(c: string | undefined): boolean {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/** True for A–Z, a–z, _ and 0–9. */
function isIdentPart(c: string | undefined): boolean {
  return isIdentStart(c) || (c !== undefined && c >= "0" && c <= "9");
}
const ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, "0": 0, "\\": 92, '"': 34, "'": 39 };
const utf8 = new TextEncoder();

/** Tokenizes `source`; throws `AssemblyError` on a malformed number or string. */
export function tokenize(source: string): TokenLine[] {
  const lines = source.split(/\r?\n/);
  return lines.map((text, index) => tokenizeLine(text, index + 1));
}

function tokenizeLine(text: string, line: number): TokenLine {
  const tokens: Token[] = [];
  let i = 0;
  let endColumn = 1;
  while (i < text.length) {
    const c = text[i];
    const column = i + 1;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    if (c === ";" || c === "#") break;
    if (c === '"') {
      const [bytes, next] = readString(text, i, line);
      tokens.push({ kind: "string", text: text.slice(i, next), bytes, line, column });
      i = next;
    } else if (c >= "0" && c <= "9") {
      let j = i;
      while (j < text.length && isIdentPart(text[j])) j++;
      const raw = text.slice(i, j);
      tokens.push({
        kind: "number",
        text: raw,
        number: parseNumber(raw, line, column),
        line,
        column,
      });
      i = j;
    } else if (isIdentStart(c) || (c === "." && isIdentStart(text[i + 1]))) {
      let j = i + 1;
      while (j < text.length && isIdentPart(text[j])) j++;
      const word = text.slice(i, j);
      tokens.push(
        c === "."
          ? { kind: "directive", text: word.slice(1), line, column }
          : { kind: "ident", text: word, line, column },
      );
      i = j;
    } else if (PUNCTUATION.has(c)) {
      tokens.push({ kind: "punct", text: c, line, column });
      i++;
    } else {
      throw new AssemblyError(line, column, `unexpected character '${c}'`);
    }
    endColumn = i + 1;
  }
  return { line, tokens, endColumn };
}

/** Parses a decimal, `0x` hex or `0b` binary literal; `_` may separate digits. */
function parseNumber(raw: string, line: number, column: number): bigint {
  const digits = raw.replaceAll("_", "");
  const valid = /^(0x[0-9a-fA-F]+|0b[01]+|0o[0-7]+|[0-9]+)$/.test(digits) && !raw.endsWith("_");
  if (!valid) throw new AssemblyError(line, column, `malformed number '${raw}'`);
  return BigInt(digits);
}

/** Reads a double-quoted string starting at `start`; returns its bytes and the index after it. */
function readString(text: string, start: number, line: number): [Uint8Array, number] {
  const out: number[] = [];
  let i = start + 1;
  while (i < text.length && text[i] !== '"') {
    if (text[i] !== "\\") {
      const codePoint = text.codePointAt(i)!;
      const char = String.fromCodePoint(codePoint);
      out.push(...utf8.encode(char));
      i += char.length;
      continue;
    }
    const e = text[i + 1];
    if (e === "x") {
      const hex = text.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new AssemblyError(line, i + 1, "\\x must be followed by two hex digits");
      }
      out.push(parseInt(hex, 16));
      i += 4;
    } else if (e !== undefined && e in ESCAPES) {
      out.push(ESCAPES[e]);
      i += 2;
    } else {
      throw new AssemblyError(line, i + 1, `unknown escape '\\${e ?? ""}' in string`);
    }
  }
  if (i >= text.length) throw new AssemblyError(line, start + 1, "string is not closed");
  return [Uint8Array.from(out), i + 1];
}
