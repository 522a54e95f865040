/**
 * What the commands that read a program file share: checking `--container` and `--isa`, reading
 * the file (a missing one or a directory is an input error), and assembling `.s` source first,
 * with the assembler's warnings and errors shown against the file's lines.
 * @module
 */
import {
  assembleDetailed,
  type AssembleOptions,
  AssemblyError,
  type AssemblyOutput,
  type OutputKind,
} from "../program/asm/index.ts";
import { DEFAULT_PROFILE, type IsaName, type IsaProfile, PROFILES } from "../program/isa/index.ts";
import type { ContainerKind } from "../program/program.ts";
import { InputError, UsageError } from "./command.ts";

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

/** The profile `.s` source is assembled for: the `--isa` one, else the default (`jam-0.7`). */
export function assemblyProfile(isa: IsaName | undefined): IsaProfile {
  return isa === undefined ? DEFAULT_PROFILE : PROFILES[isa];
}

/** Reads `file` with `read`; a file that does not exist, or a directory, is an `InputError`. */
export async function readInput<T>(file: string, read: (file: string) => Promise<T>): Promise<T> {
  try {
    return await read(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new InputError(`no such file: ${file}`);
    if (error instanceof Deno.errors.IsADirectory) {
      throw new InputError(`${file} is a directory; give a program file`);
    }
    throw error;
  }
}

/** `file:line:column: kind: message`, then the source line and a caret under the column. */
function formatSourceProblem(
  file: string,
  source: string,
  line: number,
  column: number,
  kind: "error" | "warning",
  message: string,
): string {
  const text = source.split(/\r?\n/)[line - 1] ?? "";
  const caret = text.slice(0, column - 1).replace(/[^\t]/g, " ") + "^";
  return `${file}:${line}:${column}: ${kind}: ${message}\n  ${text}\n  ${caret}`;
}

/**
 * Assembles `source`, read from `file`: warnings go to standard error against the file's lines,
 * and an assembly error becomes an `InputError` that names the file, line and column.
 */
export function assembleFile(
  file: string,
  source: string,
  options: AssembleOptions,
): AssemblyOutput {
  let output: AssemblyOutput;
  try {
    output = assembleDetailed(source, options);
  } catch (error) {
    if (!(error instanceof AssemblyError)) throw error;
    throw new InputError(
      formatSourceProblem(file, source, error.line, error.column, "error", error.reason),
    );
  }
  for (const w of output.warnings) {
    console.error(formatSourceProblem(file, source, w.line, w.column, "warning", w.message));
  }
  return output;
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

/** Reads a program file; a file ending in `.s` is assembled for `profile` first. */
export async function readProgramFile(file: string, profile: IsaProfile): Promise<ProgramInput> {
  const bytes = await readInput(file, Deno.readFile);
  if (!file.endsWith(".s")) return { fileBytes: bytes.length, bytes };
  const assembled = assembleFile(file, new TextDecoder().decode(bytes), { profile });
  return { fileBytes: bytes.length, bytes: assembled.bytes, assembledKind: assembled.kind };
}
