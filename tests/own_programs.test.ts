/**
 * The project's own computing programs (tests/programs/*.s) run to completion on every engine
 * (every backend, the interpreter in both modes) and halt with the result a TypeScript reference
 * computes and the same gas: the counterpart, needing nothing outside the repository, of the
 * bench programs' runs.
 */
import assert from "node:assert/strict";
import { Program } from "../src/program/program.ts";
import { invokeProgram } from "../src/sandbox/sandbox.ts";
import { applyLayout, HALT_ADDRESS, standardLayout } from "../src/pvm/mod.ts";
import { type Engine, ENGINES, forEachBackend, forEachEngine } from "./backends.ts";
import { ownProgram } from "./own_programs.ts";

/** CRC-32 (IEEE, reflected), bit by bit. */
function crc32(bytes: Uint8Array): bigint {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (crc & 1 ? 0xedb88320 : 0);
  }
  return BigInt((crc ^ 0xffffffff) >>> 0);
}

/** What sort.s computes: Σ (i + 1) · v[i] over its N sorted pseudo-random words. */
function sortChecksum(args: Uint8Array): bigint {
  const N = 300;
  let x = args.length > 0 ? args[0] : 12345;
  const words: number[] = [];
  for (let i = 0; i < N; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    words.push(x);
  }
  words.sort((a, b) => a - b);
  return words.reduce((sum, v, i) => BigInt.asUintN(64, sum + BigInt(v) * BigInt(i + 1)), 0n);
}

const CASES = [
  { name: "crc32", args: new TextEncoder().encode("123456789"), expected: 0xcbf43926n },
  { name: "crc32", args: new Uint8Array(), expected: 0n },
  { name: "crc32", args: Uint8Array.from({ length: 300 }, (_, i) => i * 7), expected: undefined },
  { name: "sort", args: new Uint8Array(), expected: undefined },
  { name: "sort", args: Uint8Array.of(77), expected: undefined },
] as const;

function reference(name: "crc32" | "sort", args: Uint8Array): bigint {
  return name === "crc32" ? crc32(args) : sortChecksum(args);
}

Deno.test("the CRC-32 reference agrees with the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926n);
});

/** Runs `program` on `engine` from pc 0 after JAM standard initialization with `args`. */
function runStandard(engine: Engine, program: Program, args: Uint8Array) {
  using machine = engine.create(program);
  const layout = standardLayout(program.memory!, args);
  applyLayout(machine.memory, layout);
  machine.heapTop = layout.heapTop;
  layout.registers.forEach((v, i) => machine.setRegister(i, v));
  machine.gas = GAS;
  const exit = machine.run();
  return {
    exit: exit.kind,
    ra: machine.getRegister(0),
    a0: machine.getRegister(7),
    gas: machine.gas,
  };
}

const GAS = 10_000_000n;

forEachEngine("own programs halt with the reference result and gas", (engine) => {
  for (const { name, args, expected } of CASES) {
    const what = `${name}(${args.length} bytes)`;
    const program = Program.parse(ownProgram(name));
    const run = runStandard(engine, program, args);
    assert.equal(run.exit, "halt", what);
    assert.equal(run.ra, BigInt(HALT_ADDRESS), what);
    assert.equal(run.a0, expected ?? reference(name, args), what);
    // ENGINES[0] is the reference engine: every other one must charge the same gas.
    assert.equal(run.gas, runStandard(ENGINES[0], program, args).gas, `${what}: gas left`);
  }
});

forEachBackend("own programs halt with the reference result through invokeProgram", (backend) => {
  for (const { name, args, expected } of CASES) {
    const result = invokeProgram(Program.parse(ownProgram(name)), { backend, gas: GAS, args });
    const what = `${name}(${args.length} bytes)`;
    assert.equal(result.status, "halt", what);
    assert.equal(result.regs[7], expected ?? reference(name, args), what);
  }
});
