/**
 * The 0.8 pipeline gas model on blocks built here: each rule of the model (decode slots and the
 * P/Ps rules, the branch cost, execution units, dependencies, renaming by `move_reg`, in-order
 * retirement, the reorder-buffer limit) and the timeline notation; and the costs of the model's
 * one-pass schedule against its simulation, on seeded random blocks and on blocks bound by the
 * reorder buffer.
 */
import assert from "node:assert/strict";
import { assemble } from "../src/program/asm/index.ts";
import { parseBlob } from "../src/program/blob.ts";
import { decodeAt, type Instruction, isTerminatorOp } from "../src/program/decoder.ts";
import { explainBlock, pipelineBlockCost } from "../src/program/isa/pipeline_gas.ts";
import { type InstructionColumns, instructionColumns } from "../src/program/isa/columns.ts";
import { INSTRUCTIONS, Op } from "../src/program/isa/instructions.ts";
import { PIPELINE_PARAMS } from "../src/program/isa/pipeline_params.ts";
import { blockGasCosts } from "../src/program/analysis.ts";
import { JAM_0_8 } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";

/** The cost of every basic block of `source` (jam-0.8), by pc. */
function costs(source: string): Map<number, number> {
  const bytes = assemble(source, { profile: JAM_0_8 });
  const program = Program.parse(bytes, { container: "raw", isa: "jam-0.8" });
  return new Map(blockGasCosts(program).map(({ pc, cost }) => [pc, cost]));
}

/** The cost of the block at pc 0. */
function firstCost(source: string): number {
  return costs(source).get(0)!;
}

/** The timeline rows of the block at pc 0. */
function timeline(source: string): string[] {
  const { code, bitmask } = parseBlob(assemble(source, { profile: JAM_0_8 }));
  const block: Instruction[] = [];
  for (let pc = 0;;) {
    const ins = decodeAt(code, bitmask, pc, JAM_0_8);
    block.push(ins);
    if (isTerminatorOp(ins.op)) break;
    pc += ins.length;
  }
  return explainBlock(instructionColumns(block), 0, block.length, code).rows.map((r) => r.cells);
}

const lines = (...text: string[]): string => text.join("\n");

Deno.test("pipeline gas: the smallest blocks", () => {
  assert.equal(firstCost("trap"), 2);
  assert.equal(firstCost(lines("move_reg ra, ra", "trap")), 2);
  assert.equal(firstCost(lines("load_imm a0, 2", "trap")), 2);
  assert.equal(firstCost(lines("unlikely", "load_imm a0, 2", "trap")), 40);
  assert.deepEqual(timeline("trap"), ["DeeER"]);
});

Deno.test("pipeline gas: four decode slots per cycle; move_reg takes one and no ROB entry", () => {
  const moves = lines(...Array(4).fill("move_reg a0, a1"), "trap");
  assert.equal(firstCost(moves), 3);
  assert.deepEqual(timeline(moves), ["D.....", "D.....", "D.....", "D.....", ".DeeER"]);
});

Deno.test("pipeline gas: the worked example of the specification (cost 28)", () => {
  const source = lines(
    "load_ind_i16 a2, [a0 + 6]",
    "and_imm a1, a1, 7",
    "load_imm a3, 1",
    "shlo_l_imm_64 a1, a1, 8",
    "and_imm a2, a2, -0x701",
    "or a1, a1, a2",
    "add_64 a2, a1, a3",
    "store_ind_u8 [a0 + 2], a3",
    "trap",
  );
  assert.equal(firstCost(source), 28);
  assert.deepEqual(timeline(source), [
    "DeeeeeeeeeeeeeeeeeeeeeeeeeER...",
    "DeE------------------------R...",
    "DeE------------------------R...",
    "D=eE-----------------------R...",
    ".D========================eER..",
    ".D=========================eER.",
    ".D==========================eER",
    "..DeeeeeeeeeeeeeeeeeeeeeeeeeE-R",
    "..DeeE------------------------R",
  ]);
});

