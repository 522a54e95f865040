/**
 * Runs a program compiled by `compileProgram` in a real zygote side by side with the
 * interpreter (the oracle) and compares every exit, the registers, gas and memory after it.
 * The host policy is the same on both sides: host calls resume (optionally writing ω7 and
 * setting the gas), page faults map the page read-write and resume, out-of-gas adds gas and
 * resumes, as the scenario asks.
 * @module
 */
import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import { compileProgram } from "../src/compiler/mod.ts";
import type { CompiledCode } from "../src/compiler/mod.ts";
import { Interpreter } from "../src/interpreter/interpreter.ts";
import {
  analyzeProgram,
  type CodeBlob,
  instructionAtPc,
  type ProgramAnalysis,
} from "../src/program/analysis.ts";
import { DEFAULT_PROFILE } from "../src/program/isa/index.ts";
import type { Exit } from "../src/pvm/mod.ts";
import { ZYGOTE_CODE_TARGET } from "../src/sandbox/native/code_target.ts";
import { Zygote } from "../src/sandbox/native/mod.ts";

/** A page range mapped before the run, optionally with contents. */
export interface PageSetup {
  readonly address: number;
  readonly length: number;
  readonly access: "read" | "read-write";
  readonly bytes?: Uint8Array;
}

/** The starting state of a differential run. */
export interface Scenario {
  readonly registers?: readonly bigint[];
  readonly gas?: bigint;
  /** Start pc (default 0); it must start a basic block. */
  readonly pc?: number;
  readonly pages?: readonly PageSetup[];
  /** Gas added after each out-of-gas exit (default: stop there). */
  readonly refill?: bigint;
  /** Make the faulting page read-write and resume after a page fault (default: stop there). */
  readonly mapOnFault?: boolean;
  /** Value written to ω7 at every host call (default: registers stay as they are). */
  readonly hostCallResult?: bigint;
  /** The gas the host sets at every host call, from the gas it reads (default: unchanged). */
  readonly hostCallGas?: (gas: bigint) => bigint;
  /** Exits to follow before giving up (default 20). */
  readonly maxExits?: number;
}

/** The exits both sides took, in order (the interpreter's form). */
export type ExitTrace = Exit[];

let shared: Zygote | undefined;

/** One zygote shared by the tests of a process (respawned if it died). */
export function sharedZygote(): Zygote {
  if (shared === undefined || !shared.usable) {
    shared = Zygote.spawn();
    const z = shared;
    addEventListener("unload", () => z[Symbol.dispose]());
  }
  return shared;
}

/** A program compiled for the zygote, with its analysis. */
export interface CompiledProgram {
  readonly analysis: ProgramAnalysis;
  readonly compiled: CompiledCode;
}

/** Predecodes and compiles `blob`. */
export function compileBlob(blob: CodeBlob): CompiledProgram {
  const analysis = analyzeProgram(blob, DEFAULT_PROFILE);
  return { analysis, compiled: compileProgram(analysis, ZYGOTE_CODE_TARGET) };
}

function translate(
  raw: ReturnType<Zygote["run"]>,
  z: Zygote,
  { analysis, compiled }: CompiledProgram,
): { exit: Exit; index: number } {
  const indexAt = (pc: number): number => instructionAtPc(analysis, pc);
  switch (raw.kind) {
    case "return": {
      const pc = z.vmctx.exitDetails().pc;
      return { exit: { kind: "halt", pc }, index: indexAt(pc) };
    }
    case "trap":
      return { exit: { kind: "panic", pc: raw.pc }, index: indexAt(raw.pc) };
    case "out-of-gas":
      return { exit: { kind: "out-of-gas", pc: raw.pc }, index: indexAt(raw.pc) };
    case "host-call":
      return { exit: { kind: "host-call", pc: raw.pc, id: raw.id }, index: indexAt(raw.pc) };
    case "page-fault": {
      const index = compiled.instructionAt(raw.nativeAddress - ABI.CODE_ADDR);
      assert.ok(index >= 0, `fault at native ${raw.nativeAddress.toString(16)} outside code`);
      const pc = analysis.pc[index];
      if (raw.address < 0x10000) return { exit: { kind: "panic", pc }, index };
      return { exit: { kind: "page-fault", pc, address: (raw.address & ~0xfff) >>> 0 }, index };
    }
    default:
      throw new Error(`unexpected native exit ${JSON.stringify(raw)} (zygote ${z.pid})`);
  }
}

