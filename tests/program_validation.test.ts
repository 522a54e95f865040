/**
 * jam-0.8 whole-blob validation: `ProgramError` with offset and rule when parsing with
 * validation; otherwise the blob parses and every engine panics before running it, charging
 * nothing. Also the per-run rule: a pc with no instruction panics unpaid under jam-0.8.
 */
import assert from "node:assert/strict";
import { blockGasCosts } from "../src/program/analysis.ts";
import { assemble } from "../src/program/asm/index.ts";
import { encodeBlob, parseBlob } from "../src/program/blob.ts";
import { JAM_0_8 } from "../src/program/isa/index.ts";
import { encodePolkaVm } from "../src/program/polkavm.ts";
import { Program } from "../src/program/program.ts";
import { validateCode } from "../src/program/validation.ts";
import { ProgramError } from "../src/pvm/mod.ts";
import { forEachEngine } from "./backends.ts";

/** A raw jam-0.8 blob from code bytes and the pcs where instructions start. */
function blob(code: number[], starts: number[], padding = 0): Uint8Array {
  const bitmask = new Uint8Array(Math.ceil(code.length / 8));
  for (const pc of starts) bitmask[pc >> 3] |= 1 << (pc & 7);
  if (padding !== 0) bitmask[bitmask.length - 1] |= padding;
  return encodeBlob({ jumpTable: [], code: Uint8Array.from(code), bitmask });
}

const VALID = assemble("load_imm a0, 5\nunlikely\ntrap", { profile: JAM_0_8 });
// Opcode 3 is no jam-0.8 instruction (it is free in 0.7 too, where it executes as trap).
const INVALID_OPCODE = blob([51, 7, 5, 3, 0], [0, 3, 4]);

function parse08(bytes: Uint8Array, validate = true): Program {
  return Program.parse(bytes, { container: "raw", isa: "jam-0.8", validate });
}

function rejects(bytes: Uint8Array, rule: string, offset: number): void {
  assert.throws(() => parse08(bytes), (error: unknown) => {
    assert.ok(error instanceof ProgramError);
    assert.match(error.reason, new RegExp(`^invalid jam-0\\.8 blob \\(${rule}\\)`));
    assert.equal(error.offset, offset);
    return true;
  });
}

Deno.test("validation: a well-formed jam-0.8 blob parses with validation", () => {
  assert.equal(parse08(VALID).instructionCount, 3);
  assert.equal(validateCode(parseBlob(VALID), JAM_0_8), undefined);
});

Deno.test("validation: each rule, with the input offset of the problem", () => {
  // The raw header here is 3 bytes (entry count, entry size, code length): code offset + 3.
  rejects(INVALID_OPCODE, "invalid-opcode", 3 + 3);
  rejects(blob([0], [0], 0b10), "bitmask-padding", 3 + 1);
  rejects(blob([], []), "empty-code", 3);
  const gap = Array(30).fill(0);
  rejects(blob(gap, [0, 29]), "no-instruction-at-walk", 3 + 25);
  rejects(blob([1, 0], [1]), "no-instruction-at-walk", 3);
  // Without validation the same bytes parse (and the backends refuse to run them).
  assert.equal(parse08(INVALID_OPCODE, false).isa.name, "jam-0.8");
  // jam-0.7 has no whole-blob rule: its invalid opcodes execute as trap.
  assert.equal(
    Program.parse(INVALID_OPCODE, { container: "raw", validate: true }).isa.name,
    "jam-0.7",
  );
});

Deno.test("validation: a .polkavm file of version 3 (JamV1) is read as jam-0.8", () => {
  const file = encodePolkaVm({ version: 3, blob: VALID });
  const program = Program.parse(file);
  assert.equal(program.polkavmIsa, "JamV1");
  assert.equal(program.isa.name, "jam-0.8");
  assert.throws(
    () => Program.parse(encodePolkaVm({ version: 3, blob: INVALID_OPCODE }), { validate: true }),
    ProgramError,
  );
});

forEachEngine(
  "jam-0.8: an invalid blob panics at the start pc before running, unpaid",
  (engine) => {
    using machine = engine.create(parse08(INVALID_OPCODE, false));
    machine.gas = 1000n;
    assert.deepEqual(machine.run(), { kind: "panic", pc: 0 });
    assert.equal(machine.gas, 1000n);
    assert.equal(machine.getRegister(7), 0n); // load_imm did not run
  },
);

forEachEngine("jam-0.8: a pc with no instruction, or past the code, panics unpaid", (engine) => {
  for (const pc of [1, parseBlob(VALID).code.length, parseBlob(VALID).code.length + 7]) {
    using machine = engine.create(parse08(VALID));
    machine.gas = 1000n;
    machine.pc = pc;
    assert.deepEqual(machine.run(), { kind: "panic", pc });
    assert.equal(machine.gas, 1000n, `pc ${pc}`);
  }
});

forEachEngine(
  "jam-0.8: a branch not taken at the end of the code panics there unpaid",
  (engine) => {
    const bytes = assemble("load_imm a0, 1\nbranch_eq_imm a0, 0, 0", { profile: JAM_0_8 });
    const program = parse08(bytes);
    using machine = engine.create(program);
    machine.gas = 1000n;
    const exit = machine.run();
    assert.deepEqual(exit, { kind: "panic", pc: program.blob.code.length });
    // Only the block that ran is paid; the fall-through past the end costs nothing.
    const costs = blockGasCosts(program);
    assert.equal(costs.length, 1);
    assert.equal(1000n - machine.gas, BigInt(costs[0].cost));
  },
);

Deno.test("validation: describe() (and so info) reports validity under jam-0.8 only", () => {
  assert.equal(parse08(VALID).describe().validity, "valid");
  const invalid = parse08(INVALID_OPCODE, false).describe().validity;
  assert.ok(invalid !== undefined && invalid !== "valid");
  assert.equal(invalid.rule, "invalid-opcode");
  assert.equal(invalid.offset, 3);
  assert.equal(Program.parse(VALID, { container: "raw" }).describe().validity, undefined);
});
