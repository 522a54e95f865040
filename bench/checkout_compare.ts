/**
 * Measuring this checkout beside another checkout of pvmbox (say, main before a change) in one
 * sitting: rounds alternate between the two, each in a fresh process running the calling bench
 * script in its measuring mode, against the other checkout's `src/` and `ffi/` through an import
 * map, so only the implementation differs. Shared by the `*_compare.ts` benches.
 * @module
 */

const here = new URL("../", import.meta.url);

/** The 1, 5 and 15 minute load averages, as /proc/loadavg gives them. */
export function loadAverage(): string {
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

/** What a comparison needs from the calling bench. */
export interface Comparison<S> {
  /** The bench script; run with `measureArgs`, it prints one sample as JSON. */
  readonly script: URL;
  readonly measureArgs: readonly string[];
  /** Path of the other checkout. */
  readonly other: string;
  readonly rounds: number;
  /** One sample as text, for the per-round lines. */
  readonly show: (sample: S) => string;
}

/**
 * Alternates rounds between the other checkout and this one, printing each round with the load
 * average; returns both series of samples.
 */
export function compareCheckouts<S>(c: Comparison<S>): { theirs: S[]; mine: S[] } {
  const other = new URL(`${Deno.realPathSync(c.other)}/`, "file:///");
  const importMap = importMapTo(other);
  const mine: S[] = [], theirs: S[] = [];
  console.log(`other: ${other.pathname}   this: ${here.pathname}`);
  try {
    for (let round = 0; round < c.rounds; round++) {
      const load = loadAverage();
      // Alternate which goes first, so a change of load during a round favours neither.
      const first = round % 2 === 0;
      const a = measureIn<S>(c.script, c.measureArgs, first ? importMap : undefined);
      const b = measureIn<S>(c.script, c.measureArgs, first ? undefined : importMap);
      const [t, m] = first ? [a, b] : [b, a];
      theirs.push(t);
      mine.push(m);
      console.log(`round ${round + 1}  load ${load}\n  other: ${c.show(t)}\n  this:  ${c.show(m)}`);
    }
  } finally {
    Deno.removeSync(importMap);
  }
  return { theirs, mine };
}
