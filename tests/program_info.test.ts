import assert from "node:assert/strict";
import { formatInfo, programInfo } from "../src/cli/info.ts";
import { encodePolkaVm } from "../src/program/polkavm.ts";
import { Program } from "../src/program/program.ts";
import { encodeServiceCode, encodeServiceMetadata } from "../src/program/service.ts";
import { assemble } from "../src/program/asm/index.ts";
import { runCliProcess } from "./fixtures.ts";
import { ownProgram } from "./own_programs.ts";

/** Runs `pvmbox <args>` in a child process that may only read. */
const runCli = (...args: string[]) => runCliProcess("--allow-read", ...args);

/** A standard program of two blocks, with heap pages and a stack but no data. */
const WITH_HEAP = assemble(
  ".heap_pages 3\n.stack_size 0x10000\n    load_imm a0, 1\n    jump end\nend:\n    trap\n",
);

/** Writes `bytes` to a temporary file for the duration of `use`. */
async function withFile(bytes: Uint8Array, use: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".pvm" });
  try {
    await Deno.writeFile(path, bytes);
    await use(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("info: standard layout of a program with heap pages follows the JAM table", () => {
  const bytes = WITH_HEAP;
  const info = programInfo(Program.parse(bytes), "heap.pvm", bytes.length);
  assert.equal(info.container, "standard");
  assert.equal(info.fileBytes, bytes.length);
  const byName = Object.fromEntries(info.layout!.regions.map((r) => [r.name, r]));
  // No ro data: an empty region at 0x10000; rw (no data, z heap pages) starts at 0x20000.
  assert.deepEqual(byName["ro-data"], {
    name: "ro-data",
    start: 0x10000,
    end: 0x10000,
    access: "read",
  });
  const heapPages = info.memory!.heapPages;
  assert.equal(byName["rw-data"].start, 0x20000);
  assert.equal(byName["rw-data"].end, 0x20000 + heapPages * 4096);
  assert.equal(byName["rw-data"].access, "read-write");
  assert.deepEqual(
    [byName.stack.start, byName.stack.end],
    [0xfefe0000 - info.memory!.stackBytes, 0xfefe0000],
  );
  assert.equal(info.layout!.heapTop, byName["rw-data"].end);
  const text = formatInfo(info);
  for (const fragment of ["JAM standard program", "0x00020000..", "heap top", "basic blocks"]) {
    assert.ok(text.includes(fragment), `'${fragment}' missing from:\n${text}`);
  }
});

Deno.test("info: raw blobs have no layout; service metadata and .polkavm exports are shown", () => {
  const raw = assemble("    add_32 t2, a0, a1\n", { kind: "raw" });
  const rawInfo = programInfo(Program.parse(raw), "add.bin", raw.length);
  assert.equal(rawInfo.layout, undefined);
  assert.match(formatInfo(rawInfo), /memory: none defined/);

  const metadata = encodeServiceMetadata({
    name: "demo",
    version: "2.0",
    licence: "GPL-3.0",
    authors: ["X", "Y"],
  });
  const service = encodeServiceCode(metadata, ownProgram("memory"));
  const serviceText = formatInfo(programInfo(Program.parse(service), "s", service.length));
  assert.match(serviceText, /name\s+demo/);
  assert.match(serviceText, /authors\s+X, Y/);

  const program = Program.parse(ownProgram("crc32"));
  const polkavm = encodePolkaVm({
    version: 2,
    blob: program.blob,
    stackSize: 8192,
    exports: [{ name: "main", pc: 0 }],
    imports: ["log"],
  });
  const pvmText = formatInfo(programInfo(Program.parse(polkavm), "p", polkavm.length));
  assert.match(pvmText, /file declares Latest64/);
  assert.match(pvmText, /pc\s+0\s+main/);
  assert.match(pvmText, /0\s+log/);
});

Deno.test("info CLI: text and --json on a standard program", async () => {
  const bytes = ownProgram("sort");
  await withFile(bytes, async (path) => {
    const text = await runCli("info", path);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /container\s+JAM standard program/);
    const json = await runCli("info", "--json", path);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.container, "standard");
    assert.equal(parsed.codeBytes, Program.parse(bytes).blob.code.length);
  });
});

Deno.test("info CLI: a malformed file prints offset and reason, exit 1, no stack trace", async () => {
  await withFile(ownProgram("sort").subarray(0, 100), async (path) => {
    const result = await runCli("info", path);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ProgramError: .*at byte/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    const usage = await runCli("info", "--container", "zip", path);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown container 'zip'/);
  });
});

Deno.test("info CLI: assembly source is assembled first", async () => {
  const path = await Deno.makeTempFile({ suffix: ".s" });
  try {
    await Deno.writeTextFile(path, ".stack_size 4096\n    load_imm a0, 1\n    trap\n");
    const result = await runCli("info", "--json", path);
    assert.equal(result.code, 0, result.stderr);
    const info = JSON.parse(result.stdout);
    assert.equal(info.container, "standard");
    assert.equal(info.instructions, 2);
    assert.equal(info.memory.stackBytes, 4096);
    assert.ok(info.assembledBytes > 0);
    await Deno.writeTextFile(path, "no_such_instruction\n");
    const bad = await runCli("info", path);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\.s:1:1: error: /);
  } finally {
    await Deno.remove(path);
  }
});
