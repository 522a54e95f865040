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
import { parseArgs } from "node:util";
import { compareCheckouts, loadAverage } from "./checkout_compare.ts";
import { coldSpawn } from "./native.ts";
import { median } from "./programs.ts";

/** One measurement of one checkout, in ms. */
interface Sample {
  /** Median for a zygote with full isolation, from nothing to ready. */
  readonly full: number;
  /** Its 10th percentile: the work itself, less the waits for a CPU other processes cause. */
  readonly fullP10: number;
  /** Median with the weak profile (no namespaces). */
  readonly weak: number;
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    measure: { type: "boolean" },
    rounds: { type: "string", default: "6" },
    count: { type: "string", default: "100" },
  },
});
const count = Number(values.count);

if (values.measure) {
  const full = coldSpawn(count);
  const sample: Sample = {
    full: full.median,
    fullP10: full.p10,
    weak: coldSpawn(count, true).median,
  };
  console.log(JSON.stringify(sample));
} else {
  if (positionals.length !== 1) {
    console.error("usage: deno run -A bench/spawn_compare.ts <other checkout> [--rounds N]");
    Deno.exit(2);
  }
  const show = (s: Sample) =>
    `cold spawn ${s.full.toFixed(3)} ms (10th percentile ${s.fullP10.toFixed(3)} ms; ` +
    `weak profile ${s.weak.toFixed(3)} ms)`;
  const { theirs, mine } = compareCheckouts<Sample>({
    script: new URL(import.meta.url),
    measureArgs: ["--measure", "--count", String(count)],
    other: positionals[0],
    rounds: Number(values.rounds),
    show,
  });
  const summary = (pick: (s: Sample) => number) => {
    const [t, m] = [median(theirs.map(pick)), median(mine.map(pick))];
    return `${t.toFixed(3)} ms → ${m.toFixed(3)} ms (${(t / m).toFixed(2)}× faster)`;
  };
  console.log(
    `median of rounds: cold spawn ${summary((s) => s.full)}; ` +
      `10th percentile ${summary((s) => s.fullP10)}; weak profile ${summary((s) => s.weak)}`,
  );
  console.log(`load average now ${loadAverage()}`);
}
