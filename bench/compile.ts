/**
 * Compile throughput of the native backend's compiler, in MB of PVM code per second, on a
 * program of at least 512 KiB of code: the real programs of `../shared/real-programs/` (an NES
 * emulator and two JAM services) laid end to end until the code is that long, so the
 * instruction mix is what real toolchains emit. Two figures against the target: the compiler
 * alone, and the program analysis plus the compiler (what a user waits for; the analysis is
 * shared with the interpreter and cached per program, so each warm run analyses a distinct
 * copy). Each is measured on the first compile in each of several fresh processes (cold JIT,
 * no memory to reuse) and warm (repeated in this process); the median and the best run are
 * printed, with the load average, since a busy machine slows every run, and also in CPU time
 * (this process's threads), which waiting for a CPU does not inflate. Where the system reports
 * them, the minor page faults of each phase are printed too: every first touch of fresh memory
 * costs one per 4 KiB page, which on some virtual machines takes longer than the compiling
 * (warm runs reuse freed memory once the allocator holds on to it, after a few dozen runs).
 *
 * Run: deno run -A bench/compile.ts
 * @module
 */
import { parseArgs } from "node:util";
import {
  analyseAndCompile,
  bigProgram,
  type Compilation,
  type Cost,
  distinct,
  REAL_PROGRAMS,
  SOURCES,
  warmCompiles,
} from "./compile_measure.ts";
import { median } from "./programs.ts";

const TARGET_MB_PER_S = 74;
const WARM_RUNS = 60;
const FRESH_PROCESSES = 5;

const { values } = parseArgs({ options: { first: { type: "boolean" } } });
if (values.first) {
  // Child mode: report the cold figures as JSON.
  console.log(JSON.stringify(analyseAndCompile(bigProgram())));
  Deno.exit(0);
}

try {
  Deno.statSync(REAL_PROGRAMS);
} catch {
  console.log(`compile throughput: skipped, ${REAL_PROGRAMS.pathname} is absent`);
  Deno.exit(0);
}
const blob = bigProgram();
/** Cold figures of `FRESH_PROCESSES` child processes, each analysing and compiling once. */
const colds: Compilation[] = [];
for (let k = 0; k < FRESH_PROCESSES; k++) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--first"],
    stdout: "piped",
    stderr: "inherit",
  }).outputSync();
  if (!child.success) throw new Error("the fresh-process compile failed");
  colds.push(JSON.parse(new TextDecoder().decode(child.stdout)));
}

// Warm: the compiler alone on one analysis, then analysis and compiler on distinct copies.
const warm = warmCompiles(blob, WARM_RUNS);
const warmBoth: Compilation[] = [];
for (let run = 0; run < WARM_RUNS; run++) warmBoth.push(analyseAndCompile(distinct(blob)));

const bytes = blob.code.length;
const sum = (a: Cost, b: Cost): Cost => ({
  ms: a.ms + b.ms,
  cpuMs: a.cpuMs + b.cpuMs,
  faults: a.faults + b.faults,
});
const line = (what: string, ms: number[]) => {
  const figures = [median(ms), Math.min(...ms)].map((t) => {
    const rate = bytes / 1e6 / (t / 1e3);
    return `${t.toFixed(1).padStart(7)} ms ${rate.toFixed(1).padStart(6)} MB/s ` +
      `(${(rate / TARGET_MB_PER_S).toFixed(2)}× target)`;
  });
  console.log(`  ${what.padEnd(26)} median ${figures[0]}   best ${figures[1]}`);
};
const lines = (what: string, costs: Cost[]) => {
  line(what, costs.map((c) => c.ms));
  line("  the same, CPU time", costs.map((c) => c.cpuMs));
};
console.log(
  `compile throughput: ${bytes} bytes of PVM code (${SOURCES.length} real programs end to ` +
    `end) → ${warmBoth[0].out} bytes of x86-64; ` +
    `target ${TARGET_MB_PER_S} MB/s; load average ${Deno.loadavg()[0].toFixed(1)} on ` +
    `${navigator.hardwareConcurrency} CPUs`,
);
console.log("compiler alone:");
lines(`fresh process ×${FRESH_PROCESSES}`, colds.map((c) => c.compile));
lines(`warm ×${WARM_RUNS}`, warm);
// The first warm runs still fault in their result memory; the later ones reuse freed memory.
lines(`  of which the first ${WARM_RUNS / 2}`, warm.slice(0, WARM_RUNS / 2));
lines(`  of which the last ${WARM_RUNS / 2}`, warm.slice(WARM_RUNS / 2));
console.log("analysis + compiler (what a user waits for):");
lines(`fresh process ×${FRESH_PROCESSES}`, colds.map((c) => sum(c.analysis, c.compile)));
lines(`warm ×${WARM_RUNS}`, warmBoth.map((c) => sum(c.analysis, c.compile)));
console.log("analysis alone:");
lines(`fresh process ×${FRESH_PROCESSES}`, colds.map((c) => c.analysis));
lines(`warm ×${WARM_RUNS}`, warmBoth.map((c) => c.analysis));
if (!Number.isNaN(warm[0].faults)) {
  const faults = (costs: Cost[]) => median(costs.map((c) => c.faults));
  console.log(
    `minor page faults (median): fresh process analysis ${faults(colds.map((c) => c.analysis))}, ` +
      `compile ${faults(colds.map((c) => c.compile))}; warm analysis ` +
      `${faults(warmBoth.map((c) => c.analysis))}, compile ${faults(warm)} ` +
      `(last ${WARM_RUNS / 2}: ${faults(warm.slice(WARM_RUNS / 2))})`,
  );
}
