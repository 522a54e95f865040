/**
 * The interpreter benchmark: pvmbox's interpreter and anan-as (an AssemblyScript PVM interpreter
 * compiled to wasm) on the same programs, measured side by side in one run. Every run's φ7 and
 * gas used are checked (against the bench-programs README, or against the same computation done
 * in TypeScript), so a fast wrong answer cannot pass.
 *
 * Run: deno run -A bench/interpreter.ts
 * @module
 */
// The peer is a benchmark-only dependency, so it stays out of the project's import map.
// deno-lint-ignore no-import-prefix
import * as anan from "npm:@fluffylabs/anan-as@1.2.0";
import { assemble } from "../src/program/asm/index.ts";
import { Program } from "../src/program/program.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import { BENCH_PROGRAMS, median, readBenchProgram } from "./programs.ts";

const EXAMPLES = new URL("../examples/", import.meta.url);
const GAS = 10n ** 12n;
const U64 = (1n << 64n) - 1n;

/** One benchmark program and what a correct run of it ends with. */
interface Case {
  readonly name: string;
  readonly what: string;
  readonly bytes: Uint8Array;
  readonly args: Uint8Array;
  readonly expected: { readonly phi7: bigint; readonly gasUsed: bigint };
  /** Invocations per measurement (more than 1 for programs dominated by start-up). */
  readonly invocations: number;
  /** Why anan-as is not run on it, if it is not. */
  readonly skipAnan?: string;
  /** Figures quoted from the bench-programs README (M instructions/s), not measured here. */
  readonly quoted?: { readonly anan: number; readonly polkavm: number };
}

/** The outcome of one engine on one case. */
interface Measurement {
  readonly ms: number;
  readonly phi7: bigint;
  readonly gasUsed: bigint;
}

function runPvmbox(c: Case): Measurement {
  let phi7 = 0n, gasUsed = 0n;
  const start = performance.now();
  for (let i = 0; i < c.invocations; i++) {
    // Parsing is inside the timing, as anan-as parses in resetJAM.
    using sb = Sandbox.create(Program.parse(c.bytes), {
      backend: "interpreter",
      gas: GAS,
      args: c.args,
    });
    const exit = sb.run();
    if (exit.kind !== "halt") throw new Error(`${c.name}: pvmbox ended with ${exit.kind}`);
    phi7 = sb.regs[7];
    gasUsed = GAS - sb.gas;
  }
  return { ms: performance.now() - start, phi7, gasUsed };
}

function runAnan(c: Case): Measurement {
  let phi7 = 0n, gasUsed = 0n;
  const start = performance.now();
  for (let i = 0; i < c.invocations; i++) {
    anan.resetJAM(Array.from(c.bytes), 0, GAS, Array.from(c.args), false);
    while (anan.nSteps(10_000_000));
    if (anan.getStatus() !== 0) throw new Error(`${c.name}: anan-as status ${anan.getStatus()}`);
    const regs = anan.getRegisters();
    phi7 = new DataView(regs.buffer, regs.byteOffset).getBigUint64(7 * 8, true);
    gasUsed = GAS - anan.getGasLeft();
  }
  return { ms: performance.now() - start, phi7, gasUsed };
}

/** Checks a measurement against the case's expected result; returns a problem or "". */
function verify(c: Case, engine: string, m: Measurement): string {
  const problems: string[] = [];
  if (m.phi7 !== c.expected.phi7) problems.push(`φ7 ${m.phi7} ≠ ${c.expected.phi7}`);
  if (m.gasUsed !== c.expected.gasUsed) problems.push(`gas ${m.gasUsed} ≠ ${c.expected.gasUsed}`);
  return problems.length === 0 ? "" : `${c.name} on ${engine}: ${problems.join(", ")}`;
}

async function compiledPrograms(): Promise<Case[]> {
  return await Promise.all(BENCH_PROGRAMS.map(async (p) => ({
    name: p.name,
    what: p.what,
    bytes: await readBenchProgram(p),
    args: new Uint8Array(0),
    expected: { phi7: p.phi7, gasUsed: p.gasUsed },
    invocations: 1,
    quoted: p.quoted,
    skipAnan: p.skipAnan,
  })));
}

