import assert from "node:assert/strict";
import { encodeBlob, jumpTableEntrySizeFor, parseBlob } from "../src/program/blob.ts";
import { ProgramError } from "../src/pvm/mod.ts";
import {
  decodeServiceMetadata,
  encodeServiceCode,
  encodeServiceMetadata,
  parseServiceCode,
} from "../src/program/service.ts";
import { encodeStandardProgram, parseStandardProgram } from "../src/program/standard.ts";
import { encodeVarU64 } from "../src/program/varint.ts";
import { BENCH_PROGRAMS, benchProgram, sharedTest, vectorPrograms } from "./fixtures.ts";
import { OWN_PROGRAMS, ownProgram, ownRawPrograms } from "./own_programs.ts";

/** Asserts that `fn` throws a ProgramError at `offset` whose reason matches `pattern`. */
function assertProgramError(fn: () => unknown, offset: number, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProgramError, `expected ProgramError, got ${e}`);
    assert.equal(e.offset, offset, `offset of: ${e.reason}`);
    assert.match(e.reason, pattern);
    return true;
  });
}

Deno.test("raw blob: the PVM.md example decodes field by field", () => {
  const blob = parseBlob(Uint8Array.of(0, 0, 3, 190, 135, 9, 1));
  assert.deepEqual([...blob.jumpTable], []);
  assert.equal(blob.jumpTableEntrySize, 0);
  assert.deepEqual([...blob.code], [190, 135, 9]);
  assert.deepEqual([...blob.bitmask], [1]);
});

Deno.test("raw blob: jump tables of each entry size round-trip", () => {
  const code = new Uint8Array(20).fill(1);
  const bitmask = Uint8Array.of(0xff, 0xff, 0x0f);
  const tables: [number[], number][] = [
    [[], 0],
    [[0, 0], 0],
    [[1, 255], 1],
    [[256, 3], 2],
    [[0x10000], 3],
    [[0xffffffff, 7], 4],
  ];
  for (const [table, size] of tables) {
    assert.equal(jumpTableEntrySizeFor(table), size);
    const bytes = encodeBlob({ jumpTable: table, code, bitmask });
    const blob = parseBlob(bytes);
    assert.deepEqual([...blob.jumpTable], table);
    assert.equal(blob.jumpTableEntrySize, size);
    assert.deepEqual(blob.code, code);
    assert.deepEqual(blob.bitmask, bitmask);
    assert.deepEqual(encodeBlob(blob), bytes);
  }
  // A wider entry size than needed is kept when asked for.
  const wide = parseBlob(encodeBlob({ jumpTable: [5], code, bitmask, jumpTableEntrySize: 4 }));
  assert.equal(wide.jumpTableEntrySize, 4);
  assert.deepEqual([...wide.jumpTable], [5]);
});

Deno.test("raw blob: encoder rejects inconsistent parts", () => {
  const code = Uint8Array.of(0, 0, 0);
  assert.throws(() => encodeBlob({ jumpTable: [], code, bitmask: new Uint8Array(0) }), RangeError);
  assert.throws(
    () => encodeBlob({ jumpTable: [300], code, bitmask: Uint8Array.of(1), jumpTableEntrySize: 1 }),
    RangeError,
  );
  assert.throws(() => encodeBlob({ jumpTable: [-1], code, bitmask: Uint8Array.of(1) }), RangeError);
});

Deno.test("raw blob: every malformation is a ProgramError with offset and reason", () => {
  // z = 5 after a one-byte count.
  assertProgramError(() => parseBlob(Uint8Array.of(0, 5, 0)), 1, /entry size is 5/);
  // Jump table runs past the end.
  assertProgramError(() => parseBlob(Uint8Array.of(3, 2, 0, 1, 0)), 0, /needs 6 bytes/);
  // Code runs past the end.
  assertProgramError(() => parseBlob(Uint8Array.of(0, 0, 9, 1, 2)), 2, /code length is 9/);
  // Bitmask too short (9 code bytes need 2 bitmask bytes).
  assertProgramError(
    () => parseBlob(Uint8Array.of(0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1)),
    12,
    /bitmask for 9 code bytes needs 2 bytes but only 1/,
  );
  // Trailing bytes after the bitmask.
  assertProgramError(() => parseBlob(Uint8Array.of(0, 0, 1, 0, 1, 0xee)), 5, /trailing/);
  // Absurd counts are rejected before anything is allocated.
  const huge = encodeVarU64((1n << 64n) - 1n);
  assertProgramError(() => parseBlob(Uint8Array.of(...huge, 0, 0)), 0, /more than the limit/);
  assertProgramError(() => parseBlob(Uint8Array.of(0, 0, ...huge)), 2, /code length/);
  // 0-byte entries cost no input, so their count has its own bound.
  assertProgramError(
    () => parseBlob(Uint8Array.of(...encodeVarU64(70000), 0, 0)),
    0,
    /0 bytes, more than the limit 65536/,
  );
  // Entry size 0 with a reasonable count: every entry is pc 0, as the Gray Paper's E_0 reads.
  assert.deepEqual([...parseBlob(Uint8Array.of(3, 0, 1, 0, 1)).jumpTable], [0, 0, 0]);
  // baseOffset shifts the reported offsets.
  assertProgramError(() => parseBlob(Uint8Array.of(0, 5, 0), 100), 101, /entry size/);
});

