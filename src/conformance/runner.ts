/**
 * Runs JAM PVM test vectors on a sandbox backend and compares the final state, reporting the
 * first difference in a fixed order: status, pc, page-fault address, registers, gas, memory.
 * @module
 */
import { Program } from "../program/program.ts";
import { type Exit, PAGE_SIZE, REGISTER_COUNT } from "../sandbox/backend.ts";
import type { BackendName } from "../sandbox/backends.ts";
import { Sandbox } from "../sandbox/sandbox.ts";
import type { MemoryChunk, PvmVector } from "./vector.ts";
import { parseVector } from "./vector.ts";

/** Which part of the final state differed first. */
export type DifferenceKind =
  | "error"
  | "status"
  | "pc"
  | "page-fault-address"
  | "register"
  | "gas"
  | "memory";

/** The first difference between the expected and the actual final state. */
export interface Difference {
  /** What differs. */
  readonly kind: DifferenceKind;
  /** One line for a person, e.g. `φ9: expected 3, got 4`. */
  readonly message: string;
}

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
  readonly backend?: BackendName;
}

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** Pages (base addresses) a vector's memory comparison covers: every initially mapped page. */
function mappedPages(vector: PvmVector): number[] {
  const pages = new Set<number>();
  for (const { address, length } of vector.initialPageMap) {
    const first = Math.floor(address / PAGE_SIZE) * PAGE_SIZE;
    for (let page = first; page < address + length; page += PAGE_SIZE) pages.add(page);
  }
  return [...pages].sort((a, b) => a - b);
}

function byteMap(chunks: readonly MemoryChunk[]): Map<number, number> {
  const bytes = new Map<number, number>();
  for (const { address, contents } of chunks) {
    contents.forEach((b, i) => bytes.set(address + i, b));
  }
  return bytes;
}

function compareMemory(vector: PvmVector, sandbox: Sandbox): Difference | undefined {
  const expected = byteMap(vector.expectedMemory);
  const readable = new Set<number>();
  for (const page of mappedPages(vector)) {
    const actual = sandbox.memory.tryRead(page, PAGE_SIZE);
    if (actual === undefined) continue;
    readable.add(page);
    for (let i = 0; i < PAGE_SIZE; i++) {
      const want = expected.get(page + i) ?? 0;
      if (actual[i] !== want) {
        return {
          kind: "memory",
          message: `memory[${hex(page + i)}]: expected ${hex(want)}, got ${hex(actual[i])}`,
        };
      }
    }
  }
  const missing = [...expected.keys()].filter((a) => !readable.has(a - (a % PAGE_SIZE)));
  if (missing.length > 0) {
    const at = Math.min(...missing);
    return {
      kind: "memory",
      message: `memory[${hex(at)}]: expected ${hex(expected.get(at)!)}, but the page is not ` +
        `readable`,
    };
  }
  return undefined;
}

/** Compares the final state of `sandbox` after `exit` with what `vector` expects. */
export function compareState(
  vector: PvmVector,
  sandbox: Sandbox,
  exit: Exit,
): Difference | undefined {
  if (exit.kind !== vector.expectedStatus) {
    const detail = exit.kind === "page-fault"
      ? ` at ${hex(exit.address)}`
      : exit.kind === "host-call"
      ? ` ${exit.id}`
      : "";
    return {
      kind: "status",
      message: `status: expected ${vector.expectedStatus}, got ${exit.kind}${detail} ` +
        `(pc ${exit.pc})`,
    };
  }
  if (exit.pc !== vector.expectedPc) {
    return { kind: "pc", message: `pc: expected ${vector.expectedPc}, got ${exit.pc}` };
  }
  if (exit.kind === "page-fault" && exit.address !== vector.expectedPageFaultAddress) {
    return {
      kind: "page-fault-address",
      message: `page-fault address: expected ${hex(vector.expectedPageFaultAddress!)}, got ` +
        `${hex(exit.address)}`,
    };
  }
  for (let i = 0; i < REGISTER_COUNT; i++) {
    const want = vector.expectedRegs[i], got = sandbox.regs[i];
    if (want !== got) {
      return {
        kind: "register",
        message: `φ${i}: expected ${want} (${hex(want)}), got ${got} (${hex(got)})`,
      };
    }
  }
  if (sandbox.gas !== vector.expectedGas) {
    return { kind: "gas", message: `gas: expected ${vector.expectedGas}, got ${sandbox.gas}` };
  }
  return compareMemory(vector, sandbox);
}

/** Runs one vector in a bare sandbox and returns its first difference, if any. */
export function runVector(vector: PvmVector, options: RunnerOptions = {}): VectorResult {
  let sandbox: Sandbox | undefined;
  try {
    sandbox = Sandbox.create(Program.parse(vector.program, { container: "raw" }), {
      backend: options.backend,
      init: "bare",
      gas: vector.initialGas,
      entry: vector.initialPc,
    });
    for (const region of vector.initialPageMap) {
      sandbox.memory.map(region.address, region.length, region.writable ? "read-write" : "read");
    }
    for (const chunk of vector.initialMemory) sandbox.memory.write(chunk.address, chunk.contents);
    sandbox.regs.set(vector.initialRegs);
    const exit = sandbox.run();
    return { name: vector.name, difference: compareState(vector, sandbox, exit) };
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
