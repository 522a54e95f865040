/**
 * `pvmbox demo`: a guided tour for newcomers. Assembles the bundled examples, runs them in the
 * interpreter, services their host calls, and checks every result against an independent
 * computation in TypeScript.
 * @module
 */
import { assemble, disassemble } from "../program/asm/index.ts";
import { REGISTER_NAMES } from "../program/asm/syntax.ts";
import { Program } from "../program/program.ts";
import { HOST_RESULT, JAM_HOST_CALLS, readLogMessage } from "../sandbox/host_calls.ts";
import { invokeProgram, Sandbox } from "../sandbox/sandbox.ts";
import { type Command, InputError } from "./command.ts";
import { printLine } from "./output.ts";
import { formatRegister, Tracer } from "./trace.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url);
const TRACE_LINES = 14;

/**
 * The source of a bundled example, fetched relative to this module: a local file for a clone,
 * the same host for `deno run <url>/cli.ts demo`.
 */
async function exampleSource(name: string): Promise<string> {
  const url = new URL(name, EXAMPLES);
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return await response.text();
  } catch (error) {
    const allow = url.protocol === "file:"
      ? `--allow-read=${decodeURIComponent(EXAMPLES.pathname)}`
      : `--allow-net=${url.host}`;
    const reason = error instanceof Deno.errors.NotCapable ? "no permission" : String(error);
    throw new InputError(`cannot read the example ${url.href} (${reason}); run with ${allow}`);
  }
}

async function example(name: string): Promise<{ source: string; program: Program }> {
  const source = await exampleSource(name);
  return { source, program: Program.parse(assemble(source)) };
}

/** The code of a disassembly, without its header comments. */
function listing(program: Program): string[] {
  return disassemble(program, { annotate: true }).split("\n")
    .filter((line) => line !== "" && !line.startsWith(";") && !line.startsWith("."))
    .map((line) => `    ${line}`);
}

function fibonacci(n: number): bigint {
  let [a, b] = [0n, 1n];
  for (let i = 0; i < n; i++) [a, b] = [b, (a + b) & 0xffff_ffff_ffff_ffffn];
  return a;
}

/** Collects the demo's checks so it can end with a verdict and an exit code. */
class Checks {
  failed = 0;
  /** Prints `what` with a tick, or a cross when `ok` is false. */
  check(ok: boolean, what: string): void {
    if (!ok) this.failed++;
    printLine(`   ${ok ? "✓" : "✗ MISMATCH:"} ${what}`);
  }
}

async function fibonacciPart(checks: Checks): Promise<void> {
  const { program } = await example("fibonacci.s");
  const n = 10;
  printLine("1. examples/fibonacci.s — a loop that computes fib(n)\n");
  printLine(
    `   Assembled into a ${program.blob.code.length}-byte JAM standard program. The code, as ` +
      "the disassembler\n   prints it (pc and bytes on the right):\n",
  );
  for (const line of listing(program)) printLine(line);
  const gas = 10_000n;
  const tracer = new Tracer(
    program,
    (i) => sb.getRegister(i),
    (line) => printLine(`   ${line}`),
  );
  let traced = 0;
  using sb: Sandbox = Sandbox.create(program, {
    gas,
    args: Uint8Array.of(n),
    onInstruction: (pc) => {
      if (traced++ < TRACE_LINES) tracer.executed(pc);
    },
  });
  printLine(
    `\n   Standard initialization with the argument [${n}]: it is mapped read-only at ` +
      `0x${sb.regs[7].toString(16)};\n   a0 points to it, a1 = its length, ra = ` +
      `0x${sb.regs[0].toString(16)} (returning there halts), sp = 0x${sb.regs[1].toString(16)}.`,
  );
  printLine(`   Running with ${gas} gas; the first ${TRACE_LINES} instructions:\n`);
  tracer.resync();
  const exit = sb.run();
  printLine(`        … ${Math.max(0, traced - TRACE_LINES)} more instructions`);
  const used = gas - sb.gas;
  printLine(`\n   Exit: ${exit.kind} at pc ${exit.pc}; gas used ${used} (1 per instruction).`);
  checks.check(exit.kind === "halt", "the program halted by returning to ra");
  checks.check(
    sb.regs[7] === fibonacci(n),
    `a0 = ${sb.regs[7]}, and fib(${n}) computed in TypeScript is ${fibonacci(n)}`,
  );
  checks.check(used === BigInt(traced + 1), `gas used = instructions executed (${traced + 1})`);
}

