/** Runs the CLI in-process and captures what it prints. */
import { main } from "../cli.ts";

/** The exit code and the text printed to stdout and stderr. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `pvmbox <args>` with console output captured. */
export async function cli(...args: string[]): Promise<CliResult> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => err.push(parts.join(" "));
  try {
    const code = await main(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}
