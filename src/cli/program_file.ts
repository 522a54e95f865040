/**
 * What the commands that read a program file share: checking `--container` and `--isa`, reading
 * the file (a missing one or a directory is a usage error), assembling `.s` source first, and
 * writing output.
 * @module
 */
import { assembleDetailed, type OutputKind } from "../program/asm/index.ts";
import { type IsaName, PROFILES } from "../program/isa/index.ts";
import type { ContainerKind } from "../program/program.ts";
import { UsageError } from "./command.ts";

/** The values `--container` accepts. */
export const CONTAINERS: readonly ContainerKind[] = ["raw", "standard", "service", "polkavm"];

/** The ISA profile names, comma-separated, for help texts and errors. */
export const ISA_NAMES: string = Object.keys(PROFILES).join(", ");

/** Checks a `--container` value; undefined stays undefined (autodetect). */
export function containerOption(value: string | undefined): ContainerKind | undefined {
  const container = value as ContainerKind | undefined;
  if (container !== undefined && !CONTAINERS.includes(container)) {
    throw new UsageError(`unknown container '${container}' (use ${CONTAINERS.join(", ")})`);
  }
  return container;
}

/** Checks an `--isa` value; undefined stays undefined (the default profile). */
export function isaOption(value: string | undefined): IsaName | undefined {
  const isa = value as IsaName | undefined;
  if (isa !== undefined && !Object.hasOwn(PROFILES, isa)) {
    throw new UsageError(`unknown ISA '${isa}' (use ${ISA_NAMES})`);
  }
  return isa;
}

/** Reads `file` with `read`; a file that does not exist, or a directory, is a `UsageError`. */
export async function readInput<T>(file: string, read: (file: string) => Promise<T>): Promise<T> {
  try {
    return await read(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new UsageError(`no such file: ${file}`);
    if (error instanceof Deno.errors.IsADirectory) {
      throw new UsageError(`${file} is a directory; give a program file`);
    }
    throw error;
  }
}

/** The bytes of a program file, assembled first when the file is assembly source. */
export interface ProgramInput {
  /** Size of the file itself. */
  readonly fileBytes: number;
  /** The program's bytes: the file's, or the assembler's output for a `.s` file. */
  readonly bytes: Uint8Array;
  /** What the assembler wrote, for a `.s` file; undefined for a binary file. */
  readonly assembledKind?: OutputKind;
}

/** Reads a program file; a file ending in `.s` is assembled with the `isa` profile first. */
export async function readProgramFile(file: string, isa?: IsaName): Promise<ProgramInput> {
  const bytes = await readInput(file, Deno.readFile);
  if (!file.endsWith(".s")) return { fileBytes: bytes.length, bytes };
  const profile = PROFILES[isa ?? "jam-0.7"];
  const assembled = assembleDetailed(new TextDecoder().decode(bytes), { profile });
  return { fileBytes: bytes.length, bytes: assembled.bytes, assembledKind: assembled.kind };
}

/** Writes all of `bytes` to standard output (a single `write` may take only part of them). */
export async function writeStdout(bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    done += await Deno.stdout.write(bytes.subarray(done));
  }
}