function assertSameState(
  interpreter: Interpreter,
  z: Zygote,
  pages: Set<number>,
  where: string,
): void {
  const native = z.getRegisters();
  for (let r = 0; r < 13; r++) {
    assert.equal(
      native[r].toString(16),
      interpreter.getRegister(r).toString(16),
      `${where}: ω${r} (native vs interpreter)`,
    );
  }
  assert.equal(z.gas, interpreter.gas, `${where}: gas`);
  for (const page of pages) {
    const a = interpreter.memory.read(page, 4096);
    const b = z.memory.read(page, 4096);
    assert.ok(
      a.every((v, k) => v === b[k]),
      `${where}: memory of page ${page.toString(16)} differs`,
    );
  }
}

/**
 * Runs `blob` on both backends from pc 0 under `scenario`, asserting after every exit that both
 * took the same exit with the same registers, gas and memory. Returns the exits.
 */
export function runBoth(blob: CodeBlob, scenario: Scenario = {}): ExitTrace {
  const program = compileBlob(blob);
  const z = sharedZygote();
  z.reset();
  z.loadCode(program.compiled.code, program.compiled.jumpTable);
  using interpreter = new Interpreter(blob);
  const pages = new Set<number>();
  for (const setup of scenario.pages ?? []) {
    for (const memory of [interpreter.memory, z.memory]) {
      memory.map(setup.address, setup.length, "read-write");
      if (setup.bytes) memory.write(setup.address, setup.bytes);
      if (setup.access === "read") memory.protect(setup.address, setup.length, "read");
    }
    for (let p = setup.address; p < setup.address + setup.length; p += 4096) pages.add(p);
  }
  const registers = scenario.registers ?? [];
  const initial = Array.from({ length: 13 }, (_, r) => BigInt.asUintN(64, registers[r] ?? 0n));
  initial.forEach((v, r) => interpreter.setRegister(r, v));
  z.setRegisters(initial);
  const gas = scenario.gas ?? 1_000_000n;
  interpreter.gas = gas;
  z.gas = gas;

  const start = scenario.pc ?? 0;
  const index = instructionAtPc(program.analysis, start);
  assert.ok(index >= 0 && program.compiled.blockEntry(index) >= 0, `pc ${start} starts no block`);
  interpreter.pc = start;
  const trace: ExitTrace = [];
  let native = translate(z.run(program.compiled.blockEntry(index)), z, program);
  for (let n = 0; n < (scenario.maxExits ?? 20); n++) {
    const expected = interpreter.run();
    const got = native.exit;
    const where = `exit ${n} (${JSON.stringify(expected)})`;
    assert.deepEqual(got, expected, where);
    trace.push(expected);
    assertSameState(interpreter, z, pages, where);
    if (expected.kind === "host-call") {
      if (scenario.hostCallResult !== undefined) {
        interpreter.setRegister(7, scenario.hostCallResult);
        z.setRegister(7, scenario.hostCallResult);
      }
      if (scenario.hostCallGas !== undefined) {
        const gas = scenario.hostCallGas(interpreter.gas);
        interpreter.gas = gas;
        z.gas = gas;
      }
      native = translate(z.resume(), z, program);
    } else if (expected.kind === "page-fault" && scenario.mapOnFault) {
      for (const memory of [interpreter.memory, z.memory]) {
        if (memory.accessAt(expected.address) === "none") {
          memory.map(expected.address, 4096, "read-write");
        } else memory.protect(expected.address, 4096, "read-write");
      }
      pages.add(expected.address);
      native = translate(z.run(program.compiled.instructionEntry(native.index)), z, program);
    } else if (expected.kind === "out-of-gas" && scenario.refill !== undefined) {
      interpreter.gas += scenario.refill;
      z.gas += scenario.refill;
      native = translate(z.run(program.compiled.blockEntry(native.index)), z, program);
    } else {
      return trace;
    }
  }
  return trace;
}
