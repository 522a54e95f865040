/**
 * Standard output for every command: writes are synchronous and complete, and a reader that went
 * away (`pvmbox … | head`) ends the command quietly, instead of an error message or a run that
 * goes on printing into nothing.
 * @module
 */

/** Thrown by the writers when the reader of standard output closed it. */
export class OutputClosed extends Error {
  /** Creates the error; the CLI catches it and exits quietly. */
  constructor() {
    super("standard output was closed by its reader");
    this.name = "OutputClosed";
  }
}

const encoder = new TextEncoder();

/** Writes all of `bytes` to standard output; throws `OutputClosed` when the reader is gone. */
export function writeOut(bytes: Uint8Array): void {
  try {
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) throw new OutputClosed();
    throw error;
  }
}

/** Prints `line` and a newline on standard output (see `writeOut`). */
export function printLine(line: string): void {
  writeOut(encoder.encode(`${line}\n`));
}
