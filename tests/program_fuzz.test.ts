/**
 * Hostile-input fuzzing of `Program.parse`: random and mutated blobs, in every container, must
 * either parse into a consistent Program or fail with a ProgramError — nothing else.
 *
 * PVMBOX_FUZZ_ITERATIONS (default 20000) sets the number of inputs; PVMBOX_FUZZ_SEED the seed.
 */
import assert from "node:assert/strict";
import { bitmaskLength, concatBytes, encodeBlob, parseBlob } from "../src/program/blob.ts";
import { ProgramError } from "../src/pvm/mod.ts";
import { encodePolkaVm, hasPolkaVmMagic } from "../src/program/polkavm.ts";
import { AUTODETECT_ORDER, type ContainerKind, Program } from "../src/program/program.ts";
import { encodeServiceCode, encodeServiceMetadata } from "../src/program/service.ts";
import { encodeStandardProgram, parseStandardProgram } from "../src/program/standard.ts";
import { encodeVarU64 } from "../src/program/varint.ts";
import { BENCH_PROGRAMS, benchProgram, rng, SHARED_AVAILABLE, vectorPrograms } from "./fixtures.ts";
import { OWN_PROGRAMS, ownProgram, ownRawPrograms } from "./own_programs.ts";

const ITERATIONS = Number(Deno.env.get("PVMBOX_FUZZ_ITERATIONS") ?? 20000);
const SEED = Number(Deno.env.get("PVMBOX_FUZZ_SEED") ?? 0x5eed2026);

/**
 * Valid programs in every container, to be mutated: the project's own programs, and the
 * conformance vectors' and bench programs when `../shared` is available.
 */
function corpus(): Uint8Array[] {
  const raw = [...ownRawPrograms().values()];
  const standard = OWN_PROGRAMS.map(ownProgram);
  if (SHARED_AVAILABLE) {
    raw.push(...vectorPrograms().values());
    standard.push(...BENCH_PROGRAMS.map(benchProgram));
  }
  const out: Uint8Array[] = [...raw];
  const metadata = encodeServiceMetadata({
    name: "fuzz",
    version: "1",
    licence: "MIT",
    authors: ["a", "b"],
  });
  const wrapSome = out.slice(0, 40);
  for (const blob of wrapSome) {
    const wrapped = encodeStandardProgram({
      roData: Uint8Array.of(1, 2),
      rwData: Uint8Array.of(3),
      heapPages: 2,
      stackSize: 4096,
      blob,
    });
    out.push(wrapped, encodeServiceCode(metadata, wrapped));
    out.push(encodePolkaVm({ version: 3, blob: parseBlob(blob), stackSize: 4096 }));
  }
  for (const program of standard) {
    const p = parseStandardProgram(program);
    out.push(program, encodeBlob(p.blob), encodeServiceCode(metadata, program));
    out.push(encodeServiceCode(Uint8Array.of(9, 9, 9), program));
    for (const version of [0, 2, 3]) {
      out.push(encodePolkaVm({
        version,
        roData: Uint8Array.of(1, 2, 3),
        roDataSize: 100,
        rwData: Uint8Array.of(4),
        rwDataSize: 9000,
        stackSize: p.stackSize,
        imports: ["a", "bb"],
        exports: [{ name: "main", pc: 0 }],
        blob: p.blob,
        extraSections: [{ id: 128, payload: Uint8Array.of(1, 2) }],
      }));
    }
  }
  return out;
}

const HUGE_VALUES = [
  0xffn,
  0xffffn,
  0xffffffn,
  0xffffffffn,
  1n << 24n,
  (1n << 32n) + 1n,
  (1n << 53n) + 1n,
  (1n << 64n) - 1n,
];