Deno.test("raw blob: every truncation of a real blob is rejected", () => {
  const bytes = encodeBlob({
    jumpTable: [2, 4],
    code: Uint8Array.of(1, 1, 1, 1, 0, 0, 0, 0, 0),
    bitmask: Uint8Array.of(0xff, 0x01),
  });
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => parseBlob(bytes.subarray(0, n)), ProgramError, `prefix of ${n} bytes`);
  }
});

/** Each raw blob parses and re-encodes to the same bytes. */
function assertBlobsReencode(programs: Map<string, Uint8Array>): void {
  for (const [name, bytes] of programs) {
    assert.deepEqual(encodeBlob(parseBlob(bytes)), bytes, name);
  }
}

Deno.test("raw blob: every own raw program parses and re-encodes to the same bytes", () => {
  assertBlobsReencode(ownRawPrograms());
});

sharedTest("raw blob: every vector program parses and re-encodes to the same bytes", () => {
  const programs = vectorPrograms();
  assert.ok(programs.size >= 250, `found ${programs.size} vectors`);
  assertBlobsReencode(programs);
});

Deno.test("standard program: own programs parse and re-encode to the same bytes", () => {
  for (const name of OWN_PROGRAMS) {
    const bytes = ownProgram(name);
    const p = parseStandardProgram(bytes);
    assert.ok(p.blob.code.length > 0, name);
    assert.deepEqual(encodeStandardProgram(p), bytes, name);
  }
});

sharedTest("standard program: bench programs parse and re-encode to the same bytes", () => {
  for (const name of BENCH_PROGRAMS) {
    const bytes = benchProgram(name);
    const p = parseStandardProgram(bytes);
    assert.ok(p.blob.code.length > 300, name);
    assert.equal(p.stackSize, 65536, name);
    assert.ok(p.heapPages > 0, name);
    assert.deepEqual(encodeStandardProgram(p), bytes, name);
  }
});

Deno.test("standard program: fields round-trip and errors point into the right place", () => {
  const blob = encodeBlob({ jumpTable: [0], code: Uint8Array.of(0), bitmask: Uint8Array.of(1) });
  const bytes = encodeStandardProgram({
    roData: Uint8Array.of(1, 2, 3),
    rwData: Uint8Array.of(4, 5),
    heapPages: 513,
    stackSize: 0x12345,
    blob,
  });
  const p = parseStandardProgram(bytes);
  assert.deepEqual([...p.roData], [1, 2, 3]);
  assert.deepEqual([...p.rwData], [4, 5]);
  assert.equal(p.heapPages, 513);
  assert.equal(p.stackSize, 0x12345);
  assert.deepEqual([...p.blob.jumpTable], [0]);

  const blobStart = 11 + 3 + 2 + 4;
  // A bad entry size inside the blob is reported at its absolute offset.
  const badZ = bytes.slice();
  badZ[blobStart + 1] = 9;
  assertProgramError(() => parseStandardProgram(badZ), blobStart + 1, /entry size is 9/);
  // The blob length must match what follows exactly.
  const longer = new Uint8Array([...bytes, 0]);
  assertProgramError(() => parseStandardProgram(longer), blobStart - 4, /1 bytes follow|follow it/);
  // Data lengths past the end.
  const badRo = bytes.slice();
  badRo[2] = 0xff;
  assertProgramError(() => parseStandardProgram(badRo), 11, /read-only data needs/);
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => parseStandardProgram(bytes.subarray(0, n)), ProgramError);
  }
  assert.throws(() => encodeStandardProgram({ ...p, heapPages: 70000 }), RangeError);
});

Deno.test("service code: JIP-6 metadata and the standard program after it", () => {
  const info = { name: "fib", version: "1.2.3", licence: "Apache-2.0", authors: ["A", "Bö"] };
  const metadata = encodeServiceMetadata(info);
  assert.deepEqual(decodeServiceMetadata(metadata), info);
  const program = ownProgram("sort");
  const bytes = encodeServiceCode(metadata, program);
  const parsed = parseServiceCode(bytes);
  assert.deepEqual(parsed.metadata, metadata);
  assert.deepEqual(encodeStandardProgram(parsed.program), program);

  // Metadata length past the end.
  assertProgramError(() => parseServiceCode(Uint8Array.of(0x20, 1, 2)), 0, /metadata length/);
  // Errors inside the standard program are offset by the metadata prefix.
  const broken = bytes.slice(0, bytes.length - 1);
  assert.throws(() => parseServiceCode(broken), (e: unknown) => {
    assert.ok(e instanceof ProgramError);
    // The blob's length field (4 bytes before the blob) disagrees with what follows it.
    const blobLengthAt = 1 + metadata.length + 11;
    assert.equal(e.offset, blobLengthAt, e.reason);
    return true;
  });
  // Metadata that is not JIP-6 is reported as such.
  assertProgramError(() => decodeServiceMetadata(Uint8Array.of(7)), 0, /tag is 7/);
  assertProgramError(
    () => decodeServiceMetadata(Uint8Array.of(0, 5, 0x61)),
    1,
    /name length is 5 bytes but only 1/,
  );
  assertProgramError(() => decodeServiceMetadata(Uint8Array.of(0, 1, 0xff)), 2, /UTF-8/);
});
