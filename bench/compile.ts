/**
 * Compile throughput of the native backend's compiler, in MB of PVM code per second, on a
 * program of at least 512 KiB of code: the real programs of `../shared/real-programs/` (an NES
 * emulator and two JAM services) laid end to end until the code is that long, so the
 * instruction mix is what real toolchains emit. Measured twice: the first compile in each of
 * several fresh processes (cold JIT), and warm (repeated compiles in this process); the median
 * and the best run are printed, with the load average, since a busy machine slows every run
 * (warm runs reach the steady state only once V8 reuses freed output buffers instead of
 * faulting in fresh pages, after a few dozen compilations of a program this size);
 * warm runs also in CPU time (this process's threads), which waiting for a CPU does not inflate.
 * The program analysis the compiler reads is timed separately (it is shared with the
 * interpreter and cached per program).
 *
 * Run: deno run -A bench/compile.ts
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { compileProgram } from "../src/compiler/mod.ts";
import { analyzeProgram, type CodeBlob } from "../src/program/analysis.ts";
import { DEFAULT_PROFILE } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { ZYGOTE_CODE_TARGET } from "../src/sandbox/native/code_target.ts";
import { tiledBlob } from "./programs.ts";

const REAL_PROGRAMS = new URL("../../shared/real-programs/", import.meta.url);
const SOURCES = [
  "pinky.jam07.bin",
  "jam-null-authorizer-0.1.25.service-code.bin",
  "test-service-0.1.25.service-code.bin",
];
const MIN_CODE_BYTES = 512 << 10;
const TARGET_MB_PER_S = 74;
const WARM_RUNS = 60;
const FRESH_PROCESSES = 5;

/** The real programs' code, laid end to end to ≥ 512 KiB. */
function bigProgram(): CodeBlob {
  const parts = SOURCES.map((name) =>
    Program.parse(Deno.readFileSync(new URL(name, REAL_PROGRAMS)), { isa: "jam-0.7" }).blob
  );
  return tiledBlob(parts, MIN_CODE_BYTES);
}

function megabytesPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1e3);
}

/** One analysis and one compile, timed: what a fresh process does first. */
function firstCompile(blob: CodeBlob): { analysisMs: number; compileMs: number; out: number } {
  let start = performance.now();
  const analysis = analyzeProgram(blob, DEFAULT_PROFILE);
  const analysisMs = performance.now() - start;
  start = performance.now();
  const compiled = compileProgram(analysis, ZYGOTE_CODE_TARGET);
  return { analysisMs, compileMs: performance.now() - start, out: compiled.code.length };
}

const { values } = parseArgs({ options: { first: { type: "boolean" } } });
if (values.first) {
  // Child mode: report the cold figures as JSON.
  console.log(JSON.stringify(firstCompile(bigProgram())));
  Deno.exit(0);
}

try {
  Deno.statSync(REAL_PROGRAMS);
} catch {
  console.log(`compile throughput: skipped, ${REAL_PROGRAMS.pathname} is absent`);
  Deno.exit(0);
}
const blob = bigProgram();
/** Cold figures of `FRESH_PROCESSES` child processes, each compiling once. */
const colds: { analysisMs: number; compileMs: number }[] = [];
for (let k = 0; k < FRESH_PROCESSES; k++) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--first"],
    stdout: "piped",
    stderr: "inherit",
  }).outputSync();
  if (!child.success) throw new Error("the fresh-process compile failed");
  colds.push(JSON.parse(new TextDecoder().decode(child.stdout)));
}

const analysis = analyzeProgram(blob, DEFAULT_PROFILE);
const warm: number[] = [], warmCpu: number[] = [];
let nativeBytes = 0;
for (let run = 0; run < WARM_RUNS; run++) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  nativeBytes = compileProgram(analysis, ZYGOTE_CODE_TARGET).code.length;
  warm.push(performance.now() - start);
  const used = process.cpuUsage(cpu);
  warmCpu.push((used.user + used.system) / 1000);
}

const bytes = blob.code.length;
const median = (values: number[]): number => values.toSorted((a, b) => a - b)[values.length >> 1];
const line = (what: string, values: number[]) => {
  const figures = [median(values), Math.min(...values)].map((ms) => {
    const rate = megabytesPerSecond(bytes, ms);
    return `${ms.toFixed(1).padStart(7)} ms ${rate.toFixed(1).padStart(6)} MB/s ` +
      `(${(rate / TARGET_MB_PER_S).toFixed(2)}× target)`;
  });
  console.log(`${what.padEnd(28)} median ${figures[0]}   best ${figures[1]}`);
};
console.log(
  `compile throughput: ${bytes} bytes of PVM code (${analysis.count} instructions, ` +
    `${SOURCES.length} real programs end to end) → ${nativeBytes} bytes of x86-64; ` +
    `target ${TARGET_MB_PER_S} MB/s; load average ${Deno.loadavg()[0].toFixed(1)} on ` +
    `${navigator.hardwareConcurrency} CPUs`,
);
line(`compile, fresh process ×${FRESH_PROCESSES}`, colds.map((c) => c.compileMs));
line(`compile, warm ×${WARM_RUNS}`, warm);
line(`  the same, CPU time`, warmCpu);
line(`analysis, fresh process ×${FRESH_PROCESSES}`, colds.map((c) => c.analysisMs));
line("analysis + compile, fresh", colds.map((c) => c.analysisMs + c.compileMs));
