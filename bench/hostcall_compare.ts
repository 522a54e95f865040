/**
 * The host-call round trip of this checkout beside another checkout of pvmbox (say, main before
 * a change), measured in one sitting: rounds alternate between the two, each in a fresh process,
 * and the same measurement code (`bench/native.ts` of this checkout) runs against the other
 * checkout's `src/` and `ffi/` through an import map, so only the implementation differs. The
 * other checkout needs its native library built (`deno task build` there).
 *
 * `deno run -A bench/hostcall_compare.ts <other checkout> [--rounds 6] [--calls 50000]`
 * @module
 */
import { parseArgs } from "node:util";
import { compareCheckouts, loadAverage } from "./checkout_compare.ts";
import { hostCallRoundTrip, sandboxHostCall } from "./native.ts";
import { median } from "./programs.ts";

/** One measurement of one checkout. */
interface Sample {
  /** `Zygote.resume()` round trip in µs (median of batch means). */
  readonly raw: number;
  /** Host call through `Sandbox.invoke` and a TypeScript handler in µs (median of batch means). */
  readonly sandbox: number;
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    measure: { type: "boolean" },
    rounds: { type: "string", default: "6" },
    calls: { type: "string", default: "50000" },
  },
});
const calls = Number(values.calls);

if (values.measure) {
  const sample: Sample = {
    raw: hostCallRoundTrip(calls).median,
    sandbox: sandboxHostCall("native", calls).median,
  };
  console.log(JSON.stringify(sample));
} else {
  if (positionals.length !== 1) {
    console.error("usage: deno run -A bench/hostcall_compare.ts <other checkout> [--rounds N]");
    Deno.exit(2);
  }
  const { theirs, mine } = compareCheckouts<Sample>({
    script: new URL(import.meta.url),
    measureArgs: ["--measure", "--calls", String(calls)],
    other: positionals[0],
    rounds: Number(values.rounds),
    show: (s) => `raw ${s.raw.toFixed(2)} µs, via handler ${s.sandbox.toFixed(2)} µs`,
  });
  const summary = (pick: (s: Sample) => number) => {
    const [t, m] = [median(theirs.map(pick)), median(mine.map(pick))];
    return `${t.toFixed(2)} µs → ${m.toFixed(2)} µs (${(t / m).toFixed(1)}× faster)`;
  };
  console.log(
    `median of rounds: raw ${summary((s) => s.raw)}; via handler ${summary((s) => s.sandbox)}`,
  );
  console.log(`load average now ${loadAverage()}`);
}
