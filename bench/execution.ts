/**
 * Execution speed of compiled PVM code: the native backend against the same C compiled by
 * `gcc -O2` and run on this machine in the same run, and against pvmbox's interpreter, on the
 * compiled-C programs of `../shared/bench-programs/`. Every run's φ7 and gas are checked, and
 * gcc's result against the same φ7, so a fast wrong answer cannot pass. A second gcc build with
 * `-fno-tree-vectorize` is shown beside it: GCC 12+ vectorises loops at -O2 (matmul's inner loop
 * becomes SSE2 `pmuludq` pairs), which a compiler of one PVM instruction at a time does not do,
 * so the scalar column tells the code generation's distance from gcc apart from vectorisation.
 *
 * Run: deno run -A bench/execution.ts [--runs N]
 * @module
 */
import { parseArgs } from "node:util";
import { Program } from "../src/program/program.ts";
import type { BackendName } from "../src/sandbox/backends.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import {
  BENCH_PROGRAM_DIR,
  BENCH_PROGRAMS,
  type BenchProgram,
  median,
  readBenchProgram,
} from "./programs.ts";

const GAS = 10n ** 12n;
/** Target of native time ÷ gcc -O2 time, per program. */
const TARGET_VS_GCC = 1.3;

/** One timed sandbox of a PVM program on a backend: a fresh run, then the same run again. */
interface PvmRun {
  /** Parsing, sandbox creation (JAM standard init) and the first run. */
  readonly totalMs: number;
  /** The first `run()` alone, in a fresh sandbox: guest memory is faulted in as it is touched. */
  readonly runMs: number;
  /**
   * The program run again in the same sandbox (registers, pc and gas as at the start; memory as
   * the first run left it): what gcc's harness times, calling `bench_main` repeatedly in one
   * process whose memory is already resident.
   */
  readonly againMs: number;
  readonly results: readonly { readonly phi7: bigint; readonly gasUsed: bigint }[];
}

function runPvm(bytes: Uint8Array, backend: BackendName): PvmRun {
  const start = performance.now();
  using sb = Sandbox.create(Program.parse(bytes), { backend, gas: GAS });
  const registers = sb.regs.slice(), entry = sb.pc;
  const timed = (): { ms: number; phi7: bigint; gasUsed: bigint } => {
    const running = performance.now();
    const exit = sb.run();
    const ms = performance.now() - running;
    if (exit.kind !== "halt") throw new Error(`${backend} ended with ${exit.kind} at ${exit.pc}`);
    return { ms, phi7: sb.regs[7], gasUsed: GAS - sb.gas };
  };
  const first = timed();
  const totalMs = performance.now() - start;
  sb.regs.set(registers);
  sb.pc = entry;
  sb.gas = GAS;
  const again = timed();
  return { totalMs, runMs: first.ms, againMs: again.ms, results: [first, again] };
}

/** Medians over `runs` warm sandboxes, after one cold one whose total time is reported apart. */
interface PvmFigures {
  readonly coldTotal: number;
  readonly total: number;
  readonly run: number;
  readonly again: number;
}

function measurePvm(
  p: BenchProgram,
  bytes: Uint8Array,
  backend: BackendName,
  runs: number,
  problems: string[],
): PvmFigures {
  const checked = (r: PvmRun): PvmRun => {
    for (const { phi7, gasUsed } of r.results) {
      if (phi7 !== p.phi7 || gasUsed !== p.gasUsed) {
        problems.push(
          `${p.name} on ${backend}: φ7 ${phi7} gas ${gasUsed}, expected ${p.phi7} / ${p.gasUsed}`,
        );
      }
    }
    return r;
  };
  const cold = checked(runPvm(bytes, backend));
  const warm: PvmRun[] = [];
  for (let i = 0; i < runs; i++) warm.push(checked(runPvm(bytes, backend)));
  return {
    coldTotal: cold.totalMs,
    total: median(warm.map((r) => r.totalMs)),
    run: median(warm.map((r) => r.runMs)),
    again: median(warm.map((r) => r.againMs)),
  };
}

/** The gcc builds compared: the target's `-O2`, and `-O2` without loop vectorisation. */
const GCC_BUILDS = { vector: ["-O2"], scalar: ["-O2", "-fno-tree-vectorize"] } as const;

/**
 * Builds the C program with gcc and `flags` into `dir`; undefined (with a notice) when gcc is
 * absent.
 */
