/** The assembly syntax feature by feature, checked against the decoder and the container parsers. */
import assert from "node:assert/strict";
import { assemble, assembleDetailed, disassemble } from "../src/program/asm/index.ts";
import { parseBlob } from "../src/program/blob.ts";
import { decodeCode, type Instruction } from "../src/program/decoder.ts";
import { Op } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { rwDataStart } from "../src/pvm/mod.ts";
import { parseStandardProgram } from "../src/program/standard.ts";
import { invokeProgram } from "../src/sandbox/sandbox.ts";

function decodeRaw(source: string): Instruction[] {
  const blob = parseBlob(assemble(source, { kind: "raw" }));
  return [...decodeCode(blob.code, blob.bitmask).instructions];
}

Deno.test("registers: numbers, aliases, any case; comments with ; and #", () => {
  const [i] = decodeRaw("ADD_64 R9, a0, SP ; comment\n# a whole-line comment");
  assert.deepEqual([i.op, i.d, i.a, i.b], [Op.add_64, 9, 7, 1]);
  const names = decodeRaw("add_64 ra, t0, t1\nadd_64 t2, s0, s1\nadd_64 a5, a4, r12");
  assert.deepEqual(names.map((i) => [i.d, i.a, i.b]), [[0, 2, 3], [4, 5, 6], [12, 11, 12]]);
});

Deno.test("immediates: decimal, hex, binary, separators, expressions, unsigned spellings", () => {
  const src = [
    "load_imm a0, 0x7fff_ffff",
    "load_imm a0, 0xffffffff", // the same immediate as -1
    "load_imm a0, -(2 * 3) + 0b100",
    "load_imm a0, 0o17",
    "load_imm_64 a0, 0xffff_ffff_ffff_fffe",
    "load_imm_64 a0, -2",
  ].join("\n");
  const ins = decodeRaw(src);
  assert.deepEqual(ins.slice(0, 4).map((i) => i.x), [0x7fffffff, -1, -2, 15]);
  assert.equal(ins[1].length, 3, "-1 takes one byte");
  assert.equal(ins[4].wide, 0xfffffffffffffffen);
  assert.equal(ins[5].wide, 0xfffffffffffffffen);
});

Deno.test("memory operands: absolute, register-based, negative and composite offsets", () => {
  const ins = decodeRaw([
    "load_u8 a0, [0x20000]",
    "store_u64 [0xfffe0000], a1",
    "load_ind_u32 a0, [sp - 8 + 4]",
    "store_ind_u16 [a2], a3",
    "store_imm_ind_u8 [t0 + 300], -1",
    "store_imm_u32 [0x30000], 0x12345678",
  ].join("\n"));
  assert.deepEqual([ins[0].a, ins[0].x], [7, 0x20000]);
  assert.deepEqual([ins[1].a, ins[1].x >>> 0], [8, 0xfffe0000]);
  assert.deepEqual([ins[2].a, ins[2].b, ins[2].x], [7, 1, -4]);
  assert.deepEqual([ins[3].a, ins[3].b, ins[3].x], [10, 9, 0]);
  assert.deepEqual([ins[4].a, ins[4].x, ins[4].y], [2, 300, -1]);
  assert.deepEqual([ins[5].x, ins[5].y], [0x30000, 0x12345678]);
});

Deno.test("labels: forward and backward branches, several per line, arithmetic", () => {
  const out = assembleDetailed([
    "top: again: load_imm a0, 1",
    "    branch_eq a0, a1, done",
    "    jump top",
    "done:",
    "    load_imm_jump ra, 8, again",
    "    branch_ge_u_imm a0, 3, done + 0",
  ].join("\n"));
  const code = parseBlob(out.bytes);
  const ins = decodeCode(code.code, code.bitmask).instructions;
  const pc = (name: string) => out.labels.get(name)!.value;
  assert.equal(pc("top"), 0);
  assert.equal(pc("again"), 0);
  assert.equal(ins[1].x, pc("done"));
  assert.equal(ins[2].x, pc("top"));
  assert.deepEqual([ins[3].a, ins[3].x, ins[3].y], [0, 8, 0]);
  assert.equal(ins[4].y, pc("done"));
});

Deno.test("branch offsets grow to reach far targets", () => {
  const filler = Array.from({ length: 100 }, () => "    load_imm_64 a0, 1").join("\n");
  const ins = decodeRaw(`start:\n    jump end\n${filler}\nend:\n    jump start`);
  assert.equal(ins[0].length, 3, "a forward jump over 1000 bytes needs a 2-byte offset");
  assert.equal(ins[0].x, 3 + 1000);
  assert.equal(ins.at(-1)!.x, 0);
  assert.equal(ins.at(-1)!.length, 3);
});

Deno.test("width hints force longer encodings and round-trip", () => {
  const source = "l: load_imm a0, 5:4\n jump l:2\n store_imm_u8 [0x100:4], 0:1\n jump_ind ra, 0:0";
  const ins = decodeRaw(source);
  assert.deepEqual(ins.map((i) => i.length), [6, 3, 7, 2]);
  assert.deepEqual([ins[0].x, ins[1].x, ins[2].x, ins[2].y], [5, 0, 0x100, 0]);
  const bytes = assemble(source);
  const text = disassemble(bytes);
  assert.match(text, /load_imm a0, 5:4/);
  assert.match(text, /jump L0:2/);
  assert.match(text, /store_imm_u8 \[0x100:4\], 0:1/);
  assert.deepEqual(assemble(text), bytes);
});

