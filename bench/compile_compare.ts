/**
 * Compile throughput of this checkout beside another checkout of pvmbox (say, main before a
 * change), measured in one sitting: rounds alternate between the two, each in a fresh process
 * that analyses and compiles the ≥ 512 KiB program once (the fresh-process figures) and then
 * compiles it `--warm` more times (the warm figures). The same measurement code
 * (`bench/compile_measure.ts` of this checkout) runs against the other checkout's `src/` and
 * `ffi/` through an import map, so only the implementation differs.
 *
 * `deno run -A bench/compile_compare.ts <other checkout> [--rounds 6] [--warm 40]`
 * @module
 */
import { parseArgs } from "node:util";
import { analyseAndCompile, bigProgram, type Cost, warmCompiles } from "./compile_measure.ts";
import { compareCheckouts, loadAverage } from "./checkout_compare.ts";
import { median } from "./programs.ts";

/** One fresh process's figures (ms). */
interface Sample {
  /** The first analysis, wall time. */
  readonly analysis: number;
  /** The first compile, wall time. */
  readonly compile: number;
  /** Page faults of the first analysis and compile. */
  readonly faults: number;
  /** Median and best of the warm compiles, wall time. */
  readonly warm: number;
  readonly warmBest: number;
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    measure: { type: "boolean" },
    rounds: { type: "string", default: "6" },
    warm: { type: "string", default: "40" },
  },
});
const warmRuns = Number(values.warm);

if (values.measure) {
  const blob = bigProgram();
  const first = analyseAndCompile(blob);
  const warm = warmCompiles(blob, warmRuns).map((c: Cost) => c.ms);
  const sample: Sample = {
    analysis: first.analysis.ms,
    compile: first.compile.ms,
    faults: first.analysis.faults + first.compile.faults,
    warm: median(warm),
    warmBest: Math.min(...warm),
  };
  console.log(JSON.stringify(sample));
} else {
  if (positionals.length !== 1) {
    console.error("usage: deno run -A bench/compile_compare.ts <other checkout> [--rounds N]");
    Deno.exit(2);
  }
  const { theirs, mine } = compareCheckouts<Sample>({
    script: new URL(import.meta.url),
    measureArgs: ["--measure", "--warm", String(warmRuns)],
    other: positionals[0],
    rounds: Number(values.rounds),
    show: (s) =>
      `first analysis ${s.analysis.toFixed(0)} ms + compile ${s.compile.toFixed(0)} ms ` +
      `(${s.faults} faults), warm compile ${s.warm.toFixed(1)} ms (best ${s.warmBest.toFixed(1)})`,
  });
  const summary = (what: string, pick: (s: Sample) => number) => {
    const [t, m] = [median(theirs.map(pick)), median(mine.map(pick))];
    return `${what} ${t.toFixed(1)} → ${m.toFixed(1)} ms (${(t / m).toFixed(2)}×)`;
  };
  console.log(
    `median of rounds: ${summary("first analysis", (s) => s.analysis)}; ` +
      `${summary("first compile", (s) => s.compile)}; ` +
      `${summary("both", (s) => s.analysis + s.compile)}; ` +
      `${summary("warm compile", (s) => s.warm)}; ${summary("best warm", (s) => s.warmBest)}`,
  );
  console.log(`load average now ${loadAverage()}`);
}