async function buildNative(
  p: BenchProgram,
  dir: string,
  flags: readonly string[],
): Promise<string | undefined> {
  const out = `${dir}/${p.name}${flags.join("")}`;
  const source = (file: string) => new URL(file, BENCH_PROGRAM_DIR).pathname;
  try {
    const built = await new Deno.Command("gcc", {
      args: [...flags, "-o", out, source(`${p.name}.c`), source("native_main.c")],
      stderr: "piped",
    }).output();
    if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));
    return out;
  } catch (error) {
    console.log(`gcc ${flags.join(" ")} unavailable for ${p.name} (${error}); skipped`);
    return undefined;
  }
}

/** Runs the gcc build `runs` times in its own process; returns its median time in ms. */
async function measureNative(p: BenchProgram, exe: string, runs: number, problems: string[]) {
  const output = await new Deno.Command(exe, { args: [String(runs)], stdout: "piped" }).output();
  const text = new TextDecoder().decode(output.stdout);
  const match = /result=0x[0-9a-f]+ \((\d+)\) median_ms=([\d.]+)/.exec(text);
  if (match === null) throw new Error(`${exe}: unexpected output ${text}`);
  if (BigInt(match[1]) !== p.phi7) problems.push(`${p.name} with gcc: result ${match[1]}`);
  return Number(match[2]);
}

function cell(value: number | undefined, width: number, digits = 1, suffix = ""): string {
  const text = value === undefined ? "—" : `${value.toFixed(digits)}${suffix}`;
  return text.padStart(width);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a positive integer");
  const problems: string[] = [];
  const dir = await Deno.makeTempDir({ prefix: "pvmbox-bench-" });
  console.log(
    `Native backend vs gcc -O2 (same C, this machine, this run) and vs the interpreter.\n` +
      `Medians of ${runs} warm sandboxes. "again": the program run a second time in the same ` +
      `sandbox, its memory\nresident, as gcc's harness times its build (bench_main called ` +
      `repeatedly in one process); "fresh": the\nfirst run of a new sandbox, which faults guest ` +
      `memory in as it touches it; "total": parsing, sandbox\ncreation with JAM standard init ` +
      `and the fresh run; "cold": the first total in this process (it compiles\nthe code, ` +
      `which later sandboxes of the same program reuse). φ7 and gas checked on every run.\n`,
  );
  const header = [
    "program".padEnd(8),
    "gcc ms".padStart(8),
    "scalar".padStart(7),
    "again".padStart(7),
    "fresh".padStart(7),
    "total".padStart(7),
    "cold".padStart(7),
    "interp".padStart(7),
    "native/gcc".padStart(11),
    "target".padStart(7),
    "fresh/gcc".padStart(10),
    "native/scalar".padStart(14),
    "interp/native".padStart(14),
    "│ quoted PolkaVM JIT/gcc",
  ].join(" ");
  console.log(header);
  console.log("─".repeat(header.length));
  try {
    for (const p of BENCH_PROGRAMS) {
      const bytes = await readBenchProgram(p);
      const exe = await buildNative(p, dir, GCC_BUILDS.vector);
      const gcc = exe === undefined ? undefined : await measureNative(p, exe, runs, problems);
      const scalarExe = await buildNative(p, dir, GCC_BUILDS.scalar);
      const scalar = scalarExe === undefined
        ? undefined
        : await measureNative(p, scalarExe, runs, problems);
      const native = measurePvm(p, bytes, "native", runs, problems);
      const interpreter = measurePvm(p, bytes, "interpreter", Math.min(runs, 3), problems);
      const vsGcc = gcc === undefined ? undefined : native.again / gcc;
      console.log([
        p.name.padEnd(8),
        cell(gcc, 8),
        cell(scalar, 7),
        cell(native.again, 7),
        cell(native.run, 7),
        cell(native.total, 7),
        cell(native.coldTotal, 7),
        cell(interpreter.again, 7),
        cell(vsGcc, 10, 2, "×"),
        `${vsGcc === undefined ? "—" : vsGcc <= TARGET_VS_GCC ? "met" : "missed"}`.padStart(7),
        cell(gcc === undefined ? undefined : native.run / gcc, 9, 2, "×"),
        cell(scalar === undefined ? undefined : native.again / scalar, 13, 2, "×"),
        cell(interpreter.again / native.again, 13, 1, "×"),
        `│ ${p.quoted.jitVsGcc.toFixed(2)}×`,
      ].join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `\nnative/gcc ("again" ÷ gcc, like for like): lower is better, target ≤ ${TARGET_VS_GCC}× ` +
      `per program; fresh/gcc adds the\nfresh sandbox's page faults. "scalar": gcc -O2 ` +
      "-fno-tree-vectorize, for reference (the target is against plain -O2). The quoted column " +
      "is PolkaVM's JIT ÷ gcc from ../shared/bench-programs/README.md (reference machine), not " +
      "measured here.",
  );
  for (const p of problems) console.log(`WRONG RESULT: ${p}`);
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
