/**
 * `node:util` `parseArgs` with its errors (unknown option, missing value) turned into
 * `UsageError`s, so they exit with the usage code and a plain message.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./command.ts";

/**
 * `--name -5` as `--name=-5` for options that take a value: parseArgs would take the negative
 * number for an option and reject the pair, so the command's own check could never explain it.
 */
function joinNegativeValues(args: string[], options: ParseArgsConfig["options"]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : undefined;
    const takesValue = name !== undefined && options?.[name]?.type === "string";
    if (takesValue && /^-\d/.test(args[i + 1] ?? "")) out.push(`${args[i]}=${args[++i]}`);
    else out.push(args[i]);
  }
  return out;
}

/** Parses `args` against `options`, allowing positionals; throws `UsageError` on bad input. */
export function parseOptions<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true }>> {
  try {
    return parseArgs({ args: joinNegativeValues(args, options), options, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