Deno.test("pipeline gas: P rule — a destination that is also a source decodes in fewer slots", () => {
  // add_64 a2 = a1 + a3 takes 2 slots, add_64 a1 = a1 + a3 takes 1: four of the first fill two
  // cycles of decoding, four of the second one.
  const disjoint = timeline(lines(...Array(4).fill("add_64 a2, a1, a3"), "trap"));
  const shared = timeline(lines(...Array(4).fill("add_64 a1, a1, a3"), "trap"));
  assert.deepEqual(disjoint.map((row) => row.indexOf("D")), [0, 0, 1, 1, 2]);
  assert.deepEqual(shared.map((row) => row.indexOf("D")), [0, 0, 0, 0, 1]);
});

Deno.test("pipeline gas: Ps rule compares register A with D, not B", () => {
  const decodeCycles = (ins: string) =>
    timeline(lines(ins, ins, "trap")).map((row) => row.indexOf("D"));
  // shlo_l_64 d, a, b: 2 slots when a = d, else 3.
  assert.deepEqual(decodeCycles("shlo_l_64 a0, a0, a1"), [0, 0, 1]);
  assert.deepEqual(decodeCycles("shlo_l_64 a0, a1, a0"), [0, 1, 1]);
});

Deno.test("pipeline gas: a branch is cheap when its target or fall-through is trap or unlikely", () => {
  const branch = (fallThrough: string, atTarget: string) =>
    firstCost(lines(
      "branch_eq_imm a0, 0, there",
      fallThrough,
      "jump there",
      "there:",
      atTarget,
      "trap",
    ));
  assert.equal(branch("unlikely", "load_imm a0, 1"), 1);
  assert.equal(branch("load_imm a0, 1", "unlikely"), 1);
  assert.equal(branch("trap", "load_imm a0, 1"), 1);
  assert.equal(branch("load_imm a0, 1", "load_imm a0, 1"), 20);
  // A target outside the code reads as a zero byte: trap.
  assert.equal(firstCost(lines("branch_eq_imm a0, 0, 1000", "load_imm a0, 1", "trap")), 1);
  // The byte is read raw: a 2 inside another instruction's operands counts as unlikely.
  assert.equal(
    firstCost(lines("branch_eq_imm a0, 0, 8", "load_imm a0, 1", "load_imm a2, 2", "trap")),
    1,
  );
});

Deno.test("pipeline gas: one divider — independent divisions run one after the other", () => {
  const one = firstCost(lines("div_u_64 a0, a1, a2", "trap"));
  const two = firstCost(lines("div_u_64 a0, a1, a2", "div_u_64 a3, a1, a2", "trap"));
  assert.equal(two - one, 60);
  // Four ALUs: of five adds ready in cycle 2 (all wait for a5), four start then, one later.
  const adds = timeline(lines(
    "load_imm a5, 1",
    ...["a0", "a1", "a2", "a3", "a4"].map((r) => `add_64 ${r}, ${r}, a5`),
    "trap",
  ));
  assert.deepEqual(adds.slice(1, 6).map((row) => row.indexOf("e")), [2, 2, 2, 2, 3]);
});

Deno.test("pipeline gas: dependencies through move_reg follow the renamed producer", () => {
  // a1 is loaded (25 cycles); a2 = a1 by renaming; the add reading a2 waits for the load.
  const rows = timeline(
    lines("load_u64 a1, [0x20000]", "move_reg a2, a1", "add_64 a3, a2, a2", "trap"),
  );
  assert.ok(rows[2].indexOf("e") > rows[0].lastIndexOf("e"));
  // Overwriting a2 afterwards removes the dependency.
  const free = timeline(lines(
    "load_u64 a1, [0x20000]",
    "move_reg a2, a1",
    "load_imm a2, 3",
    "add_64 a3, a2, a2",
    "trap",
  ));
  assert.ok(free[3].indexOf("e") < free[0].lastIndexOf("e"));
});

