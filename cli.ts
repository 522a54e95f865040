/**
 * The pvmbox command-line tool: inspect, assemble, disassemble and run PVM programs.
 *
 * @example
 * ```sh
 * deno run -A cli.ts info program.pvm
 * ```
 * @module
 */
import type { Command } from "./src/cli/command.ts";
import { UsageError } from "./src/cli/command.ts";
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
  ].join("\n");
}

/** Runs the CLI with `args` (without the program name) and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const verbose = args.includes("--verbose");
  const rest = args.filter((a) => a !== "--verbose");
  const [name, ...commandArgs] = rest;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    console.error(`pvmbox: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (commandArgs.includes("--help") || commandArgs.includes("-h")) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(commandArgs, { verbose });
  } catch (error) {
    if (verbose) console.error(error);
    else if (error instanceof UsageError) console.error(`pvmbox ${name}: ${error.message}`);
    else if (error instanceof Error) {
      console.error(`pvmbox ${name}: ${error.name}: ${error.message}`);
    } else console.error(`pvmbox ${name}: ${String(error)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
