/**
 * Measuring this checkout beside another checkout of pvmbox (say, main before a change) in one
 * sitting: rounds alternate between the two, each in a fresh process running the calling bench
 * script in its measuring mode, against the other checkout's `src/` and `ffi/` through an import
 * map, so only the implementation differs. Shared by the `*_compare.ts` benches.
 * @module
 */

import { parseArgs } from "node:util";
import { median } from "./programs.ts";

const here = new URL("../", import.meta.url);

/** The 1, 5 and 15 minute load averages, as /proc/loadavg gives them. */
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

/**
 * Runs `script` with `args` in a fresh process (against `importMap`'s checkout when given) and
 * parses the JSON sample it prints.
 */
function measureIn<S>(script: URL, args: readonly string[], importMap?: string): S {
  const env = Deno.env.toObject();
  delete env.PVMBOX_NATIVE_LIB; // each checkout loads the library it built
  const output = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(importMap ? [`--import-map=${importMap}`] : []),
      script.pathname,
      ...args,
    ],
    env,
    clearEnv: true,
    stderr: "inherit",
  }).outputSync();
  if (!output.success) throw new Error("a measurement process failed");
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** One figure of the closing summary: its name, where a sample holds it, and how it reads. */
export interface Figure<S> {
  readonly name: string;
  readonly pick: (sample: S) => number;
  readonly format: (value: number) => string;
}

/** What a `*_compare.ts` bench supplies. */
export interface BenchComparison<S> {
  /** The calling script (`import.meta.url`); run with `--measure`, it prints one sample. */
  readonly script: string;
  /** Its size option (how many iterations one measurement makes), passed on when measuring. */
  readonly size: { readonly name: string; readonly default: number };
  /** Measures this process's checkout once. */
  readonly measure: (size: number) => S;
  /** One sample as text, for the per-round lines. */
  readonly show: (sample: S) => string;
  /** The figures summarised at the end, as medians of the rounds. */
  readonly figures: readonly Figure<S>[];
}

/**
 * The whole of a `*_compare.ts` bench: with `--measure`, prints one sample of this checkout as
 * JSON; otherwise alternates `--rounds` rounds (default 6) between the checkout named on the
 * command line and this one, each in a fresh process, printing each round with the load average
 * and then each figure's medians with their ratio (other ÷ this: above 1, this one is faster).
 */
export function runComparison<S>(c: BenchComparison<S>): void {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      measure: { type: "boolean" },
      rounds: { type: "string", default: "6" },
      [c.size.name]: { type: "string", default: String(c.size.default) },
    },
  });
  const size = Number(values[c.size.name]);
  if (values.measure) {
    console.log(JSON.stringify(c.measure(size)));
    return;
  }
  if (positionals.length !== 1) {
    const name = new URL(c.script).pathname.split("/").pop();
    console.error(
      `usage: deno run -A bench/${name} <other checkout> [--rounds N] [--${c.size.name} N]`,
    );
    Deno.exit(2);
  }
  const other = new URL(`${Deno.realPathSync(positionals[0])}/`, "file:///");
  const importMap = importMapTo(other);
  const script = new URL(c.script);
  const measureArgs = ["--measure", `--${c.size.name}`, String(size)];
  const mine: S[] = [], theirs: S[] = [];
  console.log(`other: ${other.pathname}   this: ${here.pathname}`);
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      const load = loadAverage();
      // Alternate which goes first, so a change of load during a round favours neither.
      const first = round % 2 === 0;
      const a = measureIn<S>(script, measureArgs, first ? importMap : undefined);
      const b = measureIn<S>(script, measureArgs, first ? undefined : importMap);
      const [t, m] = first ? [a, b] : [b, a];
      theirs.push(t);
      mine.push(m);
      console.log(`round ${round + 1}  load ${load}\n  other: ${c.show(t)}\n  this:  ${c.show(m)}`);
    }
  } finally {
    Deno.removeSync(importMap);
  }
  const summary = c.figures.map(({ name, pick, format }) => {
    const [t, m] = [median(theirs.map(pick)), median(mine.map(pick))];
    return `${name} ${format(t)} → ${format(m)} (${(t / m).toFixed(2)}×)`;
  });
  console.log(`median of rounds (other → this): ${summary.join("; ")}`);
  console.log(`load average now ${loadAverage()}`);
}
