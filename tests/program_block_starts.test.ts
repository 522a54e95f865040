/**
 * Jump targets follow the Gray Paper's block starts ϖ exactly: 0 and the position after a
 * terminator opcode, and only where an instruction with a valid opcode starts inside the code.
 * Each case is a program that differential testing found pvmbox accepting a jump into.
 */
import assert from "node:assert/strict";
import { analyzeProgram } from "../src/program/analysis.ts";
import { encodeBlob } from "../src/program/blob.ts";
import { basicBlockStarts } from "../src/program/decoder.ts";
import { JAM_0_7, Op } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import type { Backend, Exit } from "../src/pvm/mod.ts";
import { forEachEngine } from "./backends.ts";

/** A raw-blob program from code bytes, the pcs where instructions start, and a jump table. */
function program(code: number[], starts: number[], jumpTable: number[] = []): Program {
  const bitmask = new Uint8Array(Math.ceil(code.length / 8));
  for (const pc of starts) bitmask[pc >> 3] |= 1 << (pc & 7);
  const bytes = encodeBlob({ jumpTable, code: Uint8Array.from(code), bitmask });
  return Program.parse(bytes, { container: "raw" });
}

const INVALID = 0xff;

/** jump +3; 0xff (invalid); load_imm r7, 42; trap — the jump lands after the invalid opcode. */
const AFTER_INVALID = program([Op.jump, 3, INVALID, Op.load_imm, 7, 42, Op.trap], [0, 2, 3, 6]);

/** jump +2; 0xff — the jump lands on an invalid opcode right after a terminator. */
const ON_INVALID = program([Op.jump, 2, INVALID], [0, 2]);

/** jump +25 over 24 bytes with no opcode: the skip cap lands on a position whose bit is 0. */
const SKIP_CAP = program([Op.jump, 25, 0, 0, 0, ...new Array(21).fill(0), Op.trap], [0, 26]);

/** jump +2 in a two-byte program: the jump lands on the end of the code. */
const AT_END = program([Op.jump, 2], [0]);

/** jump_ind through the jump table (entry 0 = pc 3, after the invalid opcode) at address 2. */
const DYNAMIC_AFTER_INVALID = program(
  [Op.load_imm, 0, 2, Op.jump_ind, 0, INVALID, Op.load_imm, 7, 42, Op.trap],
  [0, 3, 5, 6, 9],
  [6],
);

function runFrom0(machine: Backend): { exit: Exit; gas: bigint; r7: bigint } {
  machine.gas = 1000n;
  machine.pc = 0;
  const exit: Exit = machine.run();
  return { exit, gas: machine.gas, r7: machine.getRegister(7) };
}

Deno.test("block starts: none after an invalid opcode, on one, through the skip cap, or at |c|", () => {
  const startsOf = (p: Program) => {
    const s = basicBlockStarts(p.blob.code, p.blob.bitmask, JAM_0_7);
    return [...s.keys()].filter((pc) => s[pc] === 1);
  };
  assert.deepEqual(startsOf(AFTER_INVALID), [0]);
  assert.deepEqual(startsOf(ON_INVALID), [0]);
  assert.deepEqual(startsOf(SKIP_CAP), [0]);
  assert.deepEqual(startsOf(AT_END), [0]);
  // Each static jump's target is therefore invalid in the analysis.
  for (const p of [AFTER_INVALID, ON_INVALID, SKIP_CAP, AT_END]) {
    assert.equal(analyzeProgram(p.blob, JAM_0_7).target[0], -1);
  }
  assert.deepEqual([...analyzeProgram(DYNAMIC_AFTER_INVALID.blob, JAM_0_7).jumpTargets], [-1]);
});

forEachEngine("a jump to the instruction after an invalid opcode panics at the jump", (engine) => {
  using m = engine.create(AFTER_INVALID);
  assert.deepEqual(runFrom0(m), { exit: { kind: "panic", pc: 0 }, gas: 999n, r7: 0n });
});

forEachEngine("a jump onto an invalid opcode after a terminator panics at the jump", (engine) => {
  using m = engine.create(ON_INVALID);
  assert.deepEqual(runFrom0(m), { exit: { kind: "panic", pc: 0 }, gas: 999n, r7: 0n });
});

forEachEngine("a jump to a position the 24-byte skip cap reaches panics at the jump", (engine) => {
  using m = engine.create(SKIP_CAP);
  assert.deepEqual(runFrom0(m), { exit: { kind: "panic", pc: 0 }, gas: 999n, r7: 0n });
});

forEachEngine("a jump to the end of the code panics at the jump", (engine) => {
  using m = engine.create(AT_END);
  assert.deepEqual(runFrom0(m), { exit: { kind: "panic", pc: 0 }, gas: 999n, r7: 0n });
});

forEachEngine("a dynamic jump to the instruction after an invalid opcode panics", (engine) => {
  using m = engine.create(DYNAMIC_AFTER_INVALID);
  // load_imm, jump_ind: one block of 2.
  assert.deepEqual(runFrom0(m), { exit: { kind: "panic", pc: 3 }, gas: 998n, r7: 0n });
});

forEachEngine("falling off the end still runs and charges the implicit trap", (engine) => {
  // load_imm r7, 42 with no terminator: its block includes the trap at |c|.
  using open = engine.create(program([Op.load_imm, 7, 42], [0]));
  assert.deepEqual(runFrom0(open), { exit: { kind: "panic", pc: 3 }, gas: 998n, r7: 42n });
  // fallthrough at the end: the trap at |c| is a block of its own, charged on entry.
  using closed = engine.create(program([Op.fallthrough], [0]));
  assert.deepEqual(runFrom0(closed), { exit: { kind: "panic", pc: 1 }, gas: 998n, r7: 0n });
});
