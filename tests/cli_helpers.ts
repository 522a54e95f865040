/** Runs the CLI in-process and captures what it prints. */
import { main } from "../cli.ts";

/** The exit code and the text printed to stdout and stderr. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `pvmbox <args>` with standard output and `console.error` captured. */
export async function cli(...args: string[]): Promise<CliResult> {
  const out: string[] = [], err: string[] = [];
  const { error } = console;
  const { writeSync } = Deno.stdout;
  const decoder = new TextDecoder();
  Deno.stdout.writeSync = (bytes: Uint8Array) => {
    out.push(decoder.decode(bytes));
    return bytes.length;
  };
  console.error = (...parts: unknown[]) => err.push(parts.join(" "));
  try {
    const code = await main(args);
    return { code, stdout: out.join("").replace(/\n$/, ""), stderr: err.join("\n") };
  } finally {
    Deno.stdout.writeSync = writeSync;
    console.error = error;
  }
}
