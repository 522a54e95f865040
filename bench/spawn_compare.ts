/**
 * Cold spawn, this checkout beside another checkout of pvmbox (say, main before a change),
 * measured in one sitting: rounds alternate between the two, each in a fresh process, and the
 * same measurement code (`coldSpawn` of `bench/native.ts`) runs against the other checkout's
 * `src/` and `ffi/` through an import map, so only the implementation differs. The other
 * checkout needs its native library built (`deno task build` there).
 *
 * `deno run -A bench/spawn_compare.ts <other checkout> [--rounds 6] [--count 100]`
 * @module
 */
import { runComparison } from "./checkout_compare.ts";
import { coldSpawn } from "./native.ts";

/** One measurement of one checkout, in ms. */
interface Sample {
  /** Median for a zygote with full isolation, from nothing to ready. */
  readonly full: number;
  /** Its 10th percentile: the work itself, less the waits for a CPU other processes cause. */
  readonly fullP10: number;
  /** Median with the weak profile (no namespaces). */
  readonly weak: number;
}

const ms = (value: number) => `${value.toFixed(3)} ms`;
runComparison<Sample>({
  script: import.meta.url,
  size: { name: "count", default: 100 },
  measure: (count) => {
    const full = coldSpawn(count);
    return { full: full.median, fullP10: full.p10, weak: coldSpawn(count, true).median };
  },
  show: (s) =>
    `cold spawn ${ms(s.full)} (10th percentile ${ms(s.fullP10)}; weak profile ${ms(s.weak)})`,
  figures: [
    { name: "cold spawn", pick: (s) => s.full, format: ms },
    { name: "10th percentile", pick: (s) => s.fullP10, format: ms },
    { name: "weak profile", pick: (s) => s.weak, format: ms },
  ],
});
