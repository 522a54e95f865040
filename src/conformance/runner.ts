/**
 * Runs JAM PVM test vectors (v0.4 and v0.5) on a sandbox backend (or any machine): checks the
 * block costs a vector lists, performs its steps and compares the state at every `assert` step
 * with the expectation through `compareStates`, reporting the first difference.
 * @module
 */
import { Program } from "../program/program.ts";
import { type Exit, type GuestMemory, PAGE_SIZE, type PageAccess } from "../pvm/mod.ts";
import type { BackendChoice } from "../sandbox/backends.ts";
import { Sandbox } from "../sandbox/sandbox.ts";
import {
  captureState,
  compareStates,
  type Difference,
  type MachineState,
  type ObservableMachine,
  type PageState,
} from "./state.ts";
import type { PvmVector } from "./vector.ts";
import {
  type BlockGasCost,
  type Expectation,
  parseAnyVector,
  stepsOf,
  type StepVector,
} from "./steps.ts";
import { blockGasCosts } from "../program/analysis.ts";
import type { IsaName } from "../program/isa/index.ts";

/** The outcome of one vector. */
export interface VectorResult {
  /** The vector's name. */
  readonly name: string;
  /** The first difference, or `undefined` when the vector passed. */
  readonly difference: Difference | undefined;
}

/** Options of the runner. */
export interface RunnerOptions {
  /** Backend to run the vectors on. Default `interpreter`. */
  readonly backend?: BackendChoice;
  /** ISA profile to run them under; by default the vector format's (v0.4 jam-0.7, v0.5 jam-0.8). */
  readonly isa?: IsaName;
}

/** Base addresses of the pages `length` bytes from `address` cover. */
function pagesOf(address: number, length: number): number[] {
  const pages: number[] = [];
  const first = Math.floor(address / PAGE_SIZE) * PAGE_SIZE;
  for (let page = first; page < address + length; page += PAGE_SIZE) pages.push(page);
  return pages;
}

/**
 * The state an `assert` step expects, given the pages mapped so far (expected bytes, zero
 * elsewhere; a page holding expected bytes outside the map must at least be readable). What
 * the step leaves out is taken from `actual`, so it is not compared.
 */
export function expectedState(
  expect: Expectation,
  mapped: ReadonlyMap<number, PageAccess>,
  actual: MachineState,
): MachineState {
  let pages: ReadonlyMap<number, PageState> = actual.pages;
  if (expect.memory !== undefined) {
    const expected = new Map<number, { access: PageAccess; bytes: Uint8Array }>();
    for (const [page, access] of mapped) {
      expected.set(page, { access, bytes: new Uint8Array(PAGE_SIZE) });
    }
    for (const { address, contents } of expect.memory) {
      contents.forEach((byte, i) => {
        const page = address + i - ((address + i) % PAGE_SIZE);
        let state = expected.get(page);
        if (state === undefined) {
          state = { access: "read", bytes: new Uint8Array(PAGE_SIZE) };
          expected.set(page, state);
        }
        state.bytes[address + i - page] = byte;
      });
    }
    pages = expected;
  }
  const { status: kind } = expect;
  const pc = expect.pc ?? actual.exit.pc;
  const exit = kind === "page-fault"
    ? { kind, pc, address: expect.pageFaultAddress }
    : kind === "host-call"
    ? { kind, pc, id: expect.hostCall }
    : { kind, pc };
  return {
    exit,
    registers: expect.regs ?? actual.registers,
    gas: expect.gas ?? actual.gas,
    pages,
  };
}

/** A machine a vector can run on; a `Backend` and a `Sandbox` both qualify. */
export interface VectorMachine extends ObservableMachine {
  /** Writes register `index`. */
  setRegister(index: number, value: bigint): void;
  /** Gas left. */
  gas: bigint;
  /** Where the next run starts. */
  pc: number;
  /** Guest memory. */
  readonly memory: ObservableMachine["memory"] & Pick<GuestMemory, "map" | "write">;
  /** Runs to the next exit. */
  run(): Exit;
}

/**
 * Performs the steps of `vector` on `machine` (fresh: all memory inaccessible, registers 0) and
 * returns the first difference an `assert` step finds; with several asserts, the message names
 * the one that failed.
 */
