/**
 * Byte-exact round trips: the project's own programs, every official vector program, the bench
 * programs and random instruction soups must come back unchanged from
 * `assemble(disassemble(bytes))`, in both the annotated and the plain listing.
 */
import assert from "node:assert/strict";
import { assemble, disassemble } from "../src/program/asm/index.ts";
import { encodeBlob } from "../src/program/blob.ts";
import { encodePolkaVm } from "../src/program/polkavm.ts";
import { encodeServiceCode, encodeServiceMetadata } from "../src/program/service.ts";
import { INSTRUCTIONS } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { BENCH_PROGRAMS, benchProgram, rng, sharedTest, vectorPrograms } from "./fixtures.ts";
import { OWN_PROGRAMS, ownProgram, ownRawPrograms } from "./own_programs.ts";

/** Both listings of `program` (a raw blob) assemble back to its exact bytes. */
function assertRoundTrip(program: Program, bytes: Uint8Array, what: string): void {
  for (const annotate of [true, false]) {
    const text = disassemble(program, { annotate });
    assert.deepEqual(assemble(text), bytes, `${what} (annotate: ${annotate})\n${text}`);
  }
}

Deno.test("every own raw program (every opcode, edge immediates) round-trips byte for byte", () => {
  for (const [name, bytes] of ownRawPrograms()) {
    assertRoundTrip(Program.parse(bytes, { container: "raw" }), bytes, name);
  }
});

sharedTest("every conformance vector program round-trips byte for byte", () => {
  const programs = [...vectorPrograms()];
  assert.equal(programs.length, 251);
  let exact = 0;
  for (const [name, bytes] of programs) {
    assertRoundTrip(Program.parse(bytes, { container: "raw" }), bytes, name);
    exact++;
  }
  assert.equal(exact, 251);
});

/** Both listings of a JAM standard program assemble back to its exact bytes. */
function assertStandardRoundTrip(bytes: Uint8Array, name: string): void {
  for (const annotate of [true, false]) {
    const text = disassemble(bytes, { annotate });
    assert.match(text, /^\.stack_size /m);
    assert.deepEqual(assemble(text), bytes, `${name} (annotate: ${annotate})`);
  }
}

Deno.test("own JAM standard programs round-trip byte for byte", () => {
  for (const name of OWN_PROGRAMS) assertStandardRoundTrip(ownProgram(name), name);
});

sharedTest("the bench programs (JAM standard programs) round-trip byte for byte", () => {
  for (const name of BENCH_PROGRAMS) assertStandardRoundTrip(benchProgram(name), name);
});

const OPCODES = INSTRUCTIONS.map((i) => i.id).filter((id) => id !== 2);

/** Random code with a random bitmask: unknown opcodes, clamped nibbles, odd widths, padding. */
function instructionSoup(next: () => number): Uint8Array {
  const int = (n: number) => Math.floor(next() * n);
  const length = 1 + int(120);
  const code = new Uint8Array(length);
  const bitmask = new Uint8Array(Math.ceil(length / 8));
  for (let pc = 0; pc < length;) {
    code[pc] = next() < 0.85 ? OPCODES[int(OPCODES.length)] : int(256);
    if (pc > 0 || next() < 0.9) bitmask[pc >> 3] |= 1 << (pc & 7);
    const operandBytes = next() < 0.05 ? 20 + int(20) : int(11);
    for (let k = 1; k <= operandBytes && pc + k < length; k++) {
      code[pc + k] = next() < 0.3 ? int(256) : next() < 0.5 ? 0 : int(16) | (int(16) << 4);
    }
    pc += 1 + operandBytes;
  }
  if (length % 8 !== 0 && next() < 0.3) {
    bitmask[bitmask.length - 1] |= int(256) & ~((1 << (length % 8)) - 1);
  }
  const entrySize = int(5);
  const jumpTable = Array.from(
    { length: entrySize === 0 ? 0 : int(6) },
    () => next() < 0.7 ? int(length + 2) : int(2 ** (8 * entrySize)),
  );
  return encodeBlob({ jumpTable, code, bitmask, jumpTableEntrySize: entrySize });
}

Deno.test("random instruction soups round-trip byte for byte (seeded)", () => {
  const next = rng(0x5eed);
  let rawDirectives = 0;
  for (let n = 0; n < 300; n++) {
    const bytes = instructionSoup(next);
    const program = Program.parse(bytes, { container: "raw" });
    if (/^\s*\.(insn|bytes) /m.test(disassemble(program))) rawDirectives++;
    assertRoundTrip(program, bytes, `soup ${n}`);
  }
  // The soups must actually exercise the escapes, or this test proves little.
  assert.ok(rawDirectives > 100, `only ${rawDirectives} soups needed .insn/.bytes`);
});

Deno.test("service code round-trips byte for byte, metadata included", () => {
  const program = ownProgram("memory");
  const conventional = encodeServiceMetadata({
    name: "memory",
    version: "0.1.0",
    licence: "Apache-2.0",
    authors: ["pvmbox\nauthors"],
  });
  for (const metadata of [conventional, Uint8Array.of(0xff, 0, 1), new Uint8Array()]) {
    const bytes = encodeServiceCode(metadata, program);
    const text = disassemble(bytes);
    assert.match(text, /^\.metadata$/m);
    assert.deepEqual(assemble(text), bytes);
    assert.deepEqual(assemble(disassemble(bytes, { annotate: false })), bytes);
  }
});

Deno.test(".polkavm programs come back as a standard program with the same code and memory", () => {
  const own = Program.parse(ownProgram("crc32"));
  const bytes = encodePolkaVm({
    version: 3,
    roData: Uint8Array.of(1, 2, 3),
    rwData: Uint8Array.of(4, 5),
    rwDataSize: 3 * 4096,
    stackSize: 8192,
    exports: [{ name: "main", pc: 0 }],
    blob: own.blob,
  });
  const original = Program.parse(bytes);
  assert.equal(original.container, "polkavm");
  const text = disassemble(original);
  assert.match(text, /^; export 'main' at pc 0$/m);
  const again = Program.parse(assemble(text), { container: "standard" });
  assert.deepEqual(encodeBlob(again.blob), encodeBlob(original.blob));
  assert.deepEqual(again.memory, original.memory);
});

Deno.test("branches spanning each other at a width threshold keep their original widths", () => {
  // Both jumps need 2-byte offsets as laid out here, yet with 1-byte offsets both would fit:
  // two valid layouts. The listing must pin this one.
  const filler = (n: number) => Array.from({ length: n }, () => "  move_reg a0, a0").join("\n");
  const source = `S:\n${filler(5)}\n  jump T:2\n${filler(58)}\n  jump S:2\n${
    filler(3)
  }\nT:\n  trap`;
  const bytes = assemble(source);
  const shortest = assemble(source.replaceAll(":2", ""));
  assert.equal(shortest.length, bytes.length - 2, "the shorter layout exists");
  const text = disassemble(bytes, { annotate: false });
  assert.match(text, /jump L\d+:2/);
  assert.deepEqual(assemble(text), bytes);
});