async function hostCallPart(checks: Checks): Promise<void> {
  const { program } = await example("host_calls.s");
  printLine("\n2. examples/host_calls.s — the guest asks the host for things with `ecalli`\n");
  const serviced: string[] = [];
  let reportedGas = 0n;
  const result = invokeProgram(program, {
    gas: 1_000n,
    hostCalls: {
      [JAM_HOST_CALLS.log]: (sb) => {
        const log = readLogMessage(sb);
        serviced.push(
          `log (100): level ${log?.level} [${log?.target}] "${log?.message}" → host answers OK`,
        );
        return HOST_RESULT.OK;
      },
      [JAM_HOST_CALLS.gas]: (sb) => {
        reportedGas = sb.gas;
        serviced.push(`gas (0): the guest asks how much gas is left → host answers ${sb.gas}`);
        return sb.gas;
      },
    },
  });
  for (const line of serviced) printLine(`   host call ${line}`);
  printLine(`\n   Exit: ${result.status} at pc ${result.exit.pc}; gas used ${result.gasUsed}.`);
  checks.check(result.hostCallsServiced === 2, "both host calls were serviced by TypeScript");
  checks.check(
    result.status === "halt" && result.regs[7] === reportedGas,
    `a0 = ${result.regs[7]}, the gas the host reported`,
  );
}

async function memoryPart(checks: Checks): Promise<void> {
  const { program } = await example("memory.s");
  printLine("\n3. examples/memory.s — data sections, the heap (sbrk), loads and stores\n");
  using sb = Sandbox.create(program, { gas: 10_000n });
  const heapStart = sb.heapTop;
  const result = sb.invoke();
  const output = result.output ?? new Uint8Array(0);
  const title = new TextDecoder().decode(output.subarray(0, 8));
  const view = new DataView(output.buffer, output.byteOffset + 8);
  const squares = Array.from(
    { length: (output.length - 8) / 8 },
    (_, i) => view.getBigUint64(8 * i, true),
  );
  printLine(
    `   The heap started at 0x${heapStart.toString(16)}; sbrk moved it to ` +
      `0x${sb.heapTop.toString(16)}.`,
  );
  printLine(
    `   Exit: ${result.status}; output = memory[a0, a0 + a1) = ${output.length} bytes: ` +
      `"${title}" then ${squares.join(", ")}`,
  );
  const expected = Array.from({ length: 8 }, (_, i) => BigInt(i * i));
  checks.check(
    result.status === "halt" && title === "squares:" &&
      squares.join() === expected.join(),
    'the output is "squares:" and the first 8 squares, as TypeScript computes them',
  );
  const registers = [7, 8].map((i) => `${REGISTER_NAMES[i]}=${formatRegister(result.regs[i])}`);
  printLine(`   (${registers.join(", ")})`);
}

/** The `demo` command. */
export const demoCommand: Command = {
  name: "demo",
  summary: "a guided tour: assemble and run the bundled examples, checking every result",
  help: `usage: pvmbox demo

Assembles examples/fibonacci.s, host_calls.s and memory.s, runs them in the pvmbox interpreter
(JAM standard initialization, host calls serviced by TypeScript), and checks each result against
an independent computation. The examples are read beside this module: it needs read access to
them in a clone (--allow-read), network access to their host when run from a URL (--allow-net).

exit code: 0 when every check passed, 1 otherwise.`,
  async run(): Promise<number> {
    printLine("pvmbox demo: PVM programs running in the pvmbox interpreter\n");
    const checks = new Checks();
    await fibonacciPart(checks);
    await hostCallPart(checks);
    await memoryPart(checks);
    printLine(
      checks.failed === 0
        ? "\nAll checks passed. Next: `deno run -A cli.ts run examples/fibonacci.s --trace`."
        : `\n${checks.failed} check(s) failed.`,
    );
    return checks.failed === 0 ? 0 : 1;
  },
};
