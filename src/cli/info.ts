/**
 * `pvmbox info <file>`: what a program file holds — container, ISA, sizes, the JAM standard
 * memory layout, instruction and basic-block counts, exports, imports and metadata.
 * @module
 */
import { type ContainerKind, Program, type ProgramSummary } from "../program/program.ts";
import { standardLayout } from "../pvm/mod.ts";
import { type Command, UsageError } from "./command.ts";
import { printLine } from "./output.ts";
import { parseOptions } from "./parse_options.ts";
import {
  assemblyProfile,
  containerOption,
  ISA_NAMES,
  isaOption,
  readProgramFile,
} from "./program_file.ts";

/** One region of the standard memory layout, as `info` reports it. */
export interface LayoutRegion {
  /** What the region holds. */
  readonly name: string;
  /** First address. */
  readonly start: number;
  /** One past the last address. */
  readonly end: number;
  /** Guest access. */
  readonly access: "read" | "read-write";
}

/** Everything `info` reports about a file. */
export interface ProgramInfo extends ProgramSummary {
  /** The file's path as given. */
  readonly file: string;
  /** File size in bytes. */
  readonly fileBytes: number;
  /** Present when the file was assembly source: the size of the assembled program. */
  readonly assembledBytes?: number;
  /**
   * The JAM standard layout with no argument, for containers that define memory; `heapTop` only
   * under a profile with `sbrk`.
   */
  readonly layout?: { readonly regions: readonly LayoutRegion[]; readonly heapTop?: number };
}

/** Collects what `info` reports about `program`, read from `file` of `fileBytes` bytes. */
export function programInfo(program: Program, file: string, fileBytes: number): ProgramInfo {
  const summary = program.describe();
  if (program.memory === undefined) return { file, fileBytes, ...summary };
  const layout = standardLayout(program.memory, new Uint8Array(0));
  return {
    file,
    fileBytes,
    ...summary,
    layout: {
      regions: layout.regions.map((r) => ({
        name: r.name,
        start: r.address,
        end: r.address + r.length,
        access: r.access,
      })),
      ...(program.isa.hasSbrk ? { heapTop: layout.heapTop } : {}),
    },
  };
}

const CONTAINER_NAMES: Record<ContainerKind, string> = {
  raw: "raw blob",
  standard: "JAM standard program",
  service: "JAM service code (metadata + standard program)",
  polkavm: "PolkaVM .polkavm file",
};

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

function bytes(n: number): string {
  return count(n, "byte");
}

/** Renders `info` as text for people. */
export function formatInfo(info: ProgramInfo): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(12)}${value}`);
  const assembled = info.assembledBytes === undefined
    ? ""
    : `; assembly source of a ${bytes(info.assembledBytes)} program`;
  row("file", `${info.file} (${bytes(info.fileBytes)}${assembled})`);
  row("container", CONTAINER_NAMES[info.container]);
  row(
    "isa",
    info.polkavmIsa === undefined ? info.isa : `${info.isa} (file declares ${info.polkavmIsa})`,
  );
  row(
    "code",
    `${bytes(info.codeBytes)}, ${count(info.instructions, "instruction")}, ` +
      count(info.basicBlocks, "basic block"),
  );
  if (info.validity !== undefined) {
    row(
      "validity",
      info.validity === "valid"
        ? `valid (${info.isa} checks the whole blob)`
        : `INVALID, ${info.validity.message} (${info.validity.rule}): every run panics at once`,
    );
  }
  const notStarts = info.jumpTableEntriesNotBlockStarts;
  row(
    "jump table",
    `${count(info.jumpTableEntries, "entry", "entries")} × ` +
      bytes(info.jumpTableEntrySize) +
      (notStarts > 0 ? ` (${notStarts} not a block start: jumping there panics)` : ""),
  );
  if (info.memory !== undefined) {
    row("ro data", bytes(info.memory.roDataBytes));
    row(
      "rw data",
      `${bytes(info.memory.rwDataBytes)} + ${count(info.memory.heapPages, "heap page")}`,
    );
    row("stack", bytes(info.memory.stackBytes));
  }
  if (info.layout !== undefined) {
    lines.push("", "memory (JAM standard initialization, no argument):");
    for (const r of info.layout.regions) {
      const range = `${hex32(r.start)}..${hex32(r.end)}`;
      lines.push(
        `  ${range}  ${r.name.padEnd(8)} ${r.access.padEnd(10)}  ${bytes(r.end - r.start)}`,
      );
    }
    if (info.layout.heapTop !== undefined) {
      lines.push(`  heap top ${hex32(info.layout.heapTop)} (sbrk grows from here)`);
    }
  } else {
    lines.push("", "memory: none defined (a raw blob; the host maps memory itself)");
  }
  if (info.exports.length > 0) {
    lines.push("", "exports:");
    for (const e of info.exports) lines.push(`  pc ${String(e.pc).padStart(8)}  ${e.name}`);
  }
  if (info.imports.length > 0) {
    lines.push("", "imports:");
    info.imports.forEach((name, i) => lines.push(`  ${String(i).padStart(4)}  ${name}`));
  }
  if (info.metadata !== undefined) {
    lines.push("", "metadata:");
    if ("hex" in info.metadata) {
      lines.push(
        `  ${info.metadata.hex.length / 2} bytes, not in the JIP-6 layout: ${info.metadata.hex}`,
      );
    } else {
      const m = info.metadata;
      lines.push(`  name      ${m.name}`, `  version   ${m.version}`, `  licence   ${m.licence}`);
      lines.push(`  authors   ${m.authors.join(", ")}`);
    }
  }
  return lines.join("\n");
}

const HELP = `usage: pvmbox info [options] <file>

Shows what a PVM program file holds: container, ISA, code size, instruction and basic-block
counts, jump table, data sizes, the JAM standard memory layout, exports, imports and metadata.
The container (raw blob, JAM standard program, service code, .polkavm) is detected
automatically; a file ending in .s is assembly source and is assembled first.

options:
  --json               machine-readable output
  --container <kind>   read the file as raw | standard | service | polkavm
  --isa <name>         decode with this ISA profile (${ISA_NAMES})
  -h, --help           show this help

A malformed file is reported with the byte offset and the reason (exit code 1).`;

/** The `info` command. */
export const infoCommand: Command = {
  name: "info",
  summary: "show the container, sizes, memory layout and code statistics of a program",
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(args, {
      json: { type: "boolean" },
      container: { type: "string" },
      isa: { type: "string" },
    });
    if (positionals.length !== 1) throw new UsageError("expected exactly one program file");
    const container = containerOption(values.container);
    const isa = isaOption(values.isa);
    const file = positionals[0];
    const input = await readProgramFile(file, assemblyProfile(isa));
    const program = Program.parse(input.bytes, { container, isa });
    let info = programInfo(program, file, input.fileBytes);
    if (input.assembledKind !== undefined) info = { ...info, assembledBytes: input.bytes.length };
    printLine(values.json ? JSON.stringify(info, null, 2) : formatInfo(info));
    return 0;
  },
};
