/**
 * `pvmbox run <file>`: runs a program (any container, or assembly source) in a sandbox and
 * reports how it ended, optionally with an instruction trace or as JSON.
 * @module
 */
import { Program } from "../program/program.ts";
import type { Exit } from "../pvm/mod.ts";
import { BACKEND_CHOICES, DEFAULT_BACKEND } from "../sandbox/backends.ts";
import { growHeap } from "../sandbox/grow_heap.ts";
import {
  HOST_CALLS_BY_ISA,
  hostCallName,
  JAM_HOST_CALLS,
  readLogMessage,
} from "../sandbox/host_calls.ts";
import type { InvokeResult, InvokeStatus } from "../sandbox/invoke.ts";
import { Sandbox } from "../sandbox/sandbox.ts";
import { type Command, type GlobalOptions, UsageError } from "./command.ts";
import { printLine } from "./output.ts";
import { parseOptions } from "./parse_options.ts";
import {
  assemblyProfile,
  containerOption,
  CONTAINERS,
  ISA_NAMES,
  isaOption,
  readProgramFile,
} from "./program_file.ts";
import { parseBackend } from "./conformance.ts";
import { formatRegister, parsePcRanges, Tracer } from "./trace.ts";
import { REGISTER_NAMES } from "../program/asm/syntax.ts";

/** Gas given to a program when `--gas` is absent. */
export const DEFAULT_RUN_GAS = 1_000_000_000n;

/** Process exit codes of `run`, by how the program ended (1 and 2 are errors and bad usage). */
export const RUN_EXIT_CODES: Readonly<Record<InvokeStatus, number>> = Object.freeze({
  "halt": 0,
  "panic": 11,
  "page-fault": 12,
  "host-call-stopped": 13,
  "unknown-host-call": 13,
  "out-of-gas": 14,
});

const HELP = `usage: pvmbox run <file> [options]

Runs a PVM program in a sandbox. <file> is a raw blob, a JAM standard program, service code or a
.polkavm file (detected automatically), or assembly source ending in .s (assembled first).
Programs with a memory layout get JAM standard initialization; raw blobs start bare (no memory,
registers 0).

options:
  --gas <n>                   gas limit (default ${DEFAULT_RUN_GAS})
  --args <hex | @file>        argument bytes, as hex (0x optional) or read from a file
  --entry <pc | export>       start pc, or an export name of a .polkavm file (default 0; JAM
                              accumulate is 5)
  --backend <name>            ${BACKEND_CHOICES.join(" | ")} (default ${DEFAULT_BACKEND}); auto
                              takes native where it runs (Linux x86-64, --allow-ffi, the
                              library built, user namespaces), else the interpreter
  --container <kind>          force the container: ${CONTAINERS.join(" | ")}
  --isa <name>                instruction set: ${ISA_NAMES} (default jam-0.7)
  --on-host-call <stop|ignore>
                              at an ecalli the call and its registers are printed (a JIP-1 log
                              call, 100, also with its message); then stop (default) or
                              ignore it and continue with registers unchanged. Under jam-0.8
                              grow_heap (1) of a standard program is serviced and printed
  --trace                     one line per executed instruction: pc, instruction, changed
                              registers
  --trace-limit <n>           print at most n trace lines, then run on without printing
                              (implies --trace)
  --trace-pc <pcs>            trace only these pcs: a list like 12,40-80 (inclusive ranges);
                              register changes add up between the lines shown (implies --trace)
  --verbose                   say which backend runs the program and why (and show stack
                              traces for errors)
  --json                      print the final state as JSON (exit, pc, gas, regs as decimal
                              strings, output as hex, host calls); other text goes to stderr

exit code: 0 halt, 11 panic, 12 page fault, 13 stopped at a host call, 14 out of gas,
1 error (a file that cannot be read, a malformed program, assembly errors), 2 bad usage,
141 standard output closed by its reader (e.g. | head).`;

