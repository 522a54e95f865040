/**
 * `pvmbox disasm <file>`: prints a program as pvmbox assembly — pc, bytes and basic blocks in
 * comments, data and memory layout as directives — that `pvmbox asm` turns back into the same
 * bytes.
 * @module
 */
import { disassemble, explainBlockAt } from "../program/asm/index.ts";
import { Program } from "../program/program.ts";
import { type Command, UsageError } from "./command.ts";
import { parseOptions } from "./parse_options.ts";
import {
  assemblyProfile,
  containerOption,
  CONTAINERS,
  ISA_NAMES,
  isaOption,
  readProgramFile,
} from "./program_file.ts";
import { writeOut } from "./output.ts";

const HELP = `usage: pvmbox disasm [options] <file>

Disassembles a PVM program (raw blob, JAM standard program, service code or .polkavm; detected
automatically; a .s file is assembled first). Each instruction is followed by a comment with
its pc and encoded bytes; every basic block starts with a label L<pc> after a blank line; branch
targets and jump-table entries are labels. Read-only and read-write data, heap pages and stack
size appear as directives. The listing is valid assembly: \`pvmbox asm\` rebuilds the same bytes
(a .polkavm file comes back as a standard program with the same code and memory).

options:
  --plain              leave out the header and the pc/bytes comments
  --gas                write each basic block's gas cost on its label line
  --explain <pc>       instead of the listing, print the pipeline timeline (jam-0.8 gas model)
                       of the block charged at <pc>: one row per instruction, one column per
                       cycle (D decode, = wait, e/E execute, - done, R retire)
  -o, --output <file>  write the listing to a file instead of standard output
  --container <kind>   read the file as ${CONTAINERS.join(" | ")}
  --isa <name>         decode with this ISA profile (${ISA_NAMES})
  -h, --help           show this help`;

/** The `--explain <pc>` text; a pc that is no number or no instruction is a usage error. */
function explanation(program: Program, pcText: string): string {
  const pc = Number(pcText);
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(pcText) || !Number.isSafeInteger(pc)) {
    throw new UsageError(`--explain needs a code offset, got '${pcText}'`);
  }
  try {
    return explainBlockAt(program, pc);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** The `disasm` command. */
export const disasmCommand: Command = {
  name: "disasm",
  summary: "disassemble a program into assembly that reassembles to the same bytes",
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(args, {
      plain: { type: "boolean" },
      gas: { type: "boolean" },
      explain: { type: "string" },
      output: { type: "string", short: "o" },
      container: { type: "string" },
      isa: { type: "string" },
    });
    if (positionals.length !== 1) throw new UsageError("expected exactly one program file");
    const container = containerOption(values.container);
    const isa = isaOption(values.isa);
    const input = await readProgramFile(positionals[0], assemblyProfile(isa));
    // Assembly source is read as the container the assembler wrote.
    const program = Program.parse(input.bytes, {
      container: input.assembledKind ?? container,
      isa,
    });
    const text = values.explain === undefined
      ? disassemble(program, { annotate: !values.plain, gas: values.gas })
      : explanation(program, values.explain);
    if (values.output === undefined) writeOut(new TextEncoder().encode(text));
    else await Deno.writeTextFile(values.output, text);
    return 0;
  },
};
