import assert from "node:assert/strict";
import { encodeBlob } from "../src/program/blob.ts";
import { ProgramError } from "../src/pvm/mod.ts";
import { encodePolkaVm, parsePolkaVm, type PolkaVmParts } from "../src/program/polkavm.ts";
import { Program } from "../src/program/program.ts";
import { parseStandardProgram } from "../src/program/standard.ts";
import { concatBytes } from "../src/program/blob.ts";
import { encodeVarU64 } from "../src/program/varint.ts";
import { ownProgram } from "./own_programs.ts";

function assertProgramError(fn: () => unknown, pattern: RegExp, offset?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProgramError, `expected ProgramError, got ${e}`);
    assert.match(e.reason, pattern);
    if (offset !== undefined) assert.equal(e.offset, offset, e.reason);
    return true;
  });
}

const sort = parseStandardProgram(ownProgram("sort"));

function parts(overrides: Partial<PolkaVmParts> = {}): PolkaVmParts {
  return {
    version: 3,
    roData: Uint8Array.of(1, 2, 3),
    roDataSize: 5000,
    rwData: Uint8Array.of(9),
    rwDataSize: 3 * 4096 + 1,
    stackSize: 32768,
    imports: ["gas", "log", ""],
    exports: [{ name: "refine", pc: 0 }, { name: "accumulate", pc: 5 }],
    blob: sort.blob,
    ...overrides,
  };
}

/** Rewrites the total-length field after a test edits the bytes. */
function fixLength(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(5, BigInt(bytes.length), true);
  return bytes;
}

Deno.test(".polkavm: versions 0, 2 and 3 parse with every section", () => {
  for (const version of [0, 2, 3]) {
    const bytes = encodePolkaVm(parts({ version }));
    const p = parsePolkaVm(bytes);
    assert.equal(p.version, version);
    assert.equal(p.isa, ["ReviveV1", "Latest32", "Latest64", "JamV1"][version]);
    assert.equal(p.roDataSize, 5000);
    assert.equal(p.rwDataSize, 3 * 4096 + 1);
    assert.equal(p.stackSize, 32768);
    assert.deepEqual([...p.roData], [1, 2, 3]);
    assert.deepEqual([...p.rwData], [9]);
    assert.deepEqual(p.imports, ["gas", "log", ""]);
    assert.deepEqual(p.exports, [{ name: "refine", pc: 0 }, { name: "accumulate", pc: 5 }]);
    assert.deepEqual(p.blob.code, sort.blob.code);
    assert.deepEqual(p.blob.bitmask, sort.blob.bitmask);
    assert.deepEqual([...p.blob.jumpTable], [...sort.blob.jumpTable]);
  }
});

Deno.test(".polkavm: maps to a Program with JAM memory sizes and exports", () => {
  const program = Program.parse(encodePolkaVm(parts()));
  assert.equal(program.container, "polkavm");
  assert.equal(program.polkavmIsa, "JamV1");
  assert.equal(program.isa.name, "jam-0.8"); // JamV1 is Gray Paper 0.8's ISA
  assert.deepEqual(program.exports, [{ name: "refine", pc: 0 }, { name: "accumulate", pc: 5 }]);
  assert.deepEqual(program.imports, ["gas", "log", ""]);
  const memory = program.memory!;
  // Read-only data is zero-padded to its declared size.
  assert.equal(memory.roData.length, 5000);
  assert.deepEqual([...memory.roData.subarray(0, 4)], [1, 2, 3, 0]);
  // rw size 3 pages + 1 byte = 4 pages; the data fills 1 page, so 3 heap pages follow it.
  assert.deepEqual([...memory.rwData], [9]);
  assert.equal(memory.heapPages, 3);
  assert.equal(memory.stackSize, 32768);
  assert.equal(program.instructionCount, Program.parse(ownProgram("sort")).instructionCount);
});

Deno.test(".polkavm: minimal file with only code", () => {
  const blob = encodeBlob({ jumpTable: [], code: Uint8Array.of(0), bitmask: Uint8Array.of(1) });
  const p = parsePolkaVm(encodePolkaVm({ version: 0, blob }));
  assert.equal(p.roDataSize + p.rwDataSize + p.stackSize, 0);
  assert.deepEqual(p.imports, []);
  assert.deepEqual(p.exports, []);
  assert.deepEqual([...p.blob.code], [0]);
});

Deno.test(".polkavm: debug sections and unknown optional sections are skipped", () => {
  const bytes = encodePolkaVm(parts({
    extraSections: [
      { id: 128, payload: Uint8Array.of(1, 2, 3) },
      { id: 129, payload: Uint8Array.of(1) },
      { id: 130, payload: new Uint8Array(24) },
      { id: 131, payload: new Uint8Array(32) },
      { id: 0xfe, payload: new Uint8Array(200) },
    ],
  }));
  const p = parsePolkaVm(bytes);
  assert.deepEqual(p.skippedSections, [128, 129, 130, 131, 0xfe]);
  assert.deepEqual(p.blob.code, sort.blob.code);
});

