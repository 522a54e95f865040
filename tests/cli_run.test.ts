import assert from "node:assert/strict";
import { blockGasCosts } from "../src/program/analysis.ts";
import { assemble } from "../src/program/asm/index.ts";
import { JAM_0_8 } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { encodePolkaVm } from "../src/program/polkavm.ts";
import { cli } from "./cli_helpers.ts";
import { repoFile } from "./fixtures.ts";

const FIB = repoFile("examples/fibonacci.s");
const HOST = repoFile("examples/host_calls.s");

async function tempProgram(source: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".pvm" });
  await Deno.writeFile(path, assemble(source));
  return path;
}

Deno.test("run: a halting .s program exits 0 and reports registers", async () => {
  const r = await cli("run", FIB);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^halt at pc 30$/m);
  assert.match(r.stdout, /a0=6765 /);
  assert.match(r.stdout, /gas used 106, left 999999894/);
});

Deno.test("run --json: final state with decimal register strings", async () => {
  const r = await cli("run", FIB, "--json", "--args", "0x0c", "--gas", "1000");
  assert.equal(r.code, 0, r.stderr);
  const state = JSON.parse(r.stdout);
  assert.equal(state.status, "halt");
  assert.deepEqual(state.exit, { kind: "halt", pc: 30 });
  assert.equal(state.regs[7], "144");
  assert.equal(state.regs[0], String(0xffff0000));
  assert.equal(BigInt(state.gas) + BigInt(state.gasUsed), 1000n);
  assert.equal(state.output, null, "a0/a1 = 144/233 is not a readable range");
});

Deno.test("run --args @file reads the argument from a file", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, Uint8Array.of(7));
  const r = await cli("run", FIB, "--json", `--args=@${path}`);
  assert.equal(JSON.parse(r.stdout).regs[7], "13");
  await Deno.remove(path);
});

Deno.test("run --trace: one line per instruction with changed registers", async () => {
  const r = await cli("run", FIB, "--trace", "--args", "02");
  assert.equal(r.code, 0);
  const lines = r.stdout.split("\n");
  assert.match(lines[0], /^\s+0 {2}load_imm t0, 20\s+t0=20$/);
  assert.match(lines[2], /^\s+6 {2}load_ind_u8 t0, \[a0\]\s+t0=2$/);
  assert.ok(lines.some((l) => /^\s+30 {2}jump_ind ra, 0\s+→ halt$/.test(l)), r.stdout);
  // 4 set-up instructions, 2 loop iterations of 5, the check at 14, the final jump.
  assert.equal(lines.filter((l) => /^\s+\d+ {2}/.test(l)).length, 4 + 3 + 10 + 1);
});

Deno.test("run: host calls are printed; stop (13) or ignore and continue", async () => {
  const stopped = await cli("run", HOST);
  assert.equal(stopped.code, 13);
  assert.match(stopped.stdout, /host call 100 \(log\) at pc 19: a0=3 a1=0x10000 a2=6/);
  assert.match(stopped.stdout, /log debug \[pvmbox\]: hello from the guest/);
  assert.match(stopped.stdout, /stopped at host call 100 \(pc 19\)/);
  // Ignored, the log call leaves a0 = 3 (not OK), so the example traps.
  const ignored = await cli("run", HOST, "--on-host-call=ignore");
  assert.equal(ignored.code, 11);
  assert.match(ignored.stdout, /panic at pc 27/);
});

Deno.test("run: page fault (12), out of gas (14), panic in a raw blob (11)", async () => {
  const fault = await tempProgram(".stack_size 4096\n load_u8 a0, [0x80000]\n trap\n");
  const faulted = await cli("run", fault);
  assert.equal(faulted.code, 12);
  assert.match(faulted.stdout, /page fault at pc 0: address 0x80000/);
  const starved = await cli("run", FIB, "--gas", "5");
  assert.equal(starved.code, 14);
  assert.match(starved.stdout, /out of gas at pc \d+ \(the block starting there did not fit\)/);
  const raw = await tempProgram("load_imm a0, 9\ntrap\n");
  const panicked = await cli("run", raw, "--json");
  assert.equal(panicked.code, 11);
  assert.equal(JSON.parse(panicked.stdout).regs[7], "9");
  const entered = await cli("run", raw, "--entry", "3", "--json");
  assert.equal(JSON.parse(entered.stdout).regs[7], "0", "started at the trap");
  for (const path of [fault, raw]) await Deno.remove(path);
});