Deno.test("raw escapes: .insn, .bytes, .bitmask_padding, .jump_table_entry_size", () => {
  const bytes = assemble([
    ".jump_table_entry_size 3",
    ".jump_table 1",
    ".bitmask_padding 0xe0",
    ".bytes 0x07",
    ".insn 0xff, 0x01",
    "trap",
    ".bytes 0x00",
  ].join("\n"));
  const blob = parseBlob(bytes);
  assert.equal(blob.jumpTableEntrySize, 3);
  assert.deepEqual([...blob.jumpTable], [1]);
  assert.deepEqual([...blob.code], [0x07, 0xff, 0x01, 0x00, 0x00]);
  assert.deepEqual([...blob.bitmask], [0b1110_1010]);
  assert.deepEqual(assemble(disassemble(bytes)), bytes);
});

Deno.test("jump table: &label gives (index + 1) * 2; unlisted labels are appended", () => {
  const out = assembleDetailed([
    ".stack_size 0x1000",
    ".jump_table one, two",
    "    load_imm t0, &three",
    "    jump_ind t0, 0",
    "one:",
    "    load_imm a0, 1",
    "    jump_ind ra, 0",
    "two:",
    "    load_imm a0, 2",
    "    jump_ind ra, 0",
    "three:",
    "    load_imm a0, &two * 100",
    "    jump_ind ra, 0",
  ].join("\n"));
  const pc = (name: string) => out.labels.get(name)!.value;
  assert.deepEqual(out.jumpTable, [pc("one"), pc("two"), pc("three")]);
  const program = Program.parse(out.bytes, { container: "standard" });
  assert.equal(program.decoded.instructions[0].x, 6);
  const result = invokeProgram(program, { gas: 100n });
  assert.equal(result.status, "halt");
  assert.equal(result.regs[7], 400n);
});

Deno.test("data sections: values, strings, alignment, labels as addresses", () => {
  const out = assembleDetailed([
    ".equ BIG, 0x1_0000",
    ".heap_pages 2",
    ".ro_data",
    'greeting: .string "hi\\n\\x00\\""',
    "    .align 4",
    "table: .u16 1, -1",
    "    .u64 0xffff_ffff_ffff_ffff",
    "    .zero BIG - 0x10",
    '    .bytes 1, "ab", -1',
    ".rw_data",
    "pointer: .u32 greeting, table",
    ".code",
    "    load_imm a0, pointer",
    "    load_u32 a1, [table + 2]",
    "    jump_ind ra, 0",
  ].join("\n"));
  assert.equal(out.kind, "standard");
  const p = parseStandardProgram(out.bytes);
  assert.equal(p.heapPages, 2);
  assert.equal(p.stackSize, 0x10000, "the default stack is 64 KiB");
  const ro = p.roData;
  assert.deepEqual([...ro.subarray(0, 5)], [0x68, 0x69, 0x0a, 0x00, 0x22]);
  assert.deepEqual([...ro.subarray(8, 12)], [1, 0, 0xff, 0xff]);
  assert.deepEqual([...ro.subarray(12, 20)], new Array(8).fill(0xff));
  assert.equal(ro.length, 20 + 0x10000 - 0x10 + 4);
  assert.deepEqual([...ro.subarray(ro.length - 4)], [1, 0x61, 0x62, 0xff]);
  const rwBase = rwDataStart(ro.length);
  assert.equal(rwBase, 0x40000, "ro data over 64 KiB pushes rw data to the next zone");
  assert.equal(out.labels.get("pointer")!.value, rwBase);
  assert.deepEqual(
    [...p.rwData],
    [0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00],
    "pointers to 0x10000 and 0x10008",
  );
  const ins = decodeCode(p.blob.code, p.blob.bitmask).instructions;
  assert.equal(ins[0].x, rwBase);
  assert.equal(ins[1].x, 0x1000a);
});

Deno.test("output kind: raw unless layout is present; can be forced", () => {
  const raw = assembleDetailed("trap");
  assert.equal(raw.kind, "raw");
  assert.deepEqual([...raw.bytes], [0, 0, 1, 0, 1]);
  const standard = assembleDetailed("trap", { kind: "standard" });
  assert.equal(standard.kind, "standard");
  assert.deepEqual([...parseStandardProgram(standard.bytes).blob.code], [0]);
  assert.equal(assembleDetailed(".stack_size 0\ntrap").kind, "standard");
  assert.equal(assembleDetailed("").bytes.length, 3, "an empty program is an empty blob");
});

Deno.test("warnings: a branch to a label that starts no basic block", () => {
  const out = assembleDetailed("load_imm a0, 1\nhere:\n  add_64 a0, a0, a0\n  jump here");
  assert.equal(out.warnings.length, 1);
  assert.deepEqual([out.warnings[0].line, out.warnings[0].column], [4, 8]);
  assert.match(out.warnings[0].message, /'here' .* does not start a basic block/);
  const fixed = assembleDetailed("load_imm a0, 1\nfallthrough\nhere:\n  jump here");
  assert.deepEqual(fixed.warnings, []);
});

Deno.test("the listing: block labels, target labels, pc/bytes comments, plain mode", () => {
  const bytes = assemble(
    "load_imm a0, 3\nfallthrough\nloop:\n add_imm_64 a0, a0, -1\n" +
      " branch_ne_imm a0, 0, loop\n trap",
  );
  const listing = disassemble(bytes);
  assert.match(listing, /^L0:$/m);
  assert.match(listing, /\n\nL4:\n {4}add_imm_64 a0, a0, -1 +; {1,2}4: 95 77 ff$/m);
  assert.match(listing, /branch_ne_imm a0, 0, L4 +; {1,2}7: 52 07 fd$/m);
  const plain = disassemble(bytes, { annotate: false });
  assert.doesNotMatch(plain, /;/);
  assert.deepEqual(assemble(plain), bytes);
});
