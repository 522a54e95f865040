/** `pvmbox asm` and `pvmbox disasm` as a user runs them: files, exit codes and messages. */
import assert from "node:assert/strict";
import { repoFile, runCliProcess } from "./fixtures.ts";
import { ownProgram } from "./own_programs.ts";

/** Runs `pvmbox <args>` in a child process with every permission. */
const pvmbox = (...args: string[]) => runCliProcess("-A", ...args);

Deno.test("asm writes a program; disasm of it reassembles to the same bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const examples = repoFile("examples/");
    const built = await pvmbox("asm", `${examples}memory.s`, "-o", `${dir}/memory.pvm`);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /memory\.pvm: \d+ bytes \(JAM standard program\)/);
    const listing = await pvmbox("disasm", `${dir}/memory.pvm`, "-o", `${dir}/listing.s`);
    assert.equal(listing.code, 0, listing.stderr);
    const again = await pvmbox("asm", `${dir}/listing.s`, "-o", `${dir}/again.pvm`);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      await Deno.readFile(`${dir}/again.pvm`),
      await Deno.readFile(`${dir}/memory.pvm`),
    );
    const raw = await pvmbox("asm", "--raw", `${examples}memory.s`, "-o", `${dir}/x.pvm`);
    assert.equal(raw.code, 1);
    assert.match(raw.stderr, /memory\.s:\d+:1: error: \.stack_size needs a standard program/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("disasm shows pc, bytes, block labels and layout directives of a standard program", async () => {
  const file = await Deno.makeTempFile({ suffix: ".pvm" });
  try {
    await Deno.writeFile(file, ownProgram("sort"));
    const { code, stdout } = await pvmbox("disasm", file);
    assert.equal(code, 0);
    assert.match(stdout, /^; pvmbox disassembly \(jam-0\.7\) of a JAM standard program$/m);
    assert.match(stdout, /^\.stack_size 0x[0-9a-f]+$/m);
    assert.match(stdout, /^L0:\n {4}\S.*; +0: [0-9a-f]{2}( [0-9a-f]{2})*$/m);
    const plain = await pvmbox("disasm", "--plain", file);
    assert.doesNotMatch(plain.stdout, /;/);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("asm reports errors with file:line:column and the source line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.s`, "start:\n    load_imm a0, 5\n    jump nowhere\n");
    const { code, stderr } = await pvmbox("asm", `${dir}/bad.s`, "-o", `${dir}/bad.pvm`);
    assert.equal(code, 1);
    assert.match(
      stderr,
      /bad\.s:3:10: error: undefined label 'nowhere'\n {6}jump nowhere\n {11}\^/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("asm and disasm have --help and reject bad usage", async () => {
  for (const name of ["asm", "disasm"]) {
    const help = await pvmbox(name, "--help");
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`^usage: pvmbox ${name} `));
    const usage = await pvmbox(name);
    assert.equal(usage.code, 2);
  }
});
