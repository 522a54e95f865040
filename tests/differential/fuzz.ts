/**
 * `deno task fuzz`: differential testing for as long as asked. Runs generated programs from a
 * starting seed on every available engine in lockstep and prints the seed of every mismatch;
 * `--seed <n>` runs that one case again and prints the program and the difference.
 *
 *   deno task fuzz --seconds 600            run for ten minutes
 *   deno task fuzz --count 100000 --from 7  run seeds 7 … 100006
 *   deno task fuzz --seed 123456            reproduce one case
 *   deno task fuzz --seed 123456 --minimize  and shrink it to the instructions that matter
 *   deno task fuzz --isa jam-0.8 …           jam-0.8 programs (pipeline gas, unlikely, no sbrk)
 * @module
 */
import { parseArgs } from "node:util";
import { disassemble } from "../../src/program/asm/index.ts";
import { availableEngines, ENGINES } from "../backends.ts";
import type { BatchEvent, BatchRequest } from "./fuzz_batch.ts";
import { type IsaName, PROFILES } from "../../src/program/isa/index.ts";
import { type DiffCase, generateCase } from "./generate.ts";
import { minimize } from "./minimize.ts";
import { runOnEngines, type Start } from "./run.ts";

const USAGE =
  "usage: deno task fuzz [--isa <jam-0.7|jam-0.8>] [--seconds <s> | --count <n>] [--from <seed>]" +
  " | --seed <seed> [--minimize]";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function describeCase(generated: DiffCase): string {
  const regions = generated.regions.map((r) =>
    `  0x${r.address.toString(16)} +0x${r.length.toString(16)} ${r.access}` +
    ` (${r.contents.length} bytes of contents)`
  );
  return [
    `kind: ${generated.kind}, gas ${generated.gas}, pc ${generated.pc}, ` +
    `heap top 0x${generated.heapTop.toString(16)}`,
    `registers: ${generated.registers.map((r) => `0x${r.toString(16)}`).join(" ")}`,
    `regions:\n${regions.join("\n")}`,
    `program (${generated.program.container}, hex): ${hex(generated.bytes)}`,
    disassemble(generated.program.blob),
  ].join("\n");
}

/** Seeds per worker: each batch's memory is released when its worker ends. */
const BATCH = 2000;

/** Runs one batch in a fresh worker; returns how many seeds it ran. */
function runWorker(
  request: BatchRequest,
  onMismatch: (seed: number, text: string) => void,
): Promise<number> {
  const worker = new Worker(new URL("./fuzz_batch.ts", import.meta.url), { type: "module" });
  return new Promise<number>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<BatchEvent>) => {
      const message = event.data;
      if (message.kind === "mismatch") onMismatch(message.seed, message.text);
      else {
        worker.terminate();
        resolve(message.done);
      }
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`fuzz worker failed: ${event.message}`));
    };
    worker.postMessage(request);
  });
}

/** The code of `start` without the `move_reg rX, rX` no-ops minimization leaves. */
function essentialCode(start: Start): string {
  return disassemble(start.program.blob).split("\n")
    .filter((line) => !/\bmove_reg (\w+), \1\b/.test(line))
    .join("\n");
}

/** Prints the smallest start found that still disagrees like seed `seed`'s case. */
function printMinimized(generated: DiffCase, seed: number): void {
  const small = minimize(generated, availableEngines(), seed);
  const report = runOnEngines(small, availableEngines(), seed);
  console.log(`\nminimized (other instructions replaced by no-ops of the same length):`);
  console.log(`gas ${small.gas}, pc ${small.pc}, heap top 0x${small.heapTop.toString(16)}`);
  console.log(`registers: ${small.registers.map((r) => `0x${r.toString(16)}`).join(" ")}`);
  for (const r of small.regions) {
    console.log(`region 0x${r.address.toString(16)} +0x${r.length.toString(16)} ${r.access}`);
  }
  console.log(essentialCode(small));
  console.log(`exits: ${report.exits.join(", ")}; ${report.mismatch?.difference.message}`);
}

/** Runs seed `seed` and prints everything about it; returns true when the engines agree. */
function reproduce(seed: number, shrink: boolean, isa: IsaName): boolean {
  const engines = availableEngines();
  const generated = generateCase(seed, isa);
  console.log(`seed ${seed} (${isa}) on ${engines.map((e) => e.name).join(", ")}`);
  console.log(describeCase(generated));
  const report = runOnEngines(generated, engines, seed);
  console.log(`exits of ${engines[0].name}: ${report.exits.join(", ")}`);
  if (report.mismatch === undefined) {
    console.log("all engines agree");
    return true;
  }
  const { engine, reference, exitNumber, difference } = report.mismatch;
  console.log(`MISMATCH at exit ${exitNumber}: ${engine} vs ${reference}: ${difference.message}`);
  if (shrink) printMinimized(generated, seed);
  return false;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string" },
      count: { type: "string" },
      from: { type: "string" },
      seed: { type: "string" },
      minimize: { type: "boolean" },
      isa: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const number = (text: string | undefined, fallback: number): number => {
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a natural number: ${text}`);
    return n;
  };
  const isa = (values.isa ?? "jam-0.7") as IsaName;
  if (!Object.hasOwn(PROFILES, isa)) throw new RangeError(`unknown ISA profile: ${isa}`);
  if (values.seed !== undefined) {
    return reproduce(number(values.seed, 0), values.minimize === true, isa) ? 0 : 1;
  }
  const engines = availableEngines();
  for (const engine of ENGINES) {
    if (engine.unavailable !== undefined) {
      console.log(`${engine.name}: not run (${engine.unavailable})`);
    }
  }
  if (engines.length < 2) {
    console.error("fewer than two engines can run here: nothing to compare");
    return 1;
  }
  const seconds = values.seconds === undefined ? undefined : number(values.seconds, 0);
  const count = number(values.count, seconds === undefined ? 10_000 : Number.MAX_SAFE_INTEGER);
  const from = number(values.from, Date.now() % 1_000_000_000);
  const deadline = performance.now() + (seconds ?? Infinity) * 1000;
  console.log(
    `comparing ${engines.map((e) => e.name).join(", ")} on ${isa} programs from seed ${from}` +
      (seconds === undefined ? `, ${count} programs` : `, for ${seconds} s`),
  );
  const started = performance.now();
  const mismatches: number[] = [];
  let done = 0;
  while (done < count && performance.now() < deadline) {
    const batch = Math.min(BATCH, count - done);
    const ran = await runWorker(
      {
        from: from + done,
        count: batch,
        deadline: Date.now() + (deadline - performance.now()),
        isa,
      },
      (seed, text) => {
        mismatches.push(seed);
        console.log(`MISMATCH ${text}`);
      },
    );
    done += ran;
    const rate = done / ((performance.now() - started) / 1000);
    console.log(`${done} programs, ${rate.toFixed(0)}/s, ${mismatches.length} mismatches`);
    if (ran < batch) break;
  }
  const elapsed = (performance.now() - started) / 1000;
  console.log(
    `${done} programs (seeds ${from} … ${from + done - 1}) in ${elapsed.toFixed(1)} s ` +
      `(${(done / elapsed).toFixed(0)}/s): ${mismatches.length} mismatches` +
      (mismatches.length > 0 ? `; reproduce with --seed ${mismatches[0]}` : ""),
  );
  return mismatches.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