/** One mutation of `input`, chosen at random. */
function mutate(input: Uint8Array, pick: () => number, others: Uint8Array[]): Uint8Array {
  const int = (n: number) => Math.floor(pick() * n);
  const bytes = input.slice();
  switch (int(9)) {
    case 0: { // bit flips
      const flips = 1 + int(8);
      for (let i = 0; i < flips && bytes.length > 0; i++) bytes[int(bytes.length)] ^= 1 << int(8);
      return bytes;
    }
    case 1: // truncation
      return bytes.subarray(0, int(bytes.length + 1));
    case 2: { // overwrite a length-like field near the start with a huge varint or fixed value
      const at = int(Math.min(bytes.length, 24));
      const value = HUGE_VALUES[int(HUGE_VALUES.length)];
      const encoded = pick() < 0.5
        ? encodeVarU64(value)
        : Uint8Array.from({ length: 1 + int(4) }, (_, k) =>
          Number((value >> BigInt(8 * k)) & 0xffn));
      const out = concatBytes([
        bytes.subarray(0, at),
        encoded,
        bytes.subarray(at + encoded.length),
      ]);
      return out;
    }
    case 3: { // splice two inputs
      const other = others[int(others.length)];
      return concatBytes([
        bytes.subarray(0, int(bytes.length + 1)),
        other.subarray(int(other.length)),
      ]);
    }
    case 4: { // insert random bytes
      const at = int(bytes.length + 1);
      const extra = Uint8Array.from({ length: 1 + int(8) }, () => int(256));
      return concatBytes([bytes.subarray(0, at), extra, bytes.subarray(at)]);
    }
    case 5: { // delete a range
      const at = int(bytes.length + 1);
      return concatBytes([bytes.subarray(0, at), bytes.subarray(at + 1 + int(8))]);
    }
    case 6: // append trailing garbage
      return concatBytes([bytes, Uint8Array.from({ length: 1 + int(4) }, () => int(256))]);
    case 7: { // random bytes, sometimes behind a container's magic
      const random = Uint8Array.from({ length: int(80) }, () => int(256));
      if (pick() < 0.3) random.set([0x50, 0x56, 0x4d, 0, int(5)].slice(0, random.length));
      return random;
    }
    default: { // set random bytes
      const sets = 1 + int(4);
      for (let i = 0; i < sets && bytes.length > 0; i++) bytes[int(bytes.length)] = int(256);
      return bytes;
    }
  }
}

