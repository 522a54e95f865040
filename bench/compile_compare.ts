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
import { analyseAndCompile, bigProgram, warmCompiles } from "./compile_measure.ts";
import { runComparison } from "./checkout_compare.ts";
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

const ms = (value: number) => `${value.toFixed(1)} ms`;
runComparison<Sample>({
  script: import.meta.url,
  size: { name: "warm", default: 40 },
  measure: (warmRuns) => {
    const blob = bigProgram();
    const first = analyseAndCompile(blob);
    const warm = warmCompiles(blob, warmRuns).map((c) => c.ms);
    return {
      analysis: first.analysis.ms,
      compile: first.compile.ms,
      faults: first.analysis.faults + first.compile.faults,
      warm: median(warm),
      warmBest: Math.min(...warm),
    };
  },
  show: (s) =>
    `first analysis ${ms(s.analysis)} + compile ${ms(s.compile)} (${s.faults} faults), ` +
    `warm compile ${ms(s.warm)} (best ${ms(s.warmBest)})`,
  figures: [
    { name: "first analysis", pick: (s) => s.analysis, format: ms },
    { name: "first compile", pick: (s) => s.compile, format: ms },
    { name: "both", pick: (s) => s.analysis + s.compile, format: ms },
    { name: "warm compile", pick: (s) => s.warm, format: ms },
    { name: "best warm", pick: (s) => s.warmBest, format: ms },
  ],
});
