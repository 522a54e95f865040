/**
 * Programs the project makes itself, so that the tests need nothing outside the repository: the
 * examples and `tests/programs/*.s` (JAM standard programs) assembled by the project's assembler,
 * and raw blobs generated with every opcode.
 * @module
 */
import { assemble } from "../src/program/asm/index.ts";
import { encodeBlob } from "../src/program/blob.ts";
import { parseStandardProgram } from "../src/program/standard.ts";
import { repoFile } from "./fixtures.ts";
import { generate } from "./program_generator.ts";

/** Standard programs by name, and the assembly file each comes from. */
const SOURCES = {
  sort: "tests/programs/sort.s",
  crc32: "tests/programs/crc32.s",
  call: "examples/call.s",
  fibonacci: "examples/fibonacci.s",
  host_calls: "examples/host_calls.s",
  memory: "examples/memory.s",
} as const;

/** Names of the project's own standard programs. */
export type OwnProgramName = keyof typeof SOURCES;

/** Every own standard program's name; the first two compute a checkable result from their argument. */
export const OWN_PROGRAMS: readonly OwnProgramName[] = Object.keys(SOURCES) as OwnProgramName[];

const built = new Map<OwnProgramName, Uint8Array>();

/** Path of an own program's assembly source. */
export function ownProgramSource(name: OwnProgramName): string {
  return repoFile(SOURCES[name]);
}

/** Bytes of an own standard program, assembled once per test module. */
export function ownProgram(name: OwnProgramName): Uint8Array {
  let bytes = built.get(name);
  if (bytes === undefined) {
    bytes = assemble(Deno.readTextFileSync(ownProgramSource(name)));
    built.set(name, bytes);
  }
  return bytes.slice();
}

/** Seeds of the generated raw programs. */
const GENERATED_SEEDS = [101, 102, 103, 104, 105, 106];

/**
 * Raw blobs by name: the code of every own standard program, and generated programs that use
 * every opcode with edge-value immediates.
 */
export function ownRawPrograms(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of OWN_PROGRAMS) {
    out.set(`${name}.raw`, encodeBlob(parseStandardProgram(ownProgram(name)).blob));
  }
  for (const seed of GENERATED_SEEDS) {
    out.set(`generated-${seed}`, assemble(generate(seed).source, { kind: "raw" }));
  }
  return out;
}
