/**
 * The v0.5 (steps) vector format: the Gray Paper 0.8 vectors in ../shared, and vectors built
 * here that resume after host calls, run out of gas and list block costs.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  compareBlockCosts,
  runVector,
  runVectorDirectory,
  runVectorOn,
  vectorProgram,
} from "../src/conformance/runner.ts";
import type { DifferenceKind } from "../src/conformance/state.ts";
import { parseAnyVector, type StepVector } from "../src/conformance/steps.ts";
import { blockGasCosts } from "../src/program/analysis.ts";
import { assemble } from "../src/program/asm/index.ts";
import { JAM_0_8 } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { forEachBackend, forEachEngine } from "./backends.ts";
import { NEEDS_SHARED, vectorDir08, vectorFileNames08 } from "./fixtures.ts";

forEachBackend(
  "conformance: every jam-0.8.0 vector passes through the runner",
  async (backend) => {
    const suite = await runVectorDirectory(fileURLToPath(vectorDir08()), { backend });
    const failures = suite.results.filter((r) => r.difference !== undefined)
      .map((r) => `${r.name}: ${r.difference!.message}`);
    assert.deepEqual(failures, []);
    assert.equal(suite.passed, 289);
  },
  { ignore: NEEDS_SHARED },
);

forEachEngine("every jam-0.8.0 vector: block costs and every assert step", (engine) => {
  const failures: string[] = [];
  const files = vectorFileNames08();
  for (const file of files) {
    const vector = parseAnyVector(Deno.readTextFileSync(new URL(file, vectorDir08())), file);
    const program = vectorProgram(vector);
    using machine = engine.create(program);
    const difference = compareBlockCosts(program, vector.blockGasCosts!) ??
      runVectorOn(vector, machine);
    if (difference !== undefined) failures.push(`${file}: ${difference.message}`);
  }
  assert.deepEqual(failures, []);
  assert.equal(files.length, 289);
}, { ignore: NEEDS_SHARED });

// Two host calls, then a dynamic jump through ra: one block, paid once.
const SOURCE = "ecalli 3\nload_imm a0, 7\necalli 4\njump_ind ra, 0";
const PROGRAM = assemble(SOURCE, { profile: JAM_0_8 });
const COST = blockGasCosts(Program.parse(PROGRAM, { container: "raw", isa: "jam-0.8" }))[0].cost;
const ZERO = Array(13).fill(0);

function hostCallVector(): Record<string, unknown> {
  const after = [...ZERO];
  after[7] = 7;
  const halted = [0xffff0000, ...after.slice(1)];
  return {
    name: "two_host_calls",
    "initial-pc": 0,
    "initial-gas": 1000,
    program: [...PROGRAM],
    "block-gas-costs": [{ pc: 0, cost: COST }],
    steps: [
      { run: {} },
      { assert: { status: "ecalli", hostcall: 3, pc: 0, gas: 1000 - COST, regs: ZERO } },
      { run: {} },
      { assert: { status: "ecalli", hostcall: 4, pc: 5, gas: 1000 - COST, regs: after } },
      { "set-reg": { reg: 0, value: 0xffff0000 } },
      { run: {} },
      { assert: { status: "halt", pc: 7, gas: 1000 - COST, regs: halted, memory: [] } },
    ],
  };
}

function parse(json: Record<string, unknown>): StepVector {
  return parseAnyVector(JSON.stringify(json), "test.json");
}

function expectDifference(json: Record<string, unknown>, kind: DifferenceKind, message: RegExp) {
  const { difference } = runVector(parse(json));
  assert.equal(difference?.kind, kind, difference?.message);
  assert.match(difference!.message, message);
}

Deno.test("steps: resuming after host calls keeps the block paid (charged flag)", () => {
  assert.ok(COST > 100); // ecalli alone takes 100 cycles in the model
  assert.equal(runVector(parse(hostCallVector())).difference, undefined);
});

Deno.test("steps: every kind of difference, with the assert step named", () => {
  const v = hostCallVector();
  const steps = v.steps as Record<string, Record<string, unknown>>[];
  const withAssert = (k: number, change: Record<string, unknown>) => ({
    ...v,
    steps: steps.map((s, i) => i === k ? { assert: { ...s.assert, ...change } } : s),
  });
  expectDifference(
    withAssert(3, { hostcall: 5 }),
    "host-call-id",
    /assert 2 of 3: host-call id: expected 5, got 4/,
  );
  expectDifference(
    withAssert(1, { status: "halt" }),
    "status",
    /assert 1 of 3: status: expected halt/,
  );
  expectDifference(withAssert(6, { gas: 1 }), "gas", /assert 3 of 3: gas: expected 1/);
  expectDifference(withAssert(6, { pc: 2 }), "pc", /pc: expected 2, got 7/);
  expectDifference(
    { ...v, "block-gas-costs": [{ pc: 0, cost: COST + 1 }] },
    "block-gas-cost",
    new RegExp(`block at pc 0: expected cost ${COST + 1}, got ${COST}`),
  );
  expectDifference(
    { ...v, "block-gas-costs": [] },
    "block-gas-cost",
    /block at pc 0 .* is not listed/,
  );
});

Deno.test("steps: out of gas leaves gas, registers and pc as they were", () => {
  const v = {
    ...hostCallVector(),
    "initial-gas": COST - 1,
    steps: [
      { "set-reg": { reg: 7, value: 1 } },
      { run: {} },
      {
        assert: {
          status: "out-of-gas",
          pc: 0,
          gas: COST - 1,
          regs: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        },
      },
      { run: {} },
      { assert: { status: "out-of-gas", pc: 0, gas: COST - 1 } },
    ],
  };
  assert.equal(runVector(parse(v)).difference, undefined);
});

Deno.test("steps: malformed steps name the step", () => {
  const v = hostCallVector();
  assert.throws(() => parse({ ...v, steps: [{ jump: {} }] }), /steps\[0\]: unknown step 'jump'/);
  assert.throws(
    () => parse({ ...v, steps: [{ assert: { status: "exploded" } }] }),
    /steps\[0\]\.assert\.status must be one of/,
  );
  assert.throws(
    () => parse({ ...v, steps: [{ "set-reg": { reg: 13, value: 0 } }] }),
    /steps\[0\]\.set-reg\.reg = 13 is out of range/,
  );
});