Deno.test("run: bad usage exits 2 with a message", async () => {
  const cases: [string[], RegExp][] = [
    [["run", FIB, "--args", "abc"], /--args must be hex digits/],
    [["run", FIB, "--gas=-5"], /--gas must be a non-negative integer/],
    [["run", FIB, "--gas", "-5"], /--gas must be a non-negative integer, not '-5'/],
    [["run", FIB, "--trace-pc", "9-3"], /--trace-pc must be pcs and ranges/],
    [["run", FIB, "--trace-limit", "many"], /--trace-limit must be a non-negative integer/],
    [["run", FIB, "--gas"], /argument missing/],
    [["run", FIB, "--colour"], /Unknown option '--colour'/],
    [["run", FIB, "--backend", "wasm"], /unknown backend 'wasm'/],
    [["run", FIB, "--on-host-call", "maybe"], /--on-host-call must be/],
    [["run", FIB, "--container", "zip"], /unknown container 'zip'/],
    [["run", FIB, "--isa", "jam-9"], /unknown ISA 'jam-9'/],
    [["run"], /expected one program file/],
    [["run", FIB, "--entry", "main"], /--entry 'main' is neither a pc nor an export/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
  }
  // A file that cannot be read is an error in the input (1), in every command.
  const inputErrors: [string[], RegExp][] = [
    [["run", "/nonexistent.pvm"], /no such file/],
    [["info", "/nonexistent.pvm"], /no such file/],
    [["disasm", "/nonexistent.pvm"], /no such file/],
    [["asm", "/nonexistent.s"], /no such file/],
    [["conformance", "/nonexistent"], /cannot read/],
    [["run", "/"], /\/ is a directory; give a program file/],
    [["disasm", "/"], /\/ is a directory/],
  ];
  for (const [args, message] of inputErrors) {
    const r = await cli(...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, message);
  }
  const help = await cli("run", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /exit code: 0 halt, 11 panic/);
});

Deno.test("run --entry accepts an export name of a .polkavm file", async () => {
  const blob = assemble("load_imm a0, 1\ntrap\nload_imm a0, 2\ntrap\n", { kind: "raw" });
  const path = await Deno.makeTempFile({ suffix: ".polkavm" });
  await Deno.writeFile(
    path,
    encodePolkaVm({
      version: 2,
      stackSize: 4096,
      blob,
      exports: [{ name: "first", pc: 0 }, { name: "second", pc: 4 }],
    }),
  );
  const second = await cli("run", path, "--entry", "second", "--json");
  assert.equal(JSON.parse(second.stdout).regs[7], "2");
  const first = await cli("run", path, "--entry", "first", "--json");
  assert.equal(JSON.parse(first.stdout).regs[7], "1");
  const missing = await cli("run", path, "--entry", "third");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /exports: first, second/);
  await Deno.remove(path);
});

Deno.test("run --isa jam-0.8: grow_heap (host call 1) of a standard program is serviced", async () => {
  const source = [
    ".rw_data",
    "    .bytes 1",
    ".stack_size 0x1000",
    ".code",
    "    load_imm a0, 60", // the wanted end page; the region starts at page 32 and holds 1
    "    ecalli 1",
    "    jump_ind ra, 0",
  ].join("\n");
  const file = await Deno.makeTempFile({ suffix: ".s" });
  try {
    await Deno.writeTextFile(file, source);
    const r = await cli("run", "--isa", "jam-0.8", file);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /host call 1 \(grow_heap\) at pc 3: wanted end page 60, end page now 60/,
    );
    assert.match(r.stdout, /^halt at pc 5$/m);
    // The block, plus 100 + 10 for each of the 27 new pages.
    const program = Program.parse(assemble(source, { profile: JAM_0_8 }), { isa: "jam-0.8" });
    const block = blockGasCosts(program)[0].cost;
    assert.match(r.stdout, new RegExp(`gas used ${block + 100 + 27 * 10},`));
  } finally {
    await Deno.remove(file);
  }
});