Deno.test("pipeline gas: the reorder buffer holds 32 entries behind a stalled head", () => {
  const block = (n: number) =>
    timeline(lines("load_u64 a1, [0x20000]", ...Array(n).fill("load_imm a0, 1"), "trap"));
  // 31 more entries fit while the load is in flight; the 33rd entry (the trap after 31 loads,
  // then the 32nd load) must wait for the load to retire.
  const rows = block(32);
  const retire = rows[0].indexOf("R");
  assert.ok(rows[31].indexOf("D") < retire);
  assert.ok(rows[32].indexOf("D") > retire);
});

/** A seeded pseudo-random source (xorshift32): integers below `n`. */
function randomSource(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/** Columns for `length` instructions, all zero. */
function blankColumns(length: number): InstructionColumns {
  return {
    op: new Uint8Array(length),
    ra: new Uint8Array(length),
    rb: new Uint8Array(length),
    rd: new Uint8Array(length),
    x: new Int32Array(length),
    y: new Int32Array(length),
    pc: new Uint32Array(length + 1),
  };
}

/**
 * A random block of `length` instructions of the 0.8 table ending in a terminator, over
 * `registers` registers (few make many dependencies), in columns over random code bytes.
 */
function randomBlock(
  random: (n: number) => number,
  length: number,
  registers: number,
): { block: InstructionColumns; code: Uint8Array } {
  const priced = INSTRUCTIONS.filter((i) => i.name in PIPELINE_PARAMS);
  const inner = priced.filter((i) => !i.terminator), ends = priced.filter((i) => i.terminator);
  // Half the inner instructions are memory accesses, which hold an ALU for 25 cycles.
  const memory = inner.filter((i) => /^(load|store)_(ind_)?[ui]\d+$/.test(i.name));
  const code = Uint8Array.from(
    { length: 64 + random(200) },
    () => random(4) === 0 ? 2 * random(2) : random(256),
  );
  const columns = blankColumns(length);
  for (let i = 0; i < length; i++) {
    const pool = i === length - 1 ? ends : random(2) === 0 ? memory : inner;
    columns.op[i] = pool[random(pool.length)].id;
    columns.ra[i] = random(registers);
    columns.rb[i] = random(registers);
    columns.rd[i] = random(registers);
    columns.x[i] = random(code.length + 8) - 4;
    columns.y[i] = random(code.length + 8) - 4;
    columns.pc[i + 1] = columns.pc[i] + 1 + random(4);
  }
  return { block: columns, code };
}

Deno.test("pipeline gas: the one-pass schedule and the simulation agree on random blocks", () => {
  const random = randomSource(0x0801);
  for (let k = 0; k < 20000; k++) {
    const length = 1 + (k % 10 === 0 ? random(120) : random(24));
    const { block, code } = randomBlock(random, length, 2 + random(12));
    const start = random(4) === 0 ? random(length) : 0;
    // The cost takes the one-pass schedule when it can prove it; the explanation simulates.
    const where = `block ${k}: ${Array.from(block.op)}`;
    assert.equal(
      pipelineBlockCost(block, start, length, code),
      explainBlock(block, start, length, code).cost,
      where,
    );
  }
});

Deno.test("pipeline gas: the one-pass schedule waits for room in the buffer as the simulation does", () => {
  // A load at the head, a chain of adds (retiring one per cycle once the load has), then
  // independent instructions: decoding is bound by the buffer, and an instruction arrives in
  // the very cycle the entry 32 places back retires, so it must wait one more.
  for (let chain = 28; chain < 42; chain++) {
    for (let tail = 20; tail < 36; tail++) {
      // load_u64 a1; add_imm_64 a0 = a0 + 0, chain times; load_imm a2 … a11 in turn; trap.
      const length = 1 + chain + tail + 1, block = blankColumns(length);
      block.op.set([Op.load_u64, ...Array(chain).fill(Op.add_imm_64)]);
      block.op.fill(Op.load_imm, 1 + chain, length - 1);
      block.op[length - 1] = Op.trap;
      block.ra[0] = 1;
      for (let i = 0; i < tail; i++) block.ra[1 + chain + i] = 2 + i % 10;
      const code = new Uint8Array(4);
      assert.equal(
        pipelineBlockCost(block, 0, length, code),
        explainBlock(block, 0, length, code).cost,
        `chain ${chain}, tail ${tail}`,
      );
    }
  }
});
