import assert from "node:assert/strict";
import { encodeBlob, parseBlob } from "../src/program/blob.ts";
import { ProgramError } from "../src/pvm/mod.ts";
import { encodePolkaVm } from "../src/program/polkavm.ts";
import { type ContainerKind, Program } from "../src/program/program.ts";
import { encodeServiceCode, encodeServiceMetadata } from "../src/program/service.ts";
import { encodeStandardProgram } from "../src/program/standard.ts";
import { assemble } from "../src/program/asm/index.ts";
import { BENCH_PROGRAMS, benchProgram, sharedTest, vectorPrograms } from "./fixtures.ts";
import { OWN_PROGRAMS, ownProgram, ownRawPrograms } from "./own_programs.ts";

/** A raw blob of one instruction. */
const ADD_32 = assemble("    add_32 t2, a0, a1\n", { kind: "raw" });

/** Each program autodetects as a raw blob, the same one as when the container is named. */
function assertAutodetectedRaw(programs: Map<string, Uint8Array>): void {
  for (const [name, bytes] of programs) {
    const program = Program.parse(bytes);
    assert.equal(program.container, "raw", name);
    assert.equal(program.memory, undefined, name);
    assert.equal(program.metadata, undefined, name);
    assert.deepEqual(Program.parse(bytes, { container: "raw" }).blob, program.blob, name);
  }
}

Deno.test("Program: every own raw program autodetects as a raw blob", () => {
  assertAutodetectedRaw(ownRawPrograms());
});

sharedTest("Program: every vector program autodetects as a raw blob", () => {
  assertAutodetectedRaw(vectorPrograms());
});

Deno.test("Program: own standard programs autodetect as standard programs", () => {
  for (const name of OWN_PROGRAMS) {
    const program = Program.parse(ownProgram(name));
    assert.equal(program.container, "standard", name);
    assert.ok(program.instructionCount > 5, name);
    // Jump-table entries made by the assembler (`&label`) are block starts.
    assert.equal(program.describe().jumpTableEntriesNotBlockStarts, 0, name);
  }
  assert.ok(Program.parse(ownProgram("crc32")).blob.jumpTable.length > 0);
});

sharedTest("Program: bench programs autodetect as standard programs", () => {
  for (const name of BENCH_PROGRAMS) {
    const program = Program.parse(benchProgram(name));
    assert.equal(program.container, "standard", name);
    assert.equal(program.memory?.stackSize, 65536, name);
    assert.ok(program.instructionCount > 100, name);
    assert.ok(program.basicBlockCount > 10, name);
    // Every jump-table entry of the real programs is a block start.
    assert.equal(program.describe().jumpTableEntriesNotBlockStarts, 0, name);
  }
});

Deno.test("Program: service code autodetects and decodes JIP-6 metadata", () => {
  const info = { name: "sort", version: "0.1.0", licence: "MIT", authors: ["pvmbox"] };
  for (const name of OWN_PROGRAMS) {
    const bytes = encodeServiceCode(encodeServiceMetadata(info), ownProgram(name));
    const program = Program.parse(bytes);
    assert.equal(program.container, "service", name);
    assert.deepEqual(program.metadataInfo, info);
    assert.deepEqual(program.describe().metadata, info);
  }
  // Free-form metadata keeps its bytes and has no decoded view.
  const opaque = Program.parse(encodeServiceCode(Uint8Array.of(0xde, 0xad), ownProgram("sort")));
  assert.equal(opaque.container, "service");
  assert.deepEqual([...opaque.metadata!], [0xde, 0xad]);
  assert.equal(opaque.metadataInfo, undefined);
  assert.deepEqual(opaque.describe().metadata, { hex: "dead" });
});

Deno.test("Program: a named container that does not fit is a ProgramError", () => {
  const raw = ADD_32;
  for (const container of ["standard", "service", "polkavm"] as ContainerKind[]) {
    assert.throws(() => Program.parse(raw, { container }), ProgramError, container);
  }
  assert.throws(() => Program.parse(ownProgram("sort"), { container: "raw" }), ProgramError);
});

Deno.test("Program: when nothing parses, the error names every container and reason", () => {
  assert.throws(() => Program.parse(Uint8Array.of(1, 2, 3)), (e: unknown) => {
    assert.ok(e instanceof ProgramError);
    for (const word of ["as service", "as standard", "as raw", "as .polkavm"]) {
      assert.ok(e.reason.includes(word), `${word} missing from: ${e.reason}`);
    }
    return true;
  });
  assert.throws(() => Program.parse(new Uint8Array(0)), ProgramError);
});