const ARITH_ITERATIONS = 2_000_000;
const ARITH_SOURCE = `
.stack_size 0x1000
    load_imm t0, ${ARITH_ITERATIONS}
    load_imm a0, 1
    load_imm a1, 0
    fallthrough
loop:
    add_64 a0, a0, t0
    xor a1, a1, a0
    shlo_l_imm_64 t1, a1, 3
    add_64 a1, a1, t1
    add_imm_64 t0, t0, -1
    branch_ne_imm t0, 0, loop
    move_reg a0, a1
    jump_ind ra, 0
`;

/** The arithmetic loop computed in TypeScript. */
function arithExpected(): { phi7: bigint; gasUsed: bigint } {
  let a0 = 1n, a1 = 0n;
  for (let i = BigInt(ARITH_ITERATIONS); i !== 0n; i--) {
    a0 = (a0 + i) & U64;
    a1 ^= a0;
    a1 = (a1 + ((a1 << 3n) & U64)) & U64;
  }
  return { phi7: a1, gasUsed: BigInt(4 + 6 * ARITH_ITERATIONS + 2) };
}

const MEMORY_WORDS = 32768;
const MEMORY_PASSES = 32;
const MEMORY_SOURCE = `
.stack_size 0x1000
    load_imm t0, ${MEMORY_WORDS * 8}
    sbrk s0, t0                 ; a heap buffer of ${MEMORY_WORDS} u64 words
    load_imm t0, 0
    move_reg t2, s0
    fallthrough
fill:
    mul_64 t1, t0, t0
    store_ind_u64 [t2], t1      ; word i = i * i
    add_imm_64 t2, t2, 8
    add_imm_64 t0, t0, 1
    branch_lt_u_imm t0, ${MEMORY_WORDS}, fill
    load_imm a0, 0
    load_imm s1, ${MEMORY_PASSES}
    fallthrough
pass:
    move_reg t2, s0
    load_imm t0, ${MEMORY_WORDS}
    fallthrough
sum:
    load_ind_u64 t1, [t2]
    add_64 a0, a0, t1
    xor a0, a0, t0
    add_imm_64 t2, t2, 8
    add_imm_64 t0, t0, -1
    branch_ne_imm t0, 0, sum
    add_imm_64 s1, s1, -1
    branch_ne_imm s1, 0, pass
    jump_ind ra, 0
`;

/** The memory loop computed in TypeScript. */
function memoryExpected(): { phi7: bigint; gasUsed: bigint } {
  let a0 = 0n;
  for (let pass = 0; pass < MEMORY_PASSES; pass++) {
    for (let k = 0; k < MEMORY_WORDS; k++) {
      a0 = ((a0 + BigInt(k) * BigInt(k)) & U64) ^ BigInt(MEMORY_WORDS - k);
    }
  }
  const gasUsed = 5 + 5 * MEMORY_WORDS + 3 + MEMORY_PASSES * (3 + 6 * MEMORY_WORDS + 2) + 1;
  return { phi7: a0, gasUsed: BigInt(gasUsed) };
}

function fibonacci(n: number): bigint {
  let [a, b] = [0n, 1n];
  for (let i = 0; i < n; i++) [a, b] = [b, (a + b) & U64];
  return a;
}

async function cases(): Promise<Case[]> {
  const fibSource = await Deno.readTextFile(new URL("fibonacci.s", EXAMPLES));
  const fibN = 90;
  return [
    ...await compiledPrograms(),
    {
      name: "arith-loop",
      what: "tight register arithmetic",
      bytes: assemble(ARITH_SOURCE),
      args: new Uint8Array(0),
      expected: arithExpected(),
      invocations: 1,
    },
    {
      name: "memory-loop",
      what: "u64 heap loads/stores",
      bytes: assemble(MEMORY_SOURCE),
      args: new Uint8Array(0),
      expected: memoryExpected(),
      invocations: 1,
    },
    {
      name: "fibonacci.s ×2000",
      what: "examples/, start-up bound",
      bytes: assemble(fibSource),
      args: Uint8Array.of(fibN),
      expected: { phi7: fibonacci(fibN), gasUsed: BigInt(7 + 5 * fibN + 1) },
      invocations: 2000,
    },
  ];
}

