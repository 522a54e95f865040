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
import { runComparison } from "./checkout_compare.ts";
import { resetDirty, sampleImage, sandboxInstantiate, warmInstantiate } from "./native.ts";

/** One measurement of one checkout, medians in µs. */
interface Sample {
  /** `Sandbox.create` from the warm pool + run of memory.s to its halt + dispose. */
  readonly sandbox: number;
  /** Through a `ZygotePool`: acquire + apply an image + empty run + release. */
  readonly image: number;
  /** `Zygote.reset()` after the guest dirtied 1 MiB. */
  readonly reset: number;
}

const µs = (value: number) => `${value.toFixed(1)} µs`;
runComparison<Sample>({
  script: import.meta.url,
  size: { name: "count", default: 3000 },
  measure: (count) => ({
    sandbox: sandboxInstantiate("native", count).median,
    image: warmInstantiate(count, sampleImage()).median,
    reset: resetDirty(Math.ceil(count / 10)).median,
  }),
  show: (s) =>
    `Sandbox ${µs(s.sandbox)}, pool + image ${µs(s.image)}, reset after 1 MiB ${µs(s.reset)}`,
  figures: [
    { name: "Sandbox create + run + dispose", pick: (s) => s.sandbox, format: µs },
    { name: "pool + image", pick: (s) => s.image, format: µs },
    { name: "reset after 1 MiB", pick: (s) => s.reset, format: µs },
  ],
});
