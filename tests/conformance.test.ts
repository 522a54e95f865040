import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseJson } from "../src/conformance/json.ts";
import { runVector, runVectorDirectory } from "../src/conformance/runner.ts";
import type { DifferenceKind } from "../src/conformance/state.ts";
import { parseVector, type PvmVector } from "../src/conformance/vector.ts";
import { forEachBackend } from "./backends.ts";
import { NEEDS_SHARED, vectorDir } from "./fixtures.ts";

forEachBackend(
  "conformance: every official jam-0.7.2 vector passes through the runner",
  async (backend) => {
    const suite = await runVectorDirectory(fileURLToPath(vectorDir()), { backend });
    const failures = suite.results.filter((r) => r.difference !== undefined)
      .map((r) => `${r.name}: ${r.difference!.message}`);
    assert.deepEqual(failures, []);
    assert.equal(suite.passed, 251);
  },
  { ignore: NEEDS_SHARED },
);

Deno.test("json: integers beyond 2^53 stay exact, small ones are numbers", () => {
  const value = parseJson('{"r": [18446744073709551615, 9007199254740993, 7, -2, 1.5]}');
  assert.deepEqual(value, { r: [18446744073709551615n, 9007199254740993n, 7, -2, 1.5] });
});

Deno.test("json: malformed input is rejected with an offset", () => {
  for (const bad of ["[1,]", '{"a" 1}', "01", '"\\x"', "[1] 2", "", "tru"]) {
    assert.throws(() => parseJson(bad), SyntaxError, bad);
  }
  assert.deepEqual(parseJson(' {"s": "a\\u00e9\\n", "t": [true, false, null]} '), {
    s: "aé\n",
    t: [true, false, null],
  });
});

Deno.test("json: a __proto__ key is an ordinary key", () => {
  const value = parseJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ["__proto__"]);
  assert.equal((value as { polluted?: number }).polluted, undefined);
});

Deno.test("vector: bad fields name the field", () => {
  const text = JSON.stringify({ ...addVectorJson(), "initial-regs": [1, 2] });
  assert.throws(() => parseVector(text, "x.json"), /x\.json: initial-regs must hold 13/);
  const status = JSON.stringify({ ...addVectorJson(), "expected-status": "explode" });
  assert.throws(() => parseVector(status, "y.json"), /expected-status/);
});

function addVectorJson(): Record<string, unknown> {
  return {
    name: "add_32",
    "initial-regs": [0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0],
    "initial-pc": 0,
    "initial-page-map": [],
    "initial-memory": [],
    "initial-gas": 10000,
    program: [0, 0, 3, 190, 135, 9, 1],
    "expected-status": "panic",
    "expected-regs": [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0],
    "expected-pc": 3,
    "expected-memory": [],
    "expected-gas": 9998,
  };
}

// store_imm_indirect_u16 [φ7 + 1] = 0x1234, on one writable page at 0x20000.
const STORE_JSON = `{"name": "store_u16", "initial-regs": [0, 0, 0, 0, 0, 0, 0, 134910, 0, 0, 0, 0,
  18446744073709551615], "initial-pc": 0, "initial-page-map": [{"address": 131072, "length": 4096,
  "is-writable": true}], "initial-memory": [], "initial-gas": 10000,
  "program": [0, 0, 6, 71, 39, 0, 1, 52, 18, 1], "expected-status": "panic", "expected-regs":
  [0, 0, 0, 0, 0, 0, 0, 134910, 0, 0, 0, 0, 18446744073709551615], "expected-pc": 6,
  "expected-memory": [{"address": 135166, "contents": [52, 18]}], "expected-gas": 9998}`;

// The same store one byte further: it crosses into the unmapped page 0x21000.
const FAULT_JSON = `{"name": "store_u16_fault", "initial-regs": [0, 0, 0, 0, 0, 0, 0, 135166, 0, 0,
  0, 0, 0], "initial-pc": 0, "initial-page-map": [{"address": 131072, "length": 4096,
  "is-writable": true}], "initial-memory": [], "initial-gas": 10000,
  "program": [0, 0, 5, 71, 23, 1, 52, 18, 1], "expected-status": "page-fault", "expected-regs":
  [0, 0, 0, 0, 0, 0, 0, 135166, 0, 0, 0, 0, 0], "expected-pc": 0, "expected-memory": [],
  "expected-gas": 9998, "expected-page-fault-address": 135168}`;

function expectDifference(vector: PvmVector, kind: DifferenceKind, message: RegExp): void {
  const { difference } = runVector(vector);
  assert.equal(difference?.kind, kind, difference?.message);
  assert.match(difference!.message, message);
}

Deno.test("runner: unaltered vectors pass, including a register of 2^64 − 1", () => {
  for (const text of [JSON.stringify(addVectorJson()), STORE_JSON, FAULT_JSON]) {
    const vector = parseVector(text);
    assert.equal(runVector(vector).difference, undefined, vector.name);
  }
  assert.equal(parseVector(STORE_JSON).initialRegs[12], 2n ** 64n - 1n);
});

Deno.test("runner: detects each kind of difference", () => {
  const add = parseVector(JSON.stringify(addVectorJson()));
  const store = parseVector(STORE_JSON);
  const fault = parseVector(FAULT_JSON);
  expectDifference(
    { ...add, expectedStatus: "halt" },
    "status",
    /expected halt \(pc 3\), got panic \(pc 3\)/,
  );
  expectDifference({ ...add, expectedPc: 4 }, "pc", /pc: expected 4, got 3/);
  const regs = [...add.expectedRegs];
  regs[9] = 4n;
  expectDifference({ ...add, expectedRegs: regs }, "register", /φ9: expected 4 .*got 3/);
  const wide = [...store.expectedRegs];
  wide[12] = 2n ** 64n - 2n;
  expectDifference(
    { ...store, expectedRegs: wide },
    "register",
    /φ12: expected 18446744073709551614 .*got 18446744073709551615/,
  );
  expectDifference({ ...add, expectedGas: 9997n }, "gas", /gas: expected 9997, got 9998/);
  expectDifference(
    { ...store, expectedMemory: [{ address: 135166, contents: Uint8Array.of(52, 19) }] },
    "memory",
    /memory\[0x20fff\]: expected 0x13, got 0x12/,
  );
  expectDifference(
    { ...store, expectedMemory: [] },
    "memory",
    /memory\[0x20ffe\]: expected 0x0, got 0x34/,
  );
  expectDifference(
    {
      ...store,
      expectedMemory: [...store.expectedMemory, { address: 0x30000, contents: Uint8Array.of(1) }],
    },
    "memory",
    /memory\[0x30000\]: expected 0x1, but the page is not readable/,
  );
  expectDifference(
    { ...fault, expectedPageFaultAddress: 0x20000 },
    "page-fault-address",
    /expected 0x20000, got 0x21000/,
  );
  expectDifference(
    { ...fault, expectedStatus: "panic" },
    "status",
    /expected panic \(pc 0\), got page-fault at 0x21000 \(pc 0\)/,
  );
});

Deno.test("runner: a program that does not parse is a failure, not a crash", () => {
  const add = parseVector(JSON.stringify(addVectorJson()));
  expectDifference({ ...add, program: Uint8Array.of(0, 9) }, "error", /ProgramError/);
});
