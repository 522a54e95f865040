/**
 * A strict JSON parser that keeps integers beyond 2^53 exact: `JSON.parse` would round a register
 * value such as 2^64 − 1, so integers that are not safe numbers come back as `bigint`.
 * @module
 */

/** A parsed JSON value; integers outside ±(2^53 − 1) are `bigint`. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Raised for malformed JSON; the message names the character offset. */
export class JsonSyntaxError extends SyntaxError {
  /** Character offset of the problem. */
  readonly offset: number;

  /** Creates an error for `reason` at character `offset`. */
  constructor(offset: number, reason: string) {
    super(`${reason} at offset ${offset}`);
    this.name = "JsonSyntaxError";
    this.offset = offset;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

const LITERALS: [string, JsonValue][] = [["true", true], ["false", false], ["null", null]];

/** Parses `text` as JSON, returning big integers as `bigint`. */
export function parseJson(text: string): JsonValue {
  let at = 0;

  const fail = (reason: string): never => {
    throw new JsonSyntaxError(at, reason);
  };
  const skipSpace = (): void => {
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      at++;
    }
  };
  const expect = (word: string): void => {
    if (!text.startsWith(word, at)) fail(`expected '${word}'`);
    at += word.length;
  };

  const parseString = (): string => {
    at++; // opening quote
    let out = "";
    let runStart = at;
    while (true) {
      if (at >= text.length) fail("unterminated string");
      const c = text[at];
      if (c === '"') break;
      if (c < " ") fail("control character in string");
      if (c !== "\\") {
        at++;
        continue;
      }
      out += text.slice(runStart, at);
      const e = text[at + 1];
      if (e === "u") {
        const hex = text.slice(at + 2, at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        at += 6;
      } else if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        at += 2;
      } else fail("bad escape");
      runStart = at;
    }
    out += text.slice(runStart, at);
    at++; // closing quote
    return out;
  };

  const parseNumber = (): number | bigint => {
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (match === null) return fail("unexpected character");
    at += match[0].length;
    if (match[1] !== undefined || match[2] !== undefined) return Number(match[0]);
    const value = Number(match[0]);
    return Number.isSafeInteger(value) ? value : BigInt(match[0]);
  };

  const parseValue = (): JsonValue => {
    skipSpace();
    const c = text[at];
    if (c === "{") {
      at++;
      const object: { [key: string]: JsonValue } = {};
      skipSpace();
      if (text[at] === "}") {
        at++;
        return object;
      }
      while (true) {
        skipSpace();
        if (text[at] !== '"') fail("expected a key");
        const key = parseString();
        skipSpace();
        expect(":");
        // defineProperty, not assignment: a "__proto__" key must stay an ordinary key.
        Object.defineProperty(object, key, {
          value: parseValue(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        skipSpace();
        if (text[at] === ",") at++;
        else if (text[at] === "}") {
          at++;
          return object;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      at++;
      const array: JsonValue[] = [];
      skipSpace();
      if (text[at] === "]") {
        at++;
        return array;
      }
      while (true) {
        array.push(parseValue());
        skipSpace();
        if (text[at] === ",") at++;
        else if (text[at] === "]") {
          at++;
          return array;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    for (const [word, literal] of LITERALS) {
      if (c !== word[0]) continue;
      expect(word);
      return literal;
    }
    if (c === undefined) return fail("unexpected end of input");
    return parseNumber();
  };

  const value = parseValue();
  skipSpace();
  if (at !== text.length) fail("trailing characters");
  return value;
}
