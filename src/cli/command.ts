/** A CLI sub-command: parses its own arguments and returns a process exit code. */
export interface Command {
  /** The word that selects the command, e.g. `info`. */
  readonly name: string;
  /** One line shown in the command list. */
  readonly summary: string;
  /** Full usage text shown by `--help`. */
  readonly help: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: string[], options: GlobalOptions): Promise<number> | number;
}

/** Options given before or after any command. */
export interface GlobalOptions {
  /** `--verbose`: stack traces for errors, and what a command chose and why. */
  readonly verbose: boolean;
}

/** An error the CLI reports as a plain message (no stack trace) with a non-zero exit code. */
export class UsageError extends Error {
  /** Creates a usage error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
