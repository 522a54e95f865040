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

/** Exit codes every command shares (`run` adds 11–14 for how the program ended). */
export const EXIT_CODES = Object.freeze({
  /** The command did what was asked (`run`: the program halted). */
  success: 0,
  /** An error in the input: a file that cannot be read, a malformed program, assembly errors. */
  error: 1,
  /** Bad usage: unknown command or option, a missing or malformed argument. */
  usage: 2,
  /** Standard output was closed by its reader (128 + SIGPIPE, as Unix tools report it). */
  outputClosed: 141,
});

/** The exit codes as the help texts list them. */
export const EXIT_CODES_HELP = `exit codes (every command):
  0    success (run: the program halted)
  1    an error in the input: a file that cannot be read, a malformed program, assembly errors,
       failing checks (conformance, demo)
  2    bad usage: unknown command or option, a missing or malformed argument
  11   run: the program panicked        12  run: it hit a page fault
  13   run: it stopped at a host call   14  run: it ran out of gas
  141  standard output was closed by its reader (e.g. | head): the command stopped quietly`;

/** Bad usage, reported as a plain message (no stack trace) with exit code 2. */
export class UsageError extends Error {
  /** Creates a usage error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An input that cannot be used (missing file, assembly errors), reported plainly with exit 1. */
export class InputError extends Error {
  /** Creates an input error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}
