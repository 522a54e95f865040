/**
 * What the program analysis costs under each ISA profile, side by side: the same program — the
 * NES emulator pinky, in jam-0.7 and in jam-0.8 numbering — analysed as it is (41 KB) and laid
 * end to end to ≥ 512 KiB. The jam-0.8 analysis adds the pipeline gas model (a cycle-level
 * simulation of every basic block); the target is at most +50 % over jam-0.7. Each run analyses
 * a distinct copy (one extra jump-table entry), so the analysis cache never answers. Then the
 * compiler's warm throughput on the ≥ 512 KiB program under each profile (the compile bench's
 * target, 74 MB/s, is for jam-0.7 code of several real programs; here the same program twice).
 *
 * Run: deno run -A bench/analysis.ts
 * @module
 */
import { analyzeProgram, type CodeBlob } from "../src/program/analysis.ts";
import { type IsaName, PROFILES } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { compileProgram } from "../src/compiler/mod.ts";
import { ZYGOTE_CODE_TARGET } from "../src/sandbox/native/code_target.ts";
import { tiledBlob } from "./programs.ts";

const REAL_PROGRAMS = new URL("../../shared/real-programs/", import.meta.url);
const MIN_CODE_BYTES = 512 << 10;
const TARGET_OVERHEAD = 1.5;
const RUNS = 21;

let fresh = 0;
/** A copy of `blob` no earlier analysis has seen. */
function distinct(blob: CodeBlob): CodeBlob {
  return { ...blob, jumpTable: [...Array.from(blob.jumpTable), ++fresh] };
}

/** Milliseconds of one analysis of a fresh copy of `blob` under `isa`. */
function once(blob: CodeBlob, isa: IsaName): number {
  const copy = distinct(blob);
  const start = performance.now();
  analyzeProgram(copy, PROFILES[isa]);
  return performance.now() - start;
}

/** Figures of one program: medians and bests, and the median of the paired ratios. */
interface Figures {
  readonly old: { median: number; best: number };
  readonly now: { median: number; best: number };
  readonly ratio: number;
}

/**
 * Times both profiles in alternating pairs, so load on the (shared, noisy) machine hits both
 * alike; the ratio is the median of the per-pair ratios.
 */
function pairs(blobs: Record<"jam-0.7" | "jam-0.8", CodeBlob>): Figures {
  const olds: number[] = [], nows: number[] = [], ratios: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    let old: number, now: number;
    if (run % 2 === 0) {
      old = once(blobs["jam-0.7"], "jam-0.7");
      now = once(blobs["jam-0.8"], "jam-0.8");
    } else {
      now = once(blobs["jam-0.8"], "jam-0.8");
      old = once(blobs["jam-0.7"], "jam-0.7");
    }
    olds.push(old);
    nows.push(now);
    ratios.push(now / old);
  }
  const median = (v: number[]) => v.toSorted((x, y) => x - y)[v.length >> 1];
  return {
    old: { median: median(olds), best: Math.min(...olds) },
    now: { median: median(nows), best: Math.min(...nows) },
    ratio: median(ratios),
  };
}

try {
  Deno.statSync(REAL_PROGRAMS);
} catch {
  console.log(`analysis by profile: skipped, ${REAL_PROGRAMS.pathname} is absent`);
  Deno.exit(0);
}

const pinky = (isa: IsaName, file: string): CodeBlob =>
  Program.parse(Deno.readFileSync(new URL(file, REAL_PROGRAMS)), { container: "raw", isa }).blob;
const cases: { what: string; blobs: Record<"jam-0.7" | "jam-0.8", CodeBlob> }[] = [];
const pinky07 = pinky("jam-0.7", "pinky.jam07.bin"), pinky08 = pinky("jam-0.8", "pinky.jam08.bin");
cases.push({ what: "pinky", blobs: { "jam-0.7": pinky07, "jam-0.8": pinky08 } });
cases.push({
  what: "pinky ×n ≥ 512 KiB",
  blobs: {
    "jam-0.7": tiledBlob([pinky07], MIN_CODE_BYTES),
    "jam-0.8": tiledBlob([pinky08], MIN_CODE_BYTES),
  },
});

// Warm the JIT on both profiles before measuring.
for (const c of cases) pairs(c.blobs);

const header = `${"program".padEnd(22)}${"code".padStart(10)}` +
  `${"jam-0.7 ms".padStart(14)}${"jam-0.8 ms".padStart(14)}${"0.8 / 0.7".padStart(12)}  target`;
console.log(
  `program analysis by ISA profile (median of ${RUNS} alternating pairs; best in brackets; ` +
    `ratio = median of the pairs' ratios)`,
);
console.log(header);
console.log("─".repeat(header.length));
for (const c of cases) {
  const { old, now, ratio } = pairs(c.blobs);
  const ms = (t: { median: number; best: number }) =>
    `${t.median.toFixed(1)} (${t.best.toFixed(1)})`.padStart(14);
  console.log(
    `${c.what.padEnd(22)}${`${c.blobs["jam-0.8"].code.length} B`.padStart(10)}` +
      `${ms(old)}${ms(now)}${`${ratio.toFixed(2)}×`.padStart(12)}  ` +
      `≤ ${TARGET_OVERHEAD.toFixed(2)}× ${ratio <= TARGET_OVERHEAD ? "met" : "NOT met"}`,
  );
}

const big = cases[1].blobs;
const compiles: Record<string, number[]> = { "jam-0.7": [], "jam-0.8": [] };
for (let run = 0; run < RUNS; run++) {
  for (const isa of ["jam-0.7", "jam-0.8"] as const) {
    const analysis = analyzeProgram(big[isa], PROFILES[isa]);
    const start = performance.now();
    compileProgram(analysis, ZYGOTE_CODE_TARGET);
    compiles[isa].push(performance.now() - start);
  }
}
console.log(`\ncompile, warm (${big["jam-0.8"].code.length} B of code; median of ${RUNS}, best):`);
for (const isa of ["jam-0.7", "jam-0.8"] as const) {
  const sorted = compiles[isa].toSorted((a, b) => a - b);
  const rate = (ms: number) => (big[isa].code.length / 1e6 / (ms / 1e3)).toFixed(1);
  console.log(
    `  ${isa}  ${sorted[sorted.length >> 1].toFixed(1)} ms (${rate(sorted[sorted.length >> 1])} ` +
      `MB/s), best ${sorted[0].toFixed(1)} ms (${rate(sorted[0])} MB/s)`,
  );
}
console.log(`load average: ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
