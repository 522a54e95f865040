/**
 * `pvmbox conformance <dir>`: runs every JAM PVM test vector in a directory (or one vector file)
 * and reports each failure with its first difference.
 * @module
 */
import { type Command, InputError, UsageError } from "./command.ts";
import { printLine } from "./output.ts";
import { parseOptions } from "./parse_options.ts";
import {
  runVector,
  runVectorDirectory,
  type SuiteResult,
  type VectorResult,
} from "../conformance/runner.ts";
import { parseAnyVector } from "../conformance/steps.ts";
import type { IsaName } from "../program/isa/index.ts";
import { BACKEND_CHOICES, type BackendChoice, DEFAULT_BACKEND } from "../sandbox/backends.ts";
import { ISA_NAMES, isaOption } from "./program_file.ts";

const HELP = `usage: pvmbox conformance <dir | file.json> [--backend <name>] [--isa <name>] [--json]

Runs JAM PVM test vectors and compares the results. Two schemas are read: v0.4 (Gray Paper 0.7:
initial registers, pc, gas, page map and memory; the expected final state) and v0.5 (Gray Paper
0.8: the cost of every basic block, then steps — set-reg, map, write, run, assert — so a vector
can resume after host calls, page faults and out-of-gas).

Prints one line per failing vector with its first difference (a block cost, status, pc,
page-fault address, host-call id, a register, gas, or a memory byte), then "N passed, M failed".

options:
  --backend <name>   ${BACKEND_CHOICES.join(" | ")} (default ${DEFAULT_BACKEND})
  --isa <name>       ${ISA_NAMES} (default: jam-0.7 for v0.4 vectors, jam-0.8 for v0.5)
  --json             print {passed, failed, failures: [{name, kind, message}]} instead

exit code: 0 when every vector passed, 1 when any failed (or the path cannot be read), 2 bad
usage.`;

/** Parses `--backend`, rejecting names that are not backend choices. */
export function parseBackend(value: string | undefined): BackendChoice {
  const name = value ?? DEFAULT_BACKEND;
  if (!BACKEND_CHOICES.includes(name as BackendChoice)) {
    throw new UsageError(`unknown backend '${name}'; available: ${BACKEND_CHOICES.join(", ")}`);
  }
  return name as BackendChoice;
}

async function runPath(
  path: string,
  backend: BackendChoice,
  isa: IsaName | undefined,
): Promise<SuiteResult> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new InputError(`cannot read '${path}'`);
  }
  if (info.isDirectory) {
    const suite = await runVectorDirectory(path, { backend, isa });
    if (suite.results.length === 0) throw new InputError(`no *.json vector files in '${path}'`);
    return suite;
  }
  const result: VectorResult = runVector(parseAnyVector(await Deno.readTextFile(path), path), {
    backend,
    isa,
  });
  const failed = result.difference === undefined ? 0 : 1;
  return { results: [result], passed: 1 - failed, failed };
}

/** The `conformance` command. */
export const conformanceCommand: Command = {
  name: "conformance",
  summary: "run JAM PVM test vectors and report differences",
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(args, {
      backend: { type: "string" },
      isa: { type: "string" },
      json: { type: "boolean" },
    });
    if (positionals.length !== 1) throw new UsageError("expected one directory or vector file");
    const suite = await runPath(
      positionals[0],
      parseBackend(values.backend),
      isaOption(values.isa),
    );
    const failures = suite.results.filter((r) => r.difference !== undefined);
    if (values.json) {
      printLine(JSON.stringify(
        {
          passed: suite.passed,
          failed: suite.failed,
          failures: failures.map((r) => ({ name: r.name, ...r.difference })),
        },
        null,
        2,
      ));
    } else {
      for (const r of failures) printLine(`FAIL ${r.name}: ${r.difference!.message}`);
      printLine(`${suite.passed} passed, ${suite.failed} failed`);
    }
    return suite.failed === 0 ? 0 : 1;
  },
};
