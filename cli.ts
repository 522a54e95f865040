/**
 * The pvmbox command-line tool: inspect, assemble, disassemble and run PVM programs.
 *
 * @example
 * ```sh
 * deno run -A cli.ts info program.pvm
 * ```
 * @module
 */
import denoConfig from "./deno.json" with { type: "json" };
import type { Command } from "./src/cli/command.ts";
import { EXIT_CODES, EXIT_CODES_HELP, InputError, UsageError } from "./src/cli/command.ts";
import { OutputClosed, printLine } from "./src/cli/output.ts";
import { infoCommand } from "./src/cli/info.ts";
import { asmCommand } from "./src/cli/asm.ts";
import { disasmCommand } from "./src/cli/disasm.ts";
import { conformanceCommand } from "./src/cli/conformance.ts";
import { runCommand } from "./src/cli/run.ts";
import { demoCommand } from "./src/cli/demo.ts";

const commands: Command[] = [
  infoCommand,
  asmCommand,
  disasmCommand,
  conformanceCommand,
  runCommand,
  demoCommand,
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "pvmbox: run and inspect PVM programs",
    "",
    "usage: pvmbox <command> [options]   (pvmbox <command> --help for details)",
    "",
    "commands:",
    ...lines,
    "",
    "global options:",
    "  --verbose   show stack traces for errors, and (run) which backend runs and why",
    "  --version   print pvmbox's version",
    "",
    EXIT_CODES_HELP,
  ].join("\n");
}

/** pvmbox's version, from deno.json. */
export const VERSION: string = denoConfig.version;

/** Prints `error` for command `name` and returns its exit code. */
function report(name: string, error: unknown, verbose: boolean): number {
  if (error instanceof OutputClosed) return EXIT_CODES.outputClosed;
  const plain = error instanceof UsageError || error instanceof InputError;
  if (verbose) console.error(error);
  else if (plain) console.error(`pvmbox ${name}: ${error.message}`);
  else if (error instanceof Error) console.error(`pvmbox ${name}: ${error.name}: ${error.message}`);
  else console.error(`pvmbox ${name}: ${String(error)}`);
  return error instanceof UsageError ? EXIT_CODES.usage : EXIT_CODES.error;
}

/** Runs the CLI with `args` (without the program name) and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const verbose = args.includes("--verbose");
  const rest = args.filter((a) => a !== "--verbose");
  const [name, ...commandArgs] = rest;
  try {
    if (name === "--version" || name === "-V" || name === "version") {
      printLine(`pvmbox ${VERSION}`);
      return EXIT_CODES.success;
    }
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      printLine(usage());
      return name === undefined ? EXIT_CODES.usage : EXIT_CODES.success;
    }
    const command = commands.find((c) => c.name === name);
    if (command === undefined) {
      console.error(`pvmbox: unknown command '${name}'\n\n${usage()}`);
      return EXIT_CODES.usage;
    }
    if (commandArgs.includes("--help") || commandArgs.includes("-h")) {
      printLine(command.help);
      return EXIT_CODES.success;
    }
    return await command.run(commandArgs, { verbose });
  } catch (error) {
    return report(name, error, verbose);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
