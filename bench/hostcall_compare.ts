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
import { hostCallRoundTrip, sandboxHostCall } from "./native.ts";

/** One measurement of one checkout. */
interface Sample {
  /** `Zygote.resume()` round trip in µs (median of batch means). */
  readonly raw: number;
  /** Host call through `Sandbox.invoke` and a TypeScript handler in µs (median of batch means). */
  readonly sandbox: number;
}

const here = new URL("../", import.meta.url);

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/** An import map sending this checkout's `src/` and `ffi/` to `other`'s; returns its path. */
function importMapTo(other: URL): string {
  const imports: Record<string, string> = {};
  for (const dir of ["src/", "ffi/"]) imports[new URL(dir, here).href] = new URL(dir, other).href;
  const path = Deno.makeTempFileSync({ suffix: ".json" });
  Deno.writeTextFileSync(path, JSON.stringify({ imports }));
  return path;
}

/** Measures in a fresh process, against `importMap`'s checkout when given. */
function measureIn(calls: number, importMap?: string): Sample {
  const env = Deno.env.toObject();
  delete env.PVMBOX_NATIVE_LIB; // each checkout loads the library it built
  const args = ["run", "-A", ...(importMap ? [`--import-map=${importMap}`] : [])];
  const output = new Deno.Command(Deno.execPath(), {
    args: [...args, new URL(import.meta.url).pathname, "--measure", "--calls", String(calls)],
    env,
    clearEnv: true,
    stderr: "inherit",
  }).outputSync();
  if (!output.success) throw new Error("a measurement process failed");
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
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
  const other = new URL(`${Deno.realPathSync(positionals[0])}/`, "file:///");
  const importMap = importMapTo(other);
  const mine: Sample[] = [], theirs: Sample[] = [];
  const show = (s: Sample) => `raw ${s.raw.toFixed(2)} µs, via handler ${s.sandbox.toFixed(2)} µs`;
  console.log(`other: ${other.pathname}   this: ${new URL(here).pathname}`);
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      const load = loadAverage();
      // Alternate which goes first, so a change of load during a round favours neither.
      const first = round % 2 === 0;
      const a = measureIn(calls, first ? importMap : undefined);
      const b = measureIn(calls, first ? undefined : importMap);
      const [t, m] = first ? [a, b] : [b, a];
      theirs.push(t);
      mine.push(m);
      console.log(`round ${round + 1}  load ${load}  other: ${show(t)}  this: ${show(m)}`);
    }
  } finally {
    Deno.removeSync(importMap);
  }
  const summary = (pick: (s: Sample) => number) => {
    const [t, m] = [median(theirs.map(pick)), median(mine.map(pick))];
    return `${t.toFixed(2)} µs → ${m.toFixed(2)} µs (${(t / m).toFixed(1)}× faster)`;
  };
  console.log(
    `median of rounds: raw ${summary((s) => s.raw)}; via handler ${summary((s) => s.sandbox)}`,
  );
  console.log(`load average now ${loadAverage()}`);
}
