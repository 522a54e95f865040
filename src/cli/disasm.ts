/**
 * `pvmbox disasm <file>`: prints a program as pvmbox assembly — pc, bytes and basic blocks in
 * comments, data and memory layout as directives — that `pvmbox asm` turns back into the same
 * bytes.
 * @module
 */
import { parseArgs } from "node:util";
import { assembleDetailed, disassemble } from "../program/asm/index.ts";
import { type IsaName, PROFILES } from "../program/isa/index.ts";
import { type ContainerKind, Program } from "../program/program.ts";
import { type Command, UsageError } from "./command.ts";
import { writeStdout } from "./asm.ts";

const CONTAINERS: readonly ContainerKind[] = ["raw", "standard", "service", "polkavm"];

const HELP = `usage: pvmbox disasm [options] <file>

Disassembles a PVM program (raw blob, JAM standard program, service code or .polkavm; detected
automatically; a .s file is assembled first). Each instruction is followed by a comment with
its pc and encoded bytes; every basic block starts with a label L<pc> after a blank line; branch
targets and jump-table entries are labels. Read-only and read-write data, heap pages and stack
size appear as directives. The listing is valid assembly: \`pvmbox asm\` rebuilds the same bytes
(a .polkavm file comes back as a standard program with the same code and memory).

options:
  --plain              leave out the header and the pc/bytes comments
  -o, --output <file>  write the listing to a file instead of standard output
  --container <kind>   read the file as ${CONTAINERS.join(" | ")}
  --isa <name>         decode with this ISA profile (${Object.keys(PROFILES).join(", ")})
  -h, --help           show this help`;

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        plain: { type: "boolean" },
        output: { type: "string", short: "o" },
        container: { type: "string" },
        isa: { type: "string" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** The `disasm` command. */
export const disasmCommand: Command = {
  name: "disasm",
  summary: "disassemble a program into assembly that reassembles to the same bytes",
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parse(args);
    if (positionals.length !== 1) throw new UsageError("expected exactly one program file");
    const container = values.container as ContainerKind | undefined;
    if (container !== undefined && !CONTAINERS.includes(container)) {
      throw new UsageError(`unknown container '${container}' (use ${CONTAINERS.join(", ")})`);
    }
    const isa = values.isa as IsaName | undefined;
    if (isa !== undefined && !(isa in PROFILES)) {
      throw new UsageError(`unknown ISA '${isa}' (use ${Object.keys(PROFILES).join(", ")})`);
    }
    const file = positionals[0];
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new UsageError(`no such file: ${file}`);
      throw error;
    }
    let kind = container;
    if (file.endsWith(".s")) {
      const profile = PROFILES[isa ?? "jam-0.7"];
      const assembled = assembleDetailed(new TextDecoder().decode(bytes), { profile });
      bytes = assembled.bytes;
      kind = assembled.kind;
    }
    const program = Program.parse(bytes, { container: kind, isa });
    const text = disassemble(program, { annotate: !values.plain });
    if (values.output === undefined) await writeStdout(new TextEncoder().encode(text));
    else await Deno.writeTextFile(values.output, text);
    return 0;
  },
};