Deno.test("Program: a cut-off program is reported as truncated at its last byte", () => {
  const whole = ownProgram("sort");
  for (const length of [20, 60, whole.length - 1]) {
    assert.throws(() => Program.parse(whole.subarray(0, length)), (e: unknown) => {
      assert.ok(e instanceof ProgramError);
      assert.equal(e.offset, length);
      assert.equal(e.inputEnd, length);
      assert.match(e.reason, new RegExp(`^truncated at byte ${length}: as standard: `));
      return true;
    });
  }
  // Twenty zero bytes: every container reads to its end, with bytes to spare, so no truncation.
  assert.throws(() => Program.parse(new Uint8Array(20)), (e: unknown) => {
    assert.ok(e instanceof ProgramError);
    assert.match(e.reason, /^not a PVM program in any known container; /);
    return true;
  });
});

Deno.test("Program: unknown ISA names are rejected", () => {
  const raw = ADD_32;
  assert.equal(Program.parse(raw, { isa: "jam-0.7" }).isa.name, "jam-0.7");
  // deno-lint-ignore no-explicit-any
  assert.throws(() => Program.parse(raw, { isa: "jam-9" as any }), RangeError);
});

Deno.test("Program: decoded code is computed once and matches the blob", () => {
  const program = Program.parse(ownProgram("sort"));
  const decoded = program.decoded;
  assert.equal(program.decoded, decoded);
  let marked = 0;
  for (let pc = 0; pc < program.blob.code.length; pc++) {
    marked += (program.blob.bitmask[pc >> 3] >> (pc & 7)) & 1;
  }
  assert.equal(program.instructionCount, marked);
  assert.ok(program.isBlockStart(0));
  assert.ok(!program.isBlockStart(program.blob.code.length));
  assert.ok(!program.isBlockStart(-1));
});

Deno.test("Program: jump-table entries that are no block start stay valid (run-time panics)", () => {
  // code: trap, fallthrough, trap; entries 1 (after trap: a block start), 2 (after fallthrough:
  // a block start), 7 (past the end) and 0.
  const code = Uint8Array.of(0, 1, 0, 0);
  const blob = encodeBlob({ jumpTable: [1, 2, 7, 0], code, bitmask: Uint8Array.of(0b0111) });
  const program = Program.parse(blob);
  assert.equal(program.describe().jumpTableEntriesNotBlockStarts, 1);
});

Deno.test("Program.fromParts: builds raw and standard programs", () => {
  const blob = parseBlob(ADD_32);
  assert.equal(Program.fromParts({ blob }).container, "raw");
  const memory = {
    roData: new Uint8Array(1),
    rwData: new Uint8Array(0),
    heapPages: 0,
    stackSize: 4096,
  };
  const standard = Program.fromParts({ blob, memory });
  assert.equal(standard.container, "standard");
  assert.equal(standard.instructionCount, 1);
  assert.deepEqual(standard.describe().memory, {
    roDataBytes: 1,
    rwDataBytes: 0,
    heapPages: 0,
    stackBytes: 4096,
  });
});

Deno.test("Program: the same code in every container gives the same blob", () => {
  const standard = ownProgram("crc32");
  const base = Program.parse(standard);
  const raw = encodeBlob(base.blob);
  const service = encodeServiceCode(new Uint8Array(0), standard);
  const polkavm = encodePolkaVm({ version: 0, blob: base.blob, stackSize: 65536 });
  const encodings: [ContainerKind, Uint8Array][] = [
    ["raw", raw],
    ["standard", encodeStandardProgram({ ...base.memory!, blob: base.blob })],
    ["service", service],
    ["polkavm", polkavm],
  ];
  for (const [container, bytes] of encodings) {
    const program = Program.parse(bytes);
    assert.equal(program.container, container);
    assert.deepEqual(program.blob.code, base.blob.code, container);
    assert.deepEqual(program.blob.bitmask, base.blob.bitmask, container);
    assert.deepEqual([...program.blob.jumpTable], [...base.blob.jumpTable], container);
  }
});

Deno.test("Program.parse keeps its own copy of the input", () => {
  const bytes = ADD_32.slice();
  const program = Program.parse(bytes);
  const code = [...program.blob.code];
  bytes.fill(0xee);
  assert.deepEqual([...program.blob.code], code);
});

Deno.test("Program.fromParts rejects inconsistent parts", () => {
  const blob = parseBlob(ADD_32);
  assert.throws(
    () => Program.fromParts({ blob: { ...blob, bitmask: new Uint8Array(0) } }),
    RangeError,
  );
  assert.throws(() => Program.fromParts({ blob: { ...blob, jumpTableEntrySize: 5 } }), RangeError);
  const memory = {
    roData: new Uint8Array(0),
    rwData: new Uint8Array(0),
    heapPages: -1,
    stackSize: 0,
  };
  assert.throws(() => Program.fromParts({ blob, memory }), RangeError);
});
