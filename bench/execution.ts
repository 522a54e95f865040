/**
 * Execution speed of compiled PVM code: the native backend against the same C compiled by
 * `gcc -O2` and run on this machine in the same run, and against pvmbox's interpreter, on the
 * compiled-C programs of `../shared/bench-programs/`. Every run's φ7 and gas are checked, and
 * gcc's result against the same φ7, so a fast wrong answer cannot pass. A second gcc build with
 * `-fno-tree-vectorize` is shown beside it: GCC 12+ vectorises loops at -O2 (matmul's inner loop
 * becomes SSE2 `pmuludq` pairs), which a compiler of one PVM instruction at a time cannot match,
 * so the scalar column shows how far the code generation itself is from gcc's.
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

/** One timed run of a PVM program on a backend. */
interface PvmRun {
  /** Parsing, sandbox creation (JAM standard init) and the run. */
  readonly totalMs: number;
  /** `run()` alone: what gcc's harness times of its build. */
  readonly runMs: number;
  readonly phi7: bigint;
  readonly gasUsed: bigint;
}

function runPvm(bytes: Uint8Array, backend: BackendName): PvmRun {
  const start = performance.now();
  using sb = Sandbox.create(Program.parse(bytes), { backend, gas: GAS });
  const running = performance.now();
  const exit = sb.run();
  const end = performance.now();
  if (exit.kind !== "halt") throw new Error(`${backend} ended with ${exit.kind} at ${exit.pc}`);
  return { totalMs: end - start, runMs: end - running, phi7: sb.regs[7], gasUsed: GAS - sb.gas };
}

/** Medians over `runs` warm runs, after one cold run whose total time is reported apart. */
interface PvmFigures {
  readonly coldTotal: number;
  readonly total: number;
  readonly run: number;
}

function measurePvm(
  p: BenchProgram,
  bytes: Uint8Array,
  backend: BackendName,
  runs: number,
  problems: string[],
): PvmFigures {
  const checked = (r: PvmRun): PvmRun => {
    if (r.phi7 !== p.phi7 || r.gasUsed !== p.gasUsed) {
      problems.push(
        `${p.name} on ${backend}: φ7 ${r.phi7} gas ${r.gasUsed}, expected ${p.phi7} / ${p.gasUsed}`,
      );
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
      `Medians of ${runs} warm runs. "run": the run alone, as gcc's harness times its build; ` +
      `"total": parsing,\nsandbox creation with JAM standard init, and the run; "cold": the ` +
      `first total in this process (it compiles\nthe code, which later sandboxes of the same ` +
      `program reuse). φ7 and gas checked on every run.\n`,
  );
  const header = [
    "program".padEnd(8),
    "gcc ms".padStart(8),
    "scalar".padStart(7),
    "native run".padStart(11),
    "total".padStart(8),
    "cold".padStart(8),
    "interp run".padStart(11),
    "native/gcc".padStart(11),
    "target".padStart(7),
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
      const vsGcc = gcc === undefined ? undefined : native.run / gcc;
      console.log([
        p.name.padEnd(8),
        cell(gcc, 8),
        cell(scalar, 7),
        cell(native.run, 11),
        cell(native.total, 8),
        cell(native.coldTotal, 8),
        cell(interpreter.run, 11),
        cell(vsGcc, 10, 2, "×"),
        `${vsGcc === undefined ? "—" : vsGcc <= TARGET_VS_GCC ? "met" : "missed"}`.padStart(7),
        cell(scalar === undefined ? undefined : native.run / scalar, 13, 2, "×"),
        cell(interpreter.run / native.run, 13, 1, "×"),
        `│ ${p.quoted.jitVsGcc.toFixed(2)}×`,
      ].join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `\nnative/gcc: lower is better, target ≤ ${TARGET_VS_GCC}× per program. "scalar": gcc -O2 ` +
      "-fno-tree-vectorize, for reference (the target is against plain -O2). The quoted column " +
      "is PolkaVM's JIT ÷ gcc from ../shared/bench-programs/README.md (reference machine), not " +
      "measured here.",
  );
  for (const p of problems) console.log(`WRONG RESULT: ${p}`);
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
