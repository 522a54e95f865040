import assert from "node:assert/strict";
import { cli } from "./cli_helpers.ts";

const VECTOR = {
  name: "add_32",
  "initial-regs": [0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 18446744073709551615n],
  "initial-pc": 0,
  "initial-page-map": [],
  "initial-memory": [],
  "initial-gas": 10000,
  program: [0, 0, 3, 190, 135, 9, 1],
  "expected-status": "panic",
  "expected-regs": [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 18446744073709551615n],
  "expected-pc": 3,
  "expected-memory": [],
  "expected-gas": 9998,
};

/** JSON text with bigints written as bare integers, as the official vectors have them. */
function vectorText(vector: Record<string, unknown>): string {
  return JSON.stringify(vector, (_, v) => typeof v === "bigint" ? `#${v}#` : v)
    .replace(/"#(\d+)#"/g, "$1");
}

async function vectorDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

Deno.test("conformance CLI: a failing vector is named with its first difference; exit 1", async () => {
  const dir = await vectorDir({
    "a_good.json": vectorText(VECTOR),
    "b_bad_gas.json": vectorText({ ...VECTOR, name: "bad_gas", "expected-gas": 9990 }),
    "c_bad_reg.json": vectorText({
      ...VECTOR,
      name: "bad_reg",
      "expected-regs": [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 18446744073709551614n],
    }),
    "d_not_a_vector.json": "{}",
    "notes.txt": "ignored",
  });
  const r = await cli("conformance", dir);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stdout.split("\n"), [
    "FAIL bad_gas: gas: expected 9990, got 9998",
    "FAIL bad_reg: φ12: expected 18446744073709551614 (0xfffffffffffffffe), got " +
    "18446744073709551615 (0xffffffffffffffff)",
    "FAIL d_not_a_vector.json: d_not_a_vector.json: name must be a string",
    "1 passed, 3 failed",
  ]);
  const json = await cli("conformance", dir, "--json");
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout);
  assert.equal(report.passed, 1);
  assert.deepEqual(report.failures[0], {
    name: "bad_gas",
    kind: "gas",
    message: "gas: expected 9990, got 9998",
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("conformance CLI: all passing exits 0; a single file works; bad usage exits 2", async () => {
  const dir = await vectorDir({ "v.json": vectorText(VECTOR) });
  const all = await cli("conformance", dir, "--backend", "interpreter");
  assert.equal(all.code, 0);
  assert.equal(all.stdout, "1 passed, 0 failed");
  const one = await cli("conformance", `${dir}/v.json`);
  assert.equal(one.stdout, "1 passed, 0 failed");
  const empty = await Deno.makeTempDir();
  assert.equal((await cli("conformance", empty)).code, 1);
  assert.equal((await cli("conformance", dir, "--backend", "jit")).code, 2);
  assert.equal((await cli("conformance")).code, 2);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(empty);
});

// A v0.5 (steps) vector: jam-0.8 `unlikely; trap` (opcode 2, then 0), one block of cost 40.
const STEPS_VECTOR = {
  name: "unlikely_then_trap",
  "initial-pc": 0,
  "initial-gas": 100,
  program: [0, 0, 2, 2, 0, 3],
  "block-gas-costs": [{ pc: 0, cost: 40 }],
  steps: [
    { run: {} },
    { assert: { status: "panic", pc: 1, gas: 60, regs: Array(13).fill(0), memory: [] } },
  ],
};

Deno.test("conformance CLI: v0.5 vectors run under jam-0.8 unless --isa says otherwise", async () => {
  const dir = await vectorDir({ "steps.json": vectorText(STEPS_VECTOR) });
  const r = await cli("conformance", dir);
  assert.equal(r.code, 0, r.stdout);
  assert.equal(r.stdout, "1 passed, 0 failed");
  // Under jam-0.7 byte 2 is no instruction: it traps alone, a block of cost 1.
  const old = await cli("conformance", dir, "--isa", "jam-0.7");
  assert.equal(old.code, 1);
  assert.match(old.stdout, /FAIL unlikely_then_trap: block at pc 0: expected cost 40, got 1/);
});
