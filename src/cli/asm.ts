/**
 * `pvmbox asm <in.s> -o <out>`: assembles source text into a raw blob or a JAM standard
 * program. Errors are printed as `file:line:column: error: …` with the offending line.
 * @module
 */
import type { OutputKind } from "../program/asm/index.ts";
import { type Command, UsageError } from "./command.ts";
import { printLine, writeOut } from "./output.ts";
import { parseOptions } from "./parse_options.ts";
import { assembleFile, assemblyProfile, ISA_NAMES, isaOption, readInput } from "./program_file.ts";

const HELP = `usage: pvmbox asm [options] <in.s>

Assembles pvmbox assembly (syntax: docs/assembly.md) into a PVM program. The output is JAM
service code when the source has .metadata, a JAM standard program when it has .ro_data,
.rw_data, .heap_pages or .stack_size, and a raw blob otherwise.

options:
  -o, --output <file>  where to write the program (default: <in> with .pvm instead of .s;
                       '-' writes to standard output)
  --raw                write a raw blob (an error if the source lays out data)
  --standard           write a JAM standard program even without data or layout directives
  --service            write JAM service code (metadata + standard program); the default
                       when the source has .metadata
  --isa <name>         instruction set (${ISA_NAMES}; default jam-0.7)
  -h, --help           show this help

Problems are reported as file:line:column with the source line (exit code 1). Warnings (e.g. a
branch to a label that starts no basic block, which panics at run time) go to standard error.`;

/** The `asm` command. */
export const asmCommand: Command = {
  name: "asm",
  summary: "assemble pvmbox assembly into a raw blob or a JAM standard program",
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(args, {
      output: { type: "string", short: "o" },
      raw: { type: "boolean" },
      standard: { type: "boolean" },
      service: { type: "boolean" },
      isa: { type: "string" },
    });
    if (positionals.length !== 1) throw new UsageError("expected exactly one source file");
    const kinds = (["raw", "standard", "service"] as const).filter((k) => values[k]);
    if (kinds.length > 1) throw new UsageError(`choose one of --${kinds.join(", --")}`);
    const profile = assemblyProfile(isaOption(values.isa));
    const file = positionals[0];
    const source = await readInput(file, Deno.readTextFile);
    const kind: OutputKind | undefined = kinds[0];
    const output = assembleFile(file, source, { kind, profile });
    const out = values.output ?? file.replace(/\.s$/, "") + ".pvm";
    if (out === "-") {
      writeOut(output.bytes);
      return 0;
    }
    await Deno.writeFile(out, output.bytes);
    const what = { raw: "raw blob", standard: "JAM standard program", service: "JAM service code" }[
      output.kind
    ];
    printLine(`${out}: ${output.bytes.length} bytes (${what})`);
    return 0;
  },
};
