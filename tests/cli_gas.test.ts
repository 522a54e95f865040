/** `pvmbox disasm --gas` and `--explain <pc>` on jam-0.8 programs built here. */
import assert from "node:assert/strict";
import { repoFile, runCliProcess } from "./fixtures.ts";

/** Runs `pvmbox <args>` as a user does. */
const cli = (...args: string[]) => runCliProcess("-A", ...args);

// The specification's worked example (block at 0, cost 28), then a second block.
const SOURCE = `
    load_ind_i16 a2, [a0 + 6]
    and_imm a1, a1, 7
    load_imm a3, 1
    shlo_l_imm_64 a1, a1, 8
    and_imm a2, a2, -0x701
    or a1, a1, a2
    add_64 a2, a1, a3
    store_ind_u8 [a0 + 2], a3
    trap
    branch_eq_imm a0, 0, cold
    load_imm a0, 1
    trap
cold:
    unlikely
    trap
`;

async function withSource<T>(run: (file: string) => Promise<T>): Promise<T> {
  const file = await Deno.makeTempFile({ suffix: ".s" });
  try {
    await Deno.writeTextFile(file, SOURCE);
    return await run(file);
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("disasm --gas puts every block's cost on its label line", async () => {
  const { code, stdout } = await withSource((f) => cli("disasm", "--isa", "jam-0.8", "--gas", f));
  assert.equal(code, 0);
  assert.match(stdout, /^L0: +; gas 28$/m);
  // The branch alone is cheap (its target is `unlikely`); `load_imm, trap`; `unlikely, trap`.
  assert.deepEqual(
    [...stdout.matchAll(/; gas (\d+)$/gm)].map((m) => Number(m[1])),
    [28, 1, 2, 40],
  );
});

Deno.test("disasm --explain prints the timeline of the block charged at a pc", async () => {
  const { code, stdout } = await withSource((f) =>
    cli("disasm", "--isa", "jam-0.8", "--explain", "16", f)
  );
  assert.equal(code, 0);
  assert.equal(
    stdout,
    [
      "Gas simulation at offset 0 with total cost of 28:",
      "",
      "    DeeeeeeeeeeeeeeeeeeeeeeeeeER...  load_ind_i16 a2, [a0 + 6]",
      "    DeE------------------------R...  and_imm a1, a1, 7",
      "    DeE------------------------R...  load_imm a3, 1",
      "    D=eE-----------------------R...  shlo_l_imm_64 a1, a1, 8",
      "    .D========================eER..  and_imm a2, a2, -1793",
      "    .D=========================eER.  or a1, a1, a2",
      "    .D==========================eER  add_64 a2, a1, a3",
      "    ..DeeeeeeeeeeeeeeeeeeeeeeeeeE-R  store_ind_u8 [a0 + 2], a3",
      "    ..DeeE------------------------R  trap",
      "",
    ].join("\n"),
  );
});

Deno.test("disasm --explain: a bad pc, or a profile without a pipeline, is a usage error", async () => {
  const bad = await withSource((f) => cli("disasm", "--isa", "jam-0.8", "--explain", "x1", f));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--explain needs a code offset, got 'x1'/);
  const inside = await withSource((f) => cli("disasm", "--isa", "jam-0.8", "--explain", "1", f));
  assert.equal(inside.code, 2);
  assert.match(inside.stderr, /no instruction starts at pc 1/);
  const old = await cli("disasm", "--explain", "0", repoFile("tests/programs/sort.s"));
  assert.equal(old.code, 2);
  assert.match(old.stderr, /the jam-0\.7 gas model has no pipeline to explain/);
});