/** The invariants a parsed program must satisfy. */
function checkProgram(program: Program, input: Uint8Array): void {
  const { blob } = program;
  assert.equal(blob.bitmask.length, bitmaskLength(blob.code.length));
  assert.ok(blob.code.length <= input.length);
  assert.ok(blob.jumpTableEntrySize >= 0 && blob.jumpTableEntrySize <= 4);
  // Nothing parsed may hold much more than the input, except the bounded cases: a table of
  // 0-byte entries (≤ 2^16 entries) and .polkavm read-only data padded to its size (< 2^24).
  let held = blob.code.length + blob.bitmask.length + 4 * blob.jumpTable.length;
  if (program.memory !== undefined) {
    held += program.memory.roData.length + program.memory.rwData.length;
  }
  assert.ok(held <= 4 * input.length + 4 * (1 << 16) + (1 << 24), `holds ${held} bytes`);
  if (program.memory !== undefined) {
    const { heapPages, stackSize } = program.memory;
    assert.ok(Number.isInteger(heapPages) && heapPages >= 0);
    assert.ok(Number.isInteger(stackSize) && stackSize >= 0 && stackSize < 2 ** 24);
  }
  // Decoding and summarizing must also cope with whatever parsed.
  const summary = program.describe();
  assert.ok(summary.instructions <= blob.code.length);
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test(`fuzz: Program.parse yields a Program or a ProgramError (${ITERATIONS} inputs)`, () => {
  const pick = rng(SEED);
  const seeds = corpus();
  const modes: (ContainerKind | undefined)[] = [undefined, "raw", "standard", "service", "polkavm"];
  const parsed = new Map<string, number>();
  const rejected = new Map<string, number>();
  let slowest = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    let input = seeds[Math.floor(pick() * seeds.length)];
    // Mostly one mutation, so that many inputs stay close enough to valid to parse.
    const rounds = pick() < 0.7 ? 1 : 2 + Math.floor(pick() * 3);
    for (let k = 0; k < rounds; k++) input = mutate(input, pick, seeds);
    // Most .polkavm mutants would stop at the total-length check; often repair it so the
    // section parser sees them.
    if (input.length >= 13 && input[0] === 0x50 && input[1] === 0x56 && pick() < 0.5) {
      input = input.slice();
      new DataView(input.buffer).setBigUint64(5, BigInt(input.length), true);
    }
    for (const container of modes) {
      const label = container ?? "auto";
      const started = performance.now();
      try {
        const program = Program.parse(input, container === undefined ? {} : { container });
        checkProgram(program, input);
        parsed.set(label, (parsed.get(label) ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof ProgramError)) {
          throw new Error(
            `seed ${SEED}, input ${i}, container ${label}: ${error}\ninput (hex): ${hex(input)}`,
            { cause: error },
          );
        }
        rejected.set(label, (rejected.get(label) ?? 0) + 1);
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
  }
  const rows = modes.map((m) => {
    const label = m ?? "auto";
    return `${label}: ${parsed.get(label) ?? 0} parsed, ${rejected.get(label) ?? 0} rejected`;
  });
  console.log(
    `fuzz seed ${SEED}: ${ITERATIONS} inputs × ${modes.length} containers; ${rows.join("; ")}; ` +
      `slowest single parse ${slowest.toFixed(1)} ms`,
  );
  // Both outcomes must occur, or the mutations are not reaching the parser's checks.
  assert.ok((parsed.get("auto") ?? 0) > ITERATIONS / 20, "too few inputs parsed");
  assert.ok((rejected.get("auto") ?? 0) > ITERATIONS / 20, "too few inputs rejected");
});

Deno.test("fuzz: autodetection picks the first container that parses, or names every failure", () => {
  const pick = rng(SEED ^ 0xa5a5);
  const seeds = corpus();
  const detected = new Map<string, number>();
  for (let i = 0; i < ITERATIONS / 4; i++) {
    let input = seeds[Math.floor(pick() * seeds.length)];
    if (pick() < 0.8) input = mutate(input, pick, seeds);
    if (hasPolkaVmMagic(input)) continue;
    // The answer by definition: each container in order, parsed explicitly.
    const failures: ProgramError[] = [];
    let expected: ContainerKind | undefined;
    for (const container of AUTODETECT_ORDER) {
      try {
        Program.parse(input, { container });
        expected = container;
        break;
      } catch (error) {
        if (!(error instanceof ProgramError)) throw error;
        failures.push(error);
      }
    }
    const context = `seed ${SEED}, input ${i} (hex): ${hex(input)}`;
    if (expected !== undefined) {
      assert.equal(Program.parse(input).container, expected, context);
      detected.set(expected, (detected.get(expected) ?? 0) + 1);
      continue;
    }
    // An attempt that ran out of bytes at the end of the input makes it a truncated input.
    const cutShort = failures.some((f) => f.inputEnd === input.length);
    assert.throws(() => Program.parse(input), (error) => {
      assert.ok(error instanceof ProgramError, context);
      if (cutShort) {
        assert.equal(error.offset, input.length, context);
        assert.ok(error.reason.startsWith(`truncated at byte ${input.length}: as `), context);
      } else {
        assert.equal(error.offset, Math.max(...failures.map((f) => f.offset)), context);
      }
      failures.forEach((f, k) => {
        const attempt = `as ${AUTODETECT_ORDER[k]}: ${f.reason} (at byte ${f.offset})`;
        assert.ok(error.reason.includes(attempt), `${context}\nmissing: ${attempt}`);
      });
      return true;
    });
    const outcome = cutShort ? "truncated" : "none";
    detected.set(outcome, (detected.get(outcome) ?? 0) + 1);
  }
  // Every outcome must occur, or the comparison is not exercising the shortcuts.
  for (const outcome of [...AUTODETECT_ORDER, "truncated", "none"]) {
    assert.ok((detected.get(outcome) ?? 0) > 0, `no input detected as ${outcome}`);
  }
});
