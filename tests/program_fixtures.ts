/** Test inputs for the program-format tests: the official vector programs and the bench programs. */

const sharedDir = new URL("../../shared/", import.meta.url);

/** The `program` field (a raw blob) of every conformance vector, by vector file name. */
export function vectorPrograms(): Map<string, Uint8Array> {
  const dir = new URL("vectors/jam-0.7.2/", sharedDir);
  const out = new Map<string, Uint8Array>();
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"));
  for (const name of names.sort()) {
    // Only `program` is used, a list of bytes, which plain JSON.parse reads exactly.
    const vector = JSON.parse(Deno.readTextFileSync(new URL(name, dir)));
    out.set(name, new Uint8Array(vector.program));
  }
  return out;
}

/** Names of the bench programs (JAM standard programs). */
export const BENCH_PROGRAMS = ["crc32", "matmul", "sort"] as const;

/** Path of a bench program file. */
export function benchProgramPath(name: string): string {
  return new URL(`bench-programs/${name}.jam07.spi`, sharedDir).pathname;
}

/** Bytes of a bench program. */
export function benchProgram(name: string): Uint8Array {
  return Deno.readFileSync(benchProgramPath(name));
}