export function runVectorOn(
  vector: PvmVector | StepVector,
  machine: VectorMachine,
): Difference | undefined {
  const v = "steps" in vector ? vector : stepsOf(vector);
  machine.gas = v.initialGas;
  machine.pc = v.initialPc;
  const mapped = new Map<number, PageAccess>();
  const asserts = v.steps.filter((s) => s.kind === "assert").length;
  let exit: Exit | undefined;
  let assertNumber = 0;
  for (const step of v.steps) {
    switch (step.kind) {
      case "set-reg":
        machine.setRegister(step.reg, step.value);
        break;
      case "map": {
        const access = step.writable ? "read-write" : "read";
        machine.memory.map(step.address, step.length, access);
        for (const page of pagesOf(step.address, step.length)) mapped.set(page, access);
        break;
      }
      case "write":
        machine.memory.write(step.address, step.contents);
        break;
      case "run":
        exit = machine.run();
        break;
      case "assert": {
        assertNumber++;
        if (exit === undefined) return { kind: "error", message: "assert before any run" };
        const pages = new Set(mapped.keys());
        for (const { address, contents } of step.expect.memory ?? []) {
          for (const page of pagesOf(address, contents.length)) pages.add(page);
        }
        const actual = captureState(machine, exit, pages);
        const difference = compareStates(expectedState(step.expect, mapped, actual), actual);
        if (difference !== undefined) {
          const where = asserts > 1 ? `assert ${assertNumber} of ${asserts}: ` : "";
          return { ...difference, message: where + difference.message };
        }
      }
    }
  }
  return undefined;
}

/**
 * The first block whose cost the analysis of `program` computes differently from `listed`, or
 * that one side has and the other has not.
 */
export function compareBlockCosts(
  program: Program,
  listed: readonly BlockGasCost[],
): Difference | undefined {
  const byPc = new Map(blockGasCosts(program).map((b) => [b.pc, b.cost]));
  for (const { pc, cost } of listed) {
    const got = byPc.get(pc);
    if (got !== cost) {
      return {
        kind: "block-gas-cost",
        message: got === undefined
          ? `block at pc ${pc}: listed with cost ${cost}, but no block starts there`
          : `block at pc ${pc}: expected cost ${cost}, got ${got}`,
      };
    }
    byPc.delete(pc);
  }
  for (const [pc, cost] of byPc) {
    return {
      kind: "block-gas-cost",
      message: `block at pc ${pc} (cost ${cost}) is not listed by the vector`,
    };
  }
  return undefined;
}

/** The program of `vector`, read as a raw blob of its ISA (or `isa` when given). */
export function vectorProgram(vector: StepVector, isa?: IsaName): Program {
  return Program.parse(vector.program, { container: "raw", isa: isa ?? vector.isa });
}

/**
 * Runs one vector (either schema) in a bare sandbox: its block costs first, then its steps.
 * Returns the first difference, if any.
 *
 * @example
 * ```ts
 * import { parseAnyVector, runVector } from "@pvmbox/pvmbox/conformance";
 *
 * const vector = parseAnyVector(await Deno.readTextFile("inst_add_32.json"));
 * console.log(runVector(vector).difference?.message ?? "pass");
 * ```
 */
export function runVector(
  vector: PvmVector | StepVector,
  options: RunnerOptions = {},
): VectorResult {
  const v = "steps" in vector ? vector : stepsOf(vector);
  let sandbox: Sandbox | undefined;
  try {
    const program = vectorProgram(v, options.isa);
    const costs = v.blockGasCosts === undefined
      ? undefined
      : compareBlockCosts(program, v.blockGasCosts);
    if (costs !== undefined) return { name: v.name, difference: costs };
    sandbox = Sandbox.create(program, { backend: options.backend, init: "bare" });
    return { name: v.name, difference: runVectorOn(v, sandbox) };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { name: v.name, difference: { kind: "error", message } };
  } finally {
    sandbox?.dispose();
  }
}

/** The outcome of a directory of vectors. */
export interface SuiteResult {
  /** One result per vector file, in file-name order. */
  readonly results: readonly VectorResult[];
  /** How many passed. */
  readonly passed: number;
  /** How many failed (including files that could not be read as vectors). */
  readonly failed: number;
}

/**
 * Runs every `*.json` file of `directory` as a vector. A file that is not a valid vector counts
 * as a failure of kind `error`.
 */
export async function runVectorDirectory(
  directory: string,
  options: RunnerOptions = {},
): Promise<SuiteResult> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
  }
  names.sort();
  const results: VectorResult[] = [];
  for (const file of names) {
    const text = await Deno.readTextFile(`${directory}/${file}`);
    let vector: StepVector;
    try {
      vector = parseAnyVector(text, file);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.push({ name: file, difference: { kind: "error", message } });
      continue;
    }
    results.push(runVector(vector, options));
  }
  const failed = results.filter((r) => r.difference !== undefined).length;
  return { results, passed: results.length - failed, failed };
}