/** Parses `--args`: hex digits (optionally `0x`-prefixed) or `@path`. */
export async function parseArgsBytes(value: string): Promise<Uint8Array> {
  if (value.startsWith("@")) {
    try {
      return await Deno.readFile(value.slice(1));
    } catch (error) {
      throw new UsageError(`cannot read --args file: ${(error as Error).message}`);
    }
  }
  const hex = value.replace(/^0x/i, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new UsageError("--args must be hex digits in pairs (e.g. 0a0b) or @file");
  }
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function parseInteger(name: string, value: string, max: bigint): bigint {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value.replaceAll("_", ""))) {
    throw new UsageError(`--${name} must be a non-negative integer, not '${value}'`);
  }
  const n = BigInt(value.replaceAll("_", ""));
  if (n > max) throw new UsageError(`--${name} must be at most ${max}`);
  return n;
}

/** `--entry`: a pc, or the name of a `.polkavm` export. */
function entryPc(program: Program, value: string): number {
  if (/^(0x)?[0-9a-fA-F_]+$/.test(value) && /^(0x|\d)/.test(value)) {
    return Number(parseInteger("entry", value, 0xffffffffn));
  }
  const found = program.exports.find((e) => e.name === value);
  if (found !== undefined) return found.pc;
  const names = program.exports.map((e) => e.name);
  throw new UsageError(
    `--entry '${value}' is neither a pc nor an export` +
      (names.length === 0 ? " (this program has no exports)" : `; exports: ${names.join(", ")}`),
  );
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function describeExit(exit: Exit): string {
  switch (exit.kind) {
    case "halt":
      return `halt at pc ${exit.pc}`;
    case "panic":
      return `panic at pc ${exit.pc}`;
    case "out-of-gas":
      return `out of gas at pc ${exit.pc} (the block starting there did not fit)`;
    case "page-fault":
      return `page fault at pc ${exit.pc}: address 0x${exit.address.toString(16)} is not mapped`;
    case "host-call":
      return `stopped at host call ${exit.id} (pc ${exit.pc})`;
  }
}

function registerLine(regs: BigUint64Array): string {
  return Array.from(regs, (v, i) => `${REGISTER_NAMES[i]}=${formatRegister(v)}`).join(" ");
}

/** Printable text of `bytes` when it is plain ASCII, for the output line. */
function asText(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0 || !bytes.every((b) => (b >= 0x20 && b < 0x7f) || b === 10)) {
    return undefined;
  }
  return new TextDecoder().decode(bytes);
}

/** A host call seen during the run, for the JSON report. */
interface SeenHostCall {
  readonly id: number;
  readonly pc: number;
  readonly regs: string[];
}

