/**
 * Runs JAM PVM test vectors on a sandbox backend (or any machine) and compares the final state
 * with the vector's expectation through `compareStates`, reporting the first difference.
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
} from "./state.ts";
import type { PvmVector } from "./vector.ts";
import { parseVector } from "./vector.ts";

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
}

/** Pages (base addresses) a vector's memory comparison covers: every initially mapped page. */
function mappedPages(vector: PvmVector): Map<number, PageAccess> {
  const pages = new Map<number, PageAccess>();
  for (const { address, length, writable } of vector.initialPageMap) {
    const first = Math.floor(address / PAGE_SIZE) * PAGE_SIZE;
    for (let page = first; page < address + length; page += PAGE_SIZE) {
      pages.set(page, writable ? "read-write" : "read");
    }
  }
  return pages;
}

/**
 * The state `vector` expects: its page map with the expected bytes (zero elsewhere); a page
 * holding expected bytes outside the map must at least be readable.
 */
export function expectedState(vector: PvmVector): MachineState {
  const pages = new Map<number, { access: PageAccess; bytes: Uint8Array }>();
  for (const [page, access] of mappedPages(vector)) {
    pages.set(page, { access, bytes: new Uint8Array(PAGE_SIZE) });
  }
  for (const { address, contents } of vector.expectedMemory) {
    contents.forEach((byte, i) => {
      const page = address + i - ((address + i) % PAGE_SIZE);
      let state = pages.get(page);
      if (state === undefined) {
        state = { access: "read", bytes: new Uint8Array(PAGE_SIZE) };
        pages.set(page, state);
      }
      state.bytes[address + i - page] = byte;
    });
  }
  const exit = vector.expectedStatus === "page-fault"
    ? {
      kind: vector.expectedStatus,
      pc: vector.expectedPc,
      address: vector.expectedPageFaultAddress,
    }
    : { kind: vector.expectedStatus, pc: vector.expectedPc };
  return { exit, registers: vector.expectedRegs, gas: vector.expectedGas, pages };
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
 * Prepares `machine` (fresh: all memory inaccessible) as `vector` says, runs it once and returns
 * the first difference from the expected final state.
 */
export function runVectorOn(vector: PvmVector, machine: VectorMachine): Difference | undefined {
  for (const region of vector.initialPageMap) {
    machine.memory.map(region.address, region.length, region.writable ? "read-write" : "read");
  }
  for (const chunk of vector.initialMemory) machine.memory.write(chunk.address, chunk.contents);
  vector.initialRegs.forEach((value, i) => machine.setRegister(i, value));
  machine.gas = vector.initialGas;
  machine.pc = vector.initialPc;
  const exit = machine.run();
  const expected = expectedState(vector);
  return compareStates(expected, captureState(machine, exit, expected.pages.keys()));
}

/** Runs one vector in a bare sandbox and returns its first difference, if any. */
export function runVector(vector: PvmVector, options: RunnerOptions = {}): VectorResult {
  let sandbox: Sandbox | undefined;
  try {
    sandbox = Sandbox.create(Program.parse(vector.program, { container: "raw" }), {
      backend: options.backend,
      init: "bare",
    });
    return { name: vector.name, difference: runVectorOn(vector, sandbox) };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { name: vector.name, difference: { kind: "error", message } };
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
    let vector: PvmVector;
    try {
      vector = parseVector(text, file);
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
