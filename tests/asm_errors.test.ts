/** Assembly errors: each names the right line and column and says what is wrong. */
import assert from "node:assert/strict";
import { assemble, AssemblyError } from "../src/program/asm/index.ts";

/** Asserts that assembling `source` fails at `line`:`column` with a reason matching `reason`. */
function fails(source: string, line: number, column: number, reason: RegExp): void {
  assert.throws(
    () => assemble(source),
    (e: unknown) => {
      assert.ok(e instanceof AssemblyError, `not an AssemblyError: ${e}`);
      assert.equal(`${e.line}:${e.column}`, `${line}:${column}`, e.message);
      assert.match(e.reason, reason);
      assert.equal(e.message, `${line}:${column}: ${e.reason}`);
      return true;
    },
  );
}

Deno.test("unknown mnemonic", () => {
  fails("trap\n  add_65 a0, a1, a2", 2, 3, /unknown instruction 'add_65'/);
  fails("unlikely", 1, 1, /'unlikely' is not an instruction of jam-0.7/);
});

Deno.test("bad register", () => {
  fails("add_64 a0, a9, a1", 1, 12, /'a9' is not a register/);
  fails("move_reg r13, a0", 1, 10, /'r13' is not a register/);
  fails("add_64 a0, 5, a1", 1, 12, /operand 2 of add_64 must be a register/);
  fails("load_ind_u8 a0, [0x100]", 1, 17, /register-based address/);
  fails("load_u8 a0, [sp + 4]", 1, 13, /absolute address/);
  fails("sp: trap", 1, 1, /'sp' is a register name/);
});

Deno.test("immediate out of range", () => {
  fails("load_imm a0, 0x100000000", 1, 14, /does not fit in 32 bits/);
  fails("load_imm a0, -0x80000001", 1, 14, /does not fit in 32 bits/);
  fails("load_imm_64 a0, 0x10000000000000000", 1, 17, /does not fit in 64 bits/);
  fails("\n\n  store_imm_u8 [0x20000], 300:1", 3, 27, /300 does not fit in 1 byte \(it needs 2\)/);
  fails(".rw_data\n.u8 256", 2, 5, /does not fit \.u8/);
  fails("load_imm a0, 5:5", 1, 16, /width after ':' must be/);
});

Deno.test("undefined label", () => {
  fails("jump nowhere", 1, 6, /undefined label 'nowhere'/);
  fails("load_imm a0, &missing", 1, 14, /undefined label 'missing'/);
  fails(".jump_table a, b\na: trap", 1, 16, /undefined label 'b'/);
});

Deno.test("duplicate label", () => {
  fails("start:\n  trap\nstart:\n  trap", 3, 1, /'start' is already defined on line 1/);
  fails(".equ N, 1\n.ro_data\nN: .u8 1", 3, 1, /'N' is already defined on line 1/);
});

Deno.test("operand shape and context errors", () => {
  fails("add_64 a0, a1", 1, 14, /add_64 takes 3 \(reg, reg, reg\), not 2/);
  fails("trap a0", 1, 6, /trap takes no operands, not 1/);
  fails("loop: trap\n load_imm a0, loop", 2, 15, /code label; use &loop/);
  fails(".ro_data\nmsg: .u8 1\n.code\njump msg", 4, 6, /data label, not a place in the code/);
  fails(".u32 5", 1, 1, /data directives belong in \.ro_data, \.rw_data or \.metadata/);
  fails(".ro_data\nadd_64 a0, a1, a2", 2, 1, /instructions belong in \.code/);
  fails(".frobnicate 1", 1, 1, /unknown directive '\.frobnicate'/);
  fails(".equ A, B\n.equ B, A\nload_imm a0, A", 2, 9, /defined in terms of itself/);
  fails(".heap_pages 1\n.heap_pages 2", 2, 1, /already set on line 1/);
  fails('jump_ind ra, 0 ; ok\n.string "abc', 2, 9, /string is not closed/);
  fails("load_imm a0, 12abc", 1, 14, /malformed number/);
  fails("load_imm a0, 1 @", 1, 16, /unexpected character '@'/);
  fails("jump .", 1, 6, /unexpected character '\.'/);
  fails("load_imm a0, (1 + 2", 1, 20, /expected '\)'/);
});

Deno.test("a raw blob cannot hold data or layout", () => {
  assert.throws(
    () => assemble("trap\n.rw_data\n.u8 1", { kind: "raw" }),
    (e: unknown) =>
      e instanceof AssemblyError && e.line === 2 && /needs a standard program/.test(e.reason),
  );
});

Deno.test("jump addresses of things that are no code label", () => {
  fails(".rw_data\n.u32 &ghost", 2, 6, /undefined label 'ghost'/);
  fails(".ro_data\nmsg: .u8 1\n.code\nload_imm a0, &msg", 4, 14, /'msg' is not a code label/);
  fails(".equ K, 3\n.rw_data\n.u32 &K", 3, 6, /'K' is not a code label/);
});

Deno.test("metadata: no labels, and only in service code", () => {
  fails('.metadata\nname: .string "x"', 2, 1, /labels have no address in \.metadata/);
  assert.throws(
    () => assemble(".metadata\n.u8 1\n.code\ntrap", { kind: "standard" }),
    (e: unknown) =>
      e instanceof AssemblyError && e.line === 1 && /needs service code/.test(e.reason),
  );
});

Deno.test("mangled sources fail only with AssemblyError (seeded)", () => {
  const dir = new URL("../examples/", import.meta.url);
  const sources = [...Deno.readDirSync(dir)]
    .filter((e) => e.name.endsWith(".s"))
    .map((e) => Deno.readTextFileSync(new URL(e.name, dir)));
  assert.ok(sources.length >= 3);
  const pieces = [
    " ",
    ",",
    ":",
    "[",
    "]",
    "&",
    "-",
    "+",
    "*",
    "(",
    ")",
    '"',
    "0x",
    "r13",
    "a0",
    "loop",
    ".u8",
    ".code",
    ".rw_data",
    ".metadata",
    ":9",
    "\n",
    "jump",
    "99999999999",
    ".",
  ];
  let seed = 12345;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let failures = 0;
  for (let n = 0; n < 2000; n++) {
    let text = sources[next(sources.length)];
    for (let k = 0, edits = 1 + next(4); k < edits; k++) {
      const at = next(text.length);
      const cut = next(3) === 0 ? next(12) : 0;
      text = text.slice(0, at) + pieces[next(pieces.length)] + text.slice(at + cut);
    }
    try {
      assemble(text);
    } catch (e) {
      if (!(e instanceof AssemblyError)) throw new Error(`${e}\n--- source ---\n${text}`);
      failures++;
    }
  }
  assert.ok(failures > 500, `only ${failures} of 2000 mangled sources were rejected`);
});

Deno.test("trailing commas are errors", () => {
  fails("add_64 a0, a1, a2,", 1, 19, /expected an operand/);
  fails(".jump_table a,\na: trap", 1, 15, /expected a value/);
});