function fmt(n: number, digits = 1): string {
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

const PVMBOX_RUNS = 3;

async function main(): Promise<number> {
  const all = await cases();
  const problems: string[] = [];
  console.log("pvmbox interpreter vs anan-as 1.2.0 (AssemblyScript → wasm), same machine, one run");
  console.log(
    `pvmbox: median of ${PVMBOX_RUNS} runs after a cold first run (cold ms: includes ` +
      "predecoding and translation, which later runs reuse);\nanan-as: one run. Times include " +
      "parsing and JAM standard init.\nM/s = million PVM instructions per second (gas used = " +
      "instructions). φ7 and gas are checked on every run.\n",
  );
  const header = [
    "program".padEnd(18),
    "instructions".padStart(13),
    "cold ms".padStart(8),
    "pvmbox ms".padStart(10),
    "M/s".padStart(7),
    "anan-as ms".padStart(11),
    "M/s".padStart(6),
    "pvmbox/anan".padStart(12),
    "cold".padStart(6),
    "│ quoted: anan M/s".padStart(18),
    "PolkaVM int M/s".padStart(16),
    "pvmbox/PolkaVM".padStart(15),
  ].join(" ");
  console.log(header);
  console.log("─".repeat(header.length));
  for (const c of all) {
    const instructions = Number(c.expected.gasUsed) * c.invocations;
    // The first run is cold: it analyses and translates the code, which later runs of the same
    // bytes reuse (the interpreter caches by content, as an embedder running a service again would).
    const cold = runPvmbox(c);
    problems.push(verify(c, "pvmbox", cold));
    const times: number[] = [];
    for (let i = 0; i < PVMBOX_RUNS; i++) {
      const m = runPvmbox(c);
      problems.push(verify(c, "pvmbox", m));
      times.push(m.ms);
    }
    const ours = median(times);
    const oursRate = instructions / ours / 1000;
    let ananCells = [
      "skipped".padStart(11),
      (c.skipAnan ?? "").padStart(6),
      "—".padStart(12),
      "—".padStart(6),
    ];
    if (c.skipAnan === undefined) {
      const m = runAnan(c);
      problems.push(verify(c, "anan-as", m));
      ananCells = [
        fmt(m.ms, 0).padStart(11),
        fmt(instructions / m.ms / 1000).padStart(6),
        `${fmt(m.ms / ours)}×`.padStart(12),
        `${fmt(m.ms / cold.ms)}×`.padStart(6),
      ];
    }
    const quotedCells = c.quoted === undefined
      ? ["—".padStart(18), "—".padStart(16), "—".padStart(15)]
      : [
        `│ ${fmt(c.quoted.anan)}`.padStart(18),
        fmt(c.quoted.polkavm, 0).padStart(16),
        `${fmt(oursRate / c.quoted.polkavm, 2)}×`.padStart(15),
      ];
    console.log([
      c.name.padEnd(18),
      instructions.toLocaleString("en-US").padStart(13),
      fmt(cold.ms, 0).padStart(8),
      fmt(ours, 0).padStart(10),
      fmt(oursRate).padStart(7),
      ...ananCells,
      ...quotedCells,
    ].join(" "));
  }
  console.log(
    "\npvmbox/anan: anan-as time ÷ pvmbox time on the same work (higher is better for pvmbox);" +
      " cold: the same against pvmbox's cold run." +
      "\nQuoted columns come from ../shared/bench-programs/README.md (reference runs on a " +
      "similar machine), not measured here;\npvmbox/PolkaVM divides our measured M/s by the " +
      "quoted PolkaVM interpreter M/s.",
  );
  const failed = problems.filter((p) => p !== "");
  for (const p of failed) console.log(`WRONG RESULT: ${p}`);
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
