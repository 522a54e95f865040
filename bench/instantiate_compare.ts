/**
 * Instantiating from the warm pool, this checkout beside another checkout of pvmbox (say, main
 * before a change), measured in one sitting: rounds alternate between the two, each in a fresh
 * process, and the same measurement code (`bench/native.ts` of this checkout) runs against the
 * other checkout's `src/` and `ffi/` through an import map, so only the implementation differs.
 * The other checkout needs its native library built (`deno task build` there).
 *
 * `deno run -A bench/instantiate_compare.ts <other checkout> [--rounds 6] [--count 3000]`
 * @module
 */
import { parseArgs } from "node:util";
import { compareCheckouts, loadAverage } from "./checkout_compare.ts";
import { resetDirty, sampleImage, sandboxInstantiate, warmInstantiate } from "./native.ts";
import { median } from "./programs.ts";

/** One measurement of one checkout, medians in µs. */
interface Sample {
  /** `Sandbox.create` from the warm pool + run of memory.s to its halt + dispose. */
  readonly sandbox: number;
  /** Through a `ZygotePool`: acquire + apply an image + empty run + release. */
  readonly image: number;
  /** `Zygote.reset()` after the guest dirtied 1 MiB. */
  readonly reset: number;
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    measure: { type: "boolean" },
    rounds: { type: "string", default: "6" },
    count: { type: "string", default: "3000" },
  },
});
const count = Number(values.count);

if (values.measure) {
  const sample: Sample = {
    sandbox: sandboxInstantiate("native", count).median,
    image: warmInstantiate(count, sampleImage()).median,
    reset: resetDirty(Math.ceil(count / 10)).median,
  };
  console.log(JSON.stringify(sample));
} else {
  if (positionals.length !== 1) {
    console.error("usage: deno run -A bench/instantiate_compare.ts <other checkout> [--rounds N]");
    Deno.exit(2);
  }
  const show = (s: Sample) =>
    `Sandbox ${s.sandbox.toFixed(1)} µs, pool + image ${s.image.toFixed(1)} µs, ` +
    `reset after 1 MiB ${s.reset.toFixed(1)} µs`;
  const { theirs, mine } = compareCheckouts<Sample>({
    script: new URL(import.meta.url),
    measureArgs: ["--measure", "--count", String(count)],
    other: positionals[0],
    rounds: Number(values.rounds),
    show,
  });
  const summary = (pick: (s: Sample) => number) => {
    const [t, m] = [median(theirs.map(pick)), median(mine.map(pick))];
    return `${t.toFixed(1)} µs → ${m.toFixed(1)} µs (${(t / m).toFixed(2)}× faster)`;
  };
  console.log(
    `median of rounds: Sandbox create + run + dispose ${summary((s) => s.sandbox)}; ` +
      `pool + image ${summary((s) => s.image)}; reset after 1 MiB ${summary((s) => s.reset)}`,
  );
  console.log(`load average now ${loadAverage()}`);
}