Deno.test(".polkavm: version 1 (32-bit) and unknown versions are rejected clearly", () => {
  assertProgramError(() => parsePolkaVm(encodePolkaVm(parts({ version: 1 }))), /32-bit/, 4);
  assertProgramError(() => parsePolkaVm(encodePolkaVm(parts({ version: 4 }))), /version 4/, 4);
  assertProgramError(() => Program.parse(encodePolkaVm(parts({ version: 1 }))), /Latest32/);
});

Deno.test(".polkavm: an unknown required section is rejected", () => {
  const bytes = encodePolkaVm(parts({ extraSections: [] }));
  // Insert section 7 (bit 7 clear, unknown) right before the end marker.
  const withUnknown = fixLength(
    concatBytes([bytes.subarray(0, bytes.length - 1), Uint8Array.of(7, 1, 0, 0)]),
  );
  assertProgramError(
    () => parsePolkaVm(withUnknown),
    /unknown required section 7/,
    bytes.length - 1,
  );
});

Deno.test(".polkavm: header, order and consistency errors", () => {
  const good = encodePolkaVm(parts());
  // Wrong magic.
  const badMagic = good.slice();
  badMagic[0] = 0x51;
  assertProgramError(() => parsePolkaVm(badMagic), /magic/, 0);
  // Length field disagrees with the file.
  assertProgramError(() => parsePolkaVm(concatBytes([good, Uint8Array.of(0)])), /header says/, 5);
  // Bytes after the end marker (with a consistent length field).
  const trailing = fixLength(concatBytes([good, Uint8Array.of(0)]));
  assertProgramError(() => parsePolkaVm(trailing), /trailing/, good.length);
  // No code section.
  const onlyMemory = fixLength(
    concatBytes([good.subarray(0, 13), Uint8Array.of(1, 3, 0, 0, 0, 0)]),
  );
  assertProgramError(() => parsePolkaVm(onlyMemory), /no code section/);
  // Sections out of order: rw data (3) before ro data (2).
  const reordered = fixLength(concatBytes([
    good.subarray(0, 13),
    Uint8Array.of(1, 3, 4, 4, 0),
    Uint8Array.of(3, 1, 9),
    Uint8Array.of(2, 1, 1),
    Uint8Array.of(6, 4, 0, 0, 1, 0),
    Uint8Array.of(0),
  ]));
  assertProgramError(() => parsePolkaVm(reordered), /out of order/, 13 + 5 + 3);
  // Data longer than its declared size.
  const tooMuchRo = encodePolkaVm(parts({ roDataSize: 2 }));
  // The ro section follows the header (13 bytes) and the memory section (id, length, 3 sizes).
  const sizes = [2, 3 * 4096 + 1, 32768].map((v) => encodeVarU64(v).length);
  const roAt = 13 + 2 + sizes[0] + sizes[1] + sizes[2];
  assertProgramError(() => parsePolkaVm(tooMuchRo), /more than its declared size 2/, roAt);
  // Sizes beyond what the JAM layout holds.
  assertProgramError(
    () => parsePolkaVm(encodePolkaVm(parts({ stackSize: 2 ** 24 }))),
    /stack size is 16777216/,
  );
  // A varint wider than 32 bits.
  const wide = fixLength(concatBytes([
    good.subarray(0, 13),
    Uint8Array.of(1, 9),
    encodeVarU64(1n << 40n),
    Uint8Array.of(0, 0, 0),
  ]));
  assertProgramError(() => parsePolkaVm(wide), /more than 32 bits/, 15);
  // Memory configuration with extra bytes.
  const extra = fixLength(concatBytes([
    good.subarray(0, 13),
    Uint8Array.of(1, 4, 0, 0, 0, 0),
    Uint8Array.of(6, 4, 0, 0, 1, 0, 1),
    Uint8Array.of(0),
  ]));
  assertProgramError(() => parsePolkaVm(extra), /trailing/, 13 + 5);
});

Deno.test(".polkavm: bitmask padding, imports and exports are validated", () => {
  const blob = encodeBlob({ jumpTable: [], code: Uint8Array.of(0), bitmask: Uint8Array.of(3) });
  assertProgramError(() => parsePolkaVm(encodePolkaVm({ blob })), /past the end of the code/);
  // Import offsets that leave the symbol bytes.
  const header = new Uint8Array(13);
  const imports = Uint8Array.of(4, 9, 2, 0, 0, 0, 0, 9, 0, 0, 0, 0x61);
  const code = Uint8Array.of(6, 4, 0, 0, 1, 0, 1);
  const badImports = fixLength(concatBytes([header, imports, code, Uint8Array.of(0)]));
  badImports.set([0x50, 0x56, 0x4d, 0, 0]);
  assertProgramError(() => parsePolkaVm(badImports), /import 0 spans/);
  // Too many imports.
  const many = fixLength(
    concatBytes([header, Uint8Array.of(4, 3, ...encodeVarU64(2000)), code, Uint8Array.of(0)]),
  );
  many.set([0x50, 0x56, 0x4d, 0, 0]);
  assertProgramError(() => parsePolkaVm(many), /2000 imports/);
  // An export count larger than the section can hold.
  const exports = fixLength(
    concatBytes([header, Uint8Array.of(5, 2, 0x7f, 0), code, Uint8Array.of(0)]),
  );
  exports.set([0x50, 0x56, 0x4d, 0, 0]);
  assertProgramError(() => parsePolkaVm(exports), /export count is 127/);
});
