/**
 * What the compile benches measure, shared by `compile.ts` and `compile_compare.ts`: the real
 * programs of `../shared/real-programs/` laid end to end to ≥ 512 KiB of code, and the wall
 * time, CPU time and minor page faults of analysing and compiling it.
 * @module
 */
import process from "node:process";
import { compileProgram } from "../src/compiler/mod.ts";
import { analyzeProgram, type CodeBlob } from "../src/program/analysis.ts";
import { DEFAULT_PROFILE } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { ZYGOTE_CODE_TARGET } from "../src/sandbox/native/code_target.ts";
import { tiledBlob } from "./programs.ts";

/** Where the real programs are. */
export const REAL_PROGRAMS: URL = new URL("../../shared/real-programs/", import.meta.url);
/** The real programs laid end to end. */
export const SOURCES: readonly string[] = [
  "pinky.jam07.bin",
  "jam-null-authorizer-0.1.25.service-code.bin",
  "test-service-0.1.25.service-code.bin",
];
const MIN_CODE_BYTES = 512 << 10;

/** The real programs' code, laid end to end to ≥ 512 KiB. */
export function bigProgram(): CodeBlob {
  const parts = SOURCES.map((name) =>
    Program.parse(Deno.readFileSync(new URL(name, REAL_PROGRAMS)), { isa: "jam-0.7" }).blob
  );
  return tiledBlob(parts, MIN_CODE_BYTES);
}

let copies = 0;
/** A copy of `blob` no earlier analysis has seen (one more jump-table entry). */
export function distinct(blob: CodeBlob): CodeBlob {
  return { ...blob, jumpTable: [...Array.from(blob.jumpTable), ++copies] };
}

/** This process's minor page faults so far, or NaN where /proc does not say. */
function pageFaults(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ")[7]);
  } catch {
    return NaN;
  }
}

/** Wall time and CPU time (this process's threads) in ms, and minor page faults, of a phase. */
export interface Cost {
  /** Wall time. */
  readonly ms: number;
  /** CPU time of all the process's threads (the JIT compiles and collects on its own). */
  readonly cpuMs: number;
  /** First touches of fresh memory pages. */
  readonly faults: number;
}

/** Runs `phase` and measures it. */
export function measure<T>(phase: () => T): { value: T; cost: Cost } {
  const faults = pageFaults(), cpu = process.cpuUsage(), start = performance.now();
  const value = phase();
  const ms = performance.now() - start, used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return { value, cost: { ms, cpuMs, faults: pageFaults() - faults } };
}

/** Analysis and compile of one blob, each measured. */
export interface Compilation {
  /** The program analysis. */
  readonly analysis: Cost;
  /** The compiler. */
  readonly compile: Cost;
  /** Bytes of machine code. */
  readonly out: number;
}

/** Analyses `blob` (which the process should not have analysed before) and compiles it. */
export function analyseAndCompile(blob: CodeBlob): Compilation {
  const analysed = measure(() => analyzeProgram(blob, DEFAULT_PROFILE));
  const compiled = measure(() => compileProgram(analysed.value, ZYGOTE_CODE_TARGET));
  return { analysis: analysed.cost, compile: compiled.cost, out: compiled.value.code.length };
}

/** `runs` compiles of one analysis of `blob`, each measured. */
export function warmCompiles(blob: CodeBlob, runs: number): Cost[] {
  const analysis = analyzeProgram(blob, DEFAULT_PROFILE);
  return Array.from(
    { length: runs },
    () => measure(() => compileProgram(analysis, ZYGOTE_CODE_TARGET)).cost,
  );
}
