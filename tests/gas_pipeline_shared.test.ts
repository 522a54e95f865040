/**
 * The 0.8 pipeline gas model against the published data in ../shared: every block cost of the
 * jam-0.8.0 vectors and of pinky, computed by the program analysis, and every pipeline timeline of
 * the vectors' TESTCASES.md, cell for cell.
 */
import assert from "node:assert/strict";
import { parseBlob } from "../src/program/blob.ts";
import { decodeAt, type Instruction, isTerminatorOp } from "../src/program/decoder.ts";
import { explainBlock } from "../src/program/isa/pipeline_gas.ts";
import { blockGasCosts } from "../src/program/analysis.ts";
import { JAM_0_8 } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { realProgram, sharedTest, vectorDir08, vectorFileNames08 } from "./fixtures.ts";

interface BlockCost {
  readonly pc: number;
  readonly cost: number;
}

/** The cost the analysis gives every basic block that starts inside the code, in pc order. */
function analysedCosts(program: Uint8Array): BlockCost[] {
  return blockGasCosts(Program.parse(program, { container: "raw", isa: "jam-0.8" }));
}

sharedTest("pipeline gas: every block cost of every jam-0.8.0 vector", () => {
  const files = vectorFileNames08();
  assert.equal(files.length, 289);
  let blocks = 0;
  for (const file of files) {
    const vector = JSON.parse(Deno.readTextFileSync(new URL(file, vectorDir08())));
    const expected: BlockCost[] = vector["block-gas-costs"];
    assert.deepEqual(analysedCosts(new Uint8Array(vector.program)), expected, file);
    blocks += expected.length;
  }
  assert.ok(blocks > files.length);
});

sharedTest("pipeline gas: all 1,663 block costs of pinky", () => {
  const program = realProgram("pinky.jam08.bin");
  const expected: BlockCost[] = JSON.parse(
    new TextDecoder().decode(realProgram("pinky.jam08.block-gas-costs.json")),
  );
  assert.equal(expected.length, 1663);
  assert.deepEqual(analysedCosts(program), expected);
});

/** One published timeline: the block start, its cost, and the cells of each row. */
interface PublishedTimeline {
  readonly test: string;
  readonly offset: number;
  readonly cost: number;
  readonly rows: readonly string[];
}

function publishedTimelines(): PublishedTimeline[] {
  const text = Deno.readTextFileSync(new URL("TESTCASES.md", vectorDir08()));
  const out: PublishedTimeline[] = [];
  let test = "";
  const lines = text.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const heading = /^## (\S+)/.exec(lines[k]);
    if (heading !== null) test = heading[1];
    const sim = /^Gas simulation at offset (\d+) with total cost of (\d+):/.exec(lines[k]);
    if (sim === null) continue;
    assert.equal(lines[k + 2], "```");
    const rows: string[] = [];
    for (k += 3; lines[k] !== "```"; k++) rows.push(/^ {4}(\S+) {2}/.exec(lines[k])![1]);
    out.push({ test, offset: Number(sim[1]), cost: Number(sim[2]), rows });
  }
  return out;
}

/** The decoded block starting at `pc`, up to its terminator. */
function blockAt(code: Uint8Array, bitmask: Uint8Array, pc: number): Instruction[] {
  const block: Instruction[] = [];
  for (;;) {
    const ins = decodeAt(code, bitmask, pc, JAM_0_8);
    block.push(ins);
    if (isTerminatorOp(ins.op)) return block;
    pc += ins.length;
  }
}

sharedTest("pipeline gas: every timeline of TESTCASES.md, cell for cell", () => {
  const timelines = publishedTimelines();
  assert.equal(timelines.length, 3755);
  const programs = new Map<string, Uint8Array>();
  for (const t of timelines) {
    let program = programs.get(t.test);
    if (program === undefined) {
      const json = Deno.readTextFileSync(new URL(`${t.test}.json`, vectorDir08()));
      program = new Uint8Array(JSON.parse(json).program);
      programs.set(t.test, program);
    }
    const { code, bitmask } = parseBlob(program);
    const timeline = explainBlock(blockAt(code, bitmask, t.offset), code);
    const where = `${t.test} @${t.offset}`;
    assert.equal(timeline.cost, t.cost, where);
    assert.deepEqual(timeline.rows.map((r) => r.cells), t.rows, where);
  }
});
