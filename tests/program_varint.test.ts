import assert from "node:assert/strict";
import { ProgramError } from "../src/pvm/mod.ts";
import {
  decodeFixed,
  decodeFixedBig,
  decodeVarU64,
  encodeFixed,
  encodeVarU64,
  MAX_U64,
  varU64Length,
} from "../src/program/varint.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("E: known encodings at every length boundary", () => {
  const cases: [bigint, string][] = [
    [0n, "00"],
    [1n, "01"],
    [127n, "7f"],
    [128n, "8080"],
    [255n, "80ff"],
    [(1n << 14n) - 1n, "bfff"],
    [1n << 14n, "c00040"],
    [(1n << 21n) - 1n, "dfffff"],
    [1n << 21n, "e0000020"],
    [(1n << 28n) - 1n, "efffffff"],
    [1n << 28n, "f000000010"],
    [0xffffffffn, "f0ffffffff"],
    [1n << 32n, "f100000000"],
    [(1n << 35n) - 1n, "f7ffffffff"],
    [1n << 35n, "f80000000008"],
    [(1n << 42n) - 1n, "fbffffffffff"],
    [1n << 42n, "fc000000000004"],
    [(1n << 49n) - 1n, "fdffffffffffff"],
    [1n << 49n, "fe00000000000002"],
    [(1n << 56n) - 1n, "feffffffffffffff"],
    [1n << 56n, "ff0000000000000001"],
    [MAX_U64, "ffffffffffffffffff"],
  ];
  for (const [value, expected] of cases) {
    const encoded = encodeVarU64(value);
    assert.equal(hex(encoded), expected, `E(${value})`);
    assert.equal(varU64Length(value), encoded.length);
    assert.deepEqual(decodeVarU64(encoded, 0), { value, length: encoded.length });
  }
});

Deno.test("E: numbers and bigints encode alike; out-of-range values are rejected", () => {
  assert.deepEqual(encodeVarU64(300), encodeVarU64(300n));
  assert.throws(() => encodeVarU64(-1), RangeError);
  assert.throws(() => encodeVarU64(MAX_U64 + 1n), RangeError);
  assert.throws(() => encodeVarU64(1.5), RangeError);
  assert.throws(() => encodeVarU64(2 ** 60), RangeError);
});

Deno.test("E: round trip over random values of every magnitude", () => {
  let seed = 12345n;
  const next = () => {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) & MAX_U64;
    return seed;
  };
  for (let i = 0; i < 2000; i++) {
    const value = next() >> BigInt(i % 64);
    const encoded = encodeVarU64(value);
    const padded = new Uint8Array([0xaa, ...encoded, 0x55]);
    assert.deepEqual(decodeVarU64(padded, 1), { value, length: encoded.length });
  }
});

Deno.test("E: decoding at an offset and accepting non-canonical forms", () => {
  assert.deepEqual(decodeVarU64(Uint8Array.of(9, 9, 0x80, 0x05), 2), { value: 5n, length: 2 });
  // 0 written in the two-byte form: still unambiguous, so it decodes.
  assert.deepEqual(decodeVarU64(Uint8Array.of(0x80, 0x00), 0), { value: 0n, length: 2 });
});

Deno.test("E: truncation is a ProgramError at the number's offset", () => {
  for (const bytes of [[], [0x80], [0xc0, 1], [0xff, 1, 2, 3, 4, 5, 6, 7]]) {
    const input = new Uint8Array([7, ...bytes]);
    assert.throws(() => decodeVarU64(input, 1), (e: unknown) => {
      assert.ok(e instanceof ProgramError);
      assert.equal(e.offset, 1);
      return true;
    });
  }
});

Deno.test("E_n: fixed-width little-endian", () => {
  assert.equal(hex(encodeFixed(0x123456, 3)), "563412");
  assert.equal(hex(encodeFixed(0, 0)), "");
  assert.equal(hex(encodeFixed(MAX_U64, 8)), "ffffffffffffffff");
  assert.throws(() => encodeFixed(0x10000, 2), RangeError);
  assert.equal(decodeFixed(Uint8Array.of(0x56, 0x34, 0x12), 0, 3), 0x123456);
  assert.equal(decodeFixed(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 4), 0xffffffff);
  assert.equal(decodeFixedBig(encodeFixed(0x0102030405060708n, 8), 0, 8), 0x0102030405060708n);
});
