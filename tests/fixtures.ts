/**
 * What many tests share: the official conformance vectors and the bench programs (both in
 * `../shared/`), and a seeded random number generator.
 *
 * `../shared/` is not part of the repository: a clone without it, or a run with
 * `PVMBOX_NO_SHARED=1`, registers every test that needs it as ignored (see `sharedTest`).
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const SHARED_DIR = new URL("../../shared/", import.meta.url);

/** Why `../shared` cannot be used now, or undefined when it can. */
function sharedUnavailableReason(): string | undefined {
  let hidden: string | undefined;
  try {
    hidden = Deno.env.get("PVMBOX_NO_SHARED");
  } catch {
    // Without --allow-env the variable cannot be read: the fixtures count as reachable.
  }
  if (hidden !== undefined && hidden !== "" && hidden !== "0") return "PVMBOX_NO_SHARED is set";
  try {
    if (Deno.statSync(SHARED_DIR).isDirectory) return undefined;
  } catch {
    // Absent or unreadable: same outcome.
  }
  return "../shared is absent";
}

const UNAVAILABLE = sharedUnavailableReason();

/** Whether the test data in `../shared/` can be used (present and not hidden). */
export const SHARED_AVAILABLE: boolean = UNAVAILABLE === undefined;

/**
 * Why tests needing `../shared/` are ignored now (`needs ../shared: <why>`), or undefined when
 * they can run: the `ignore` reason for `forEachBackend` and `forEachEngine`.
 */
export const NEEDS_SHARED: string | undefined = UNAVAILABLE === undefined
  ? undefined
  : `needs ../shared: ${UNAVAILABLE}`;

/** Where a shared file lives; throws when the fixtures are unavailable, so no test reads them by accident. */
function sharedUrl(relative: string): URL {
  if (UNAVAILABLE !== undefined) {
    throw new Error(`test data ../shared/${relative} is unavailable (${UNAVAILABLE})`);
  }
  return new URL(relative, SHARED_DIR);
}

/**
 * Registers a test that needs `../shared/`. When the data is unavailable the test is still
 * registered, as ignored, with the reason in its name, so the report shows what did not run.
 */
export function sharedTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({
    name: NEEDS_SHARED === undefined ? name : `${name} [${NEEDS_SHARED}]`,
    ignore: !SHARED_AVAILABLE,
    fn,
  });
}

/** The jam-0.7.2 conformance vectors' directory (throws when `../shared` is unavailable). */
export function vectorDir(): URL {
  return sharedUrl("vectors/jam-0.7.2/");
}

/** The jam-0.8.0 (Gray Paper 0.8, v0.5 step format) vectors' directory (throws when unavailable). */
export function vectorDir08(): URL {
  return sharedUrl("vectors/jam-0.8.0/");
}

/** Names of the jam-0.8.0 vector files (`*.json`), sorted. */
export function vectorFileNames08(): string[] {
  return [...Deno.readDirSync(vectorDir08())]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name)
    .sort();
}

/** Names of the conformance vector files (`*.json`), sorted. */
export function vectorFileNames(): string[] {
  return [...Deno.readDirSync(vectorDir())]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name)
    .sort();
}

/** The `program` field (a raw blob) of every conformance vector, by vector file name. */
export function vectorPrograms(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of vectorFileNames()) {
    // Only `program` is used, a list of bytes, which plain JSON.parse reads exactly.
    const vector = JSON.parse(Deno.readTextFileSync(new URL(name, vectorDir())));
    out.set(name, new Uint8Array(vector.program));
  }
  return out;
}

/** Names of the bench programs (JAM standard programs). */
export const BENCH_PROGRAMS = ["crc32", "matmul", "sort"] as const;

/** Path of a bench program file. */
export function benchProgramPath(name: string): string {
  return fileURLToPath(sharedUrl(`bench-programs/${name}.jam07.spi`));
}

/** Bytes of a bench program. */
export function benchProgram(name: string): Uint8Array {
  return Deno.readFileSync(benchProgramPath(name));
}

/** Bytes of a file of `../shared/real-programs/` (throws when `../shared` is unavailable). */
export function realProgram(name: string): Uint8Array {
  return Deno.readFileSync(sharedUrl(`real-programs/${name}`));
}

/** A seeded generator of uniform 32-bit words (mulberry32: small, fast, good enough for tests). */
export function rngU32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A seeded generator of numbers in [0, 1): the words of `rngU32` divided by 2^32. */
export function rng(seed: number): () => number {
  const next = rngU32(seed);
  return () => next() / 2 ** 32;
}

/** Path of a file or directory under the repository root. */
export function repoFile(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}

/** What a CLI run in its own process printed, and its exit code. */
export interface CliProcessResult {
  /** Exit code. */
  readonly code: number;
  /** Everything written to standard output. */
  readonly stdout: string;
  /** Everything written to standard error. */
  readonly stderr: string;
}

/** Runs `deno run <permission> cli.ts <args>` in a child process, as a user would. */
export async function runCliProcess(
  permission: string,
  ...args: string[]
): Promise<CliProcessResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", permission, repoFile("cli.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/**
 * Runs `script` with `deno eval` and the garbage collector exposed (for finalizer tests), asserts
 * it exited with 0, and returns the JSON value it printed.
 */
export async function evalWithGc(script: string): Promise<unknown> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}
