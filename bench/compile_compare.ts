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
function measureIn(warm: number, importMap?: string): Sample {
  const args = ["run", "-A", ...(importMap ? [`--import-map=${importMap}`] : [])];
  const output = new Deno.Command(Deno.execPath(), {
    args: [...args, new URL(import.meta.url).pathname, "--measure", "--warm", String(warm)],
    stderr: "inherit",
  }).outputSync();
  if (!output.success) throw new Error("a measurement process failed");
  return JSON.parse(new TextDecoder().decode(output.stdout));
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
  const other = new URL(`${Deno.realPathSync(positionals[0])}/`, "file:///");
  const importMap = importMapTo(other);
  const mine: Sample[] = [], theirs: Sample[] = [];
  const show = (s: Sample) =>
    `first analysis ${s.analysis.toFixed(0)} ms + compile ${s.compile.toFixed(0)} ms ` +
    `(${s.faults} faults), warm compile ${s.warm.toFixed(1)} ms (best ${s.warmBest.toFixed(1)})`;
  console.log(`other: ${other.pathname}   this: ${new URL(here).pathname}`);
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      const load = loadAverage();
      // Alternate which goes first, so a change of load during a round favours neither.
      const first = round % 2 === 0;
      const a = measureIn(warmRuns, first ? importMap : undefined);
      const b = measureIn(warmRuns, first ? undefined : importMap);
      const [t, m] = first ? [a, b] : [b, a];
      theirs.push(t);
      mine.push(m);
      console.log(`round ${round + 1}  load ${load}\n  other: ${show(t)}\n  this:  ${show(m)}`);
    }
  } finally {
    Deno.removeSync(importMap);
  }
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
