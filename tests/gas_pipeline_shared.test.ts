/**
 * The 0.8 pipeline gas model against the published data in ../shared: every block cost of the
 * jam-0.8.0 vectors and of pinky, computed by the program analysis, and every pipeline timeline of
 * the vectors' TESTCASES.md, cell for cell, as `disasm --explain` prints it.
 */
import assert from "node:assert/strict";
import { blockGasCosts } from "../src/program/analysis.ts";
import { explainBlockAt } from "../src/program/asm/index.ts";
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

sharedTest("disasm --explain: every timeline of TESTCASES.md, cell for cell", () => {
  const timelines = publishedTimelines();
  assert.equal(timelines.length, 3755);
  const programs = new Map<string, Program>();
  for (const t of timelines) {
    let program = programs.get(t.test);
    if (program === undefined) {
      const json = Deno.readTextFileSync(new URL(`${t.test}.json`, vectorDir08()));
      const bytes = new Uint8Array(JSON.parse(json).program);
      program = Program.parse(bytes, { container: "raw", isa: "jam-0.8" });
      programs.set(t.test, program);
    }
    const [heading, blank, ...rows] = explainBlockAt(program, t.offset).trimEnd().split("\n");
    const where = `${t.test} @${t.offset}`;
    assert.equal(heading, `Gas simulation at offset ${t.offset} with total cost of ${t.cost}:`);
    assert.equal(blank, "", where);
    assert.deepEqual(rows.map((row) => /^ {4}(\S+) {2}/.exec(row)![1]), t.rows, where);
  }
});