/** The `run` command. */
export const runCommand: Command = {
  name: "run",
  summary: "run a program and report its exit, registers and output",
  help: HELP,
  async run(args: string[], { verbose }: GlobalOptions): Promise<number> {
    const { values, positionals } = parseOptions(args, {
      gas: { type: "string" },
      args: { type: "string" },
      entry: { type: "string" },
      backend: { type: "string" },
      container: { type: "string" },
      isa: { type: "string" },
      "on-host-call": { type: "string" },
      trace: { type: "boolean" },
      "trace-limit": { type: "string" },
      "trace-pc": { type: "string" },
      json: { type: "boolean" },
    });
    if (positionals.length !== 1) throw new UsageError("expected one program file");
    const container = containerOption(values.container);
    const isa = isaOption(values.isa);
    const policy = values["on-host-call"] ?? "stop";
    if (policy !== "stop" && policy !== "ignore") {
      throw new UsageError("--on-host-call must be 'stop' or 'ignore'");
    }
    const backend = parseBackend(values.backend);
    const gas = values.gas === undefined
      ? DEFAULT_RUN_GAS
      : parseInteger("gas", values.gas, (1n << 63n) - 1n);
    const argBytes = values.args === undefined ? undefined : await parseArgsBytes(values.args);
    const input = await readProgramFile(positionals[0], assemblyProfile(isa));
    const program = Program.parse(input.bytes, { container, isa });
    const entry = values.entry === undefined ? 0 : entryPc(program, values.entry);
    if (program.memory === undefined && argBytes !== undefined) {
      throw new UsageError("--args needs a program with a memory layout; this is a raw blob");
    }
    // With --json, stdout carries only the JSON document.
    const say = values.json ? (line: string) => console.error(line) : printLine;

    const traceLimit = values["trace-limit"] === undefined
      ? undefined
      : Number(parseInteger("trace-limit", values["trace-limit"], 1n << 52n));
    const tracePc = values["trace-pc"];
    const showPc = tracePc === undefined ? undefined : parsePcRanges(tracePc);
    if (tracePc !== undefined && showPc === undefined) {
      throw new UsageError(`--trace-pc must be pcs and ranges like 12,40-80, not '${tracePc}'`);
    }
    const tracing = values.trace || traceLimit !== undefined || showPc !== undefined;
    const tracer = tracing
      ? new Tracer(program, (i) => sb.getRegister(i), say, { limit: traceLimit, showPc })
      : undefined;
    using sb: Sandbox = Sandbox.create(program, {
      backend,
      gas,
      entry,
      args: argBytes,
      onInstruction: tracer === undefined ? undefined : (pc) => tracer.executed(pc),
    });
    if (verbose) say(`backend: ${sb.backend} (${sb.backendReason})`);
    tracer?.resync();
    const hostCalls: SeenHostCall[] = [];

    const growHeapId = program.isa.hasSbrk
      ? undefined
      : HOST_CALLS_BY_ISA[program.isa.name].grow_heap;
    const result: InvokeResult = sb.invoke({
      // grow_heap replaces the sbrk instruction: the machine's own business, so served here.
      hostCalls: growHeapId === undefined || program.memory === undefined ? {} : {
        [growHeapId]: (sandbox, call) => {
          const wanted = sandbox.regs[7];
          const outcome = growHeap(sandbox);
          say(
            `host call ${call.id} (grow_heap) at pc ${call.pc}: wanted end page ${wanted}, ` +
              (outcome === "serviced" ? `end page now ${sandbox.regs[7]}` : "out of gas"),
          );
          return outcome === "serviced" ? undefined : "stop";
        },
      },
      // Every other host call: print it (and a log call's message), then stop or carry on.
      defaultHostCall: (sandbox, call) => {
        const name = hostCallName(call.id, sandbox.program.isa.name);
        hostCalls.push({ id: call.id, pc: call.pc, regs: [...sandbox.regs].map(String) });
        const args = Array.from(sandbox.regs.subarray(7), (v, i) => `a${i}=${formatRegister(v)}`);
        say(
          `host call ${call.id}${name === undefined ? "" : ` (${name})`} at pc ${call.pc}: ` +
            args.join(" "),
        );
        const log = call.id === JAM_HOST_CALLS.log ? readLogMessage(sandbox) : undefined;
        if (log !== undefined) {
          say(`  log ${log.levelName}${log.target ? ` [${log.target}]` : ""}: ${log.message}`);
        }
        if (policy === "stop") return "stop";
        tracer?.resync();
      },
    });
    tracer?.exited(result.exit);

    if (values.json) {
      printLine(JSON.stringify(
        {
          status: result.status,
          exit: result.exit,
          pc: sb.pc,
          gas: String(result.gasLeft),
          gasUsed: String(result.gasUsed),
          regs: [...result.regs].map(String),
          output: result.output === undefined ? null : hex(result.output),
          hostCalls,
        },
        null,
        2,
      ));
    } else {
      say(describeExit(result.exit));
      say(`gas used ${result.gasUsed}, left ${result.gasLeft}`);
      say(`registers: ${registerLine(result.regs)}`);
      if (result.output !== undefined) {
        const text = asText(result.output);
        say(
          `output (${result.output.length} bytes): ${hex(result.output)}` +
            (text === undefined ? "" : `  "${text}"`),
        );
      }
    }
    return RUN_EXIT_CODES[result.status];
  },
};
