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
import { runComparison } from "./checkout_compare.ts";
import { hostCallRoundTrip, sandboxHostCall } from "./native.ts";

/** One measurement of one checkout. */
interface Sample {
  /** `Zygote.resume()` round trip in µs (median of batch means). */
  readonly raw: number;
  /** Host call through `Sandbox.invoke` and a TypeScript handler in µs (median of batch means). */
  readonly sandbox: number;
}

const µs = (value: number) => `${value.toFixed(2)} µs`;
runComparison<Sample>({
  script: import.meta.url,
  size: { name: "calls", default: 50_000 },
  measure: (calls) => ({
    raw: hostCallRoundTrip(calls).median,
    sandbox: sandboxHostCall("native", calls).median,
  }),
  show: (s) => `raw ${µs(s.raw)}, via handler ${µs(s.sandbox)}`,
  figures: [
    { name: "raw", pick: (s) => s.raw, format: µs },
    { name: "via handler", pick: (s) => s.sandbox, format: µs },
  ],
});
