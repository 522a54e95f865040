/**
 * Runs one program on several engines in lockstep: the same initial state everywhere, the
 * complete state (exit, resume pc, registers, gas, heap top, every page that can have changed)
 * compared with the first engine's after every exit, and every exit answered identically so
 * the run resumes after host calls, page faults and out-of-gas.
 * @module
 */
import {
  captureState,
  compareStates,
  type Difference,
  type MachineState,
} from "../../src/conformance/state.ts";
import type { Program } from "../../src/program/program.ts";
import { type Backend, type Exit, type ExitKind, PAGE_SIZE } from "../../src/pvm/mod.ts";
import type { Engine } from "../backends.ts";
import type { Region } from "./generate.ts";
import { Random } from "./random.ts";
import { answerExit, applyAnswer } from "./service.ts";

/** A program and the state it starts from. */
export interface Start {
  /** The program. */
  readonly program: Program;
  /** Memory mapped and filled before the first run. */
  readonly regions: readonly Region[];
  /** φ0…φ12. */
  readonly registers: readonly bigint[];
  /** Gas. */
  readonly gas: bigint;
  /** The first pc. */
  readonly pc: number;
  /** The heap top. */
  readonly heapTop: number;
}

/** Where two engines first disagreed. */
export interface Mismatch {
  /** The engine that differs. */
  readonly engine: string;
  /** The engine it was compared with. */
  readonly reference: string;
  /** How many exits both had agreed on before (0: already the first). */
  readonly exitNumber: number;
  /** What differs. */
  readonly difference: Difference;
  /** The reference's state there. */
  readonly expected: MachineState | undefined;
}

/** The outcome of running one start on every engine. */
export interface RunReport {
  /** The reference engine's exits, in order. */
  readonly exits: readonly ExitKind[];
  /** The first disagreement, if any. */
  readonly mismatch?: Mismatch;
}

/** Options of `runOnEngines`. */
export interface RunOptions {
  /** Most exits to follow (default 48). */
  readonly maxExits?: number;
  /** Stop once the heap has grown by more than this many bytes (default 1 MiB). */
  readonly maxHeapGrowth?: number;
}

function prepare(machine: Backend, start: Start): void {
  for (const region of start.regions) {
    if (region.length === 0) continue;
    machine.memory.map(region.address, region.length, region.access);
    if (region.contents.length > 0) machine.memory.write(region.address, region.contents);
  }
  start.registers.forEach((value, i) => machine.setRegister(i, value));
  machine.heapTop = start.heapTop;
  machine.gas = start.gas;
  machine.pc = start.pc;
}

function pagesOf(address: number, end: number): number[] {
  const pages: number[] = [];
  for (let page = address - (address % PAGE_SIZE); page < end; page += PAGE_SIZE) pages.push(page);
  return pages;
}

/** An exit, or the message of what a run threw. */
type Outcome = Exit | { readonly kind: "error"; readonly message: string };

function runOnce(machine: Backend): Outcome {
  try {
    return machine.run();
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Runs `start` on every engine (the first is the reference) until it halts or panics, an exit
 * is not answerable, or the limits are reached; `seed` fixes the answers to exits.
 */
export function runOnEngines(
  start: Start,
  engines: readonly Engine[],
  seed: number,
  options: RunOptions = {},
): RunReport {
  const maxExits = options.maxExits ?? 48;
  const maxHeap = start.heapTop + (options.maxHeapGrowth ?? 1 << 20);
  const machines: Backend[] = [];
  try {
    for (const engine of engines) {
      const machine = engine.create(start.program);
      machines.push(machine);
      prepare(machine, start);
    }
    const random = new Random(seed ^ 0x5bd1e995);
    const fixedPages = start.regions.flatMap((r) => pagesOf(r.address, r.address + r.length));
    const answered = new Set<number>();
    const exits: ExitKind[] = [];
    const reference = machines[0];
    for (let n = 0; n < maxExits; n++) {
      const outcomes = machines.map(runOnce);
      const first = outcomes[0];
      const heapTop = Math.max(...machines.map((m) => m.heapTop));
      const pages = [...fixedPages, ...answered, ...pagesOf(start.heapTop, heapTop)];
      const expected = first.kind === "error" ? undefined : captureState(reference, first, pages);
      for (let i = 1; i < machines.length; i++) {
        const outcome = outcomes[i];
        let difference: Difference | undefined;
        if (first.kind === "error" || outcome.kind === "error") {
          const describe = (o: Outcome) => o.kind === "error" ? `error: ${o.message}` : o.kind;
          if (describe(first) !== describe(outcome)) {
            difference = {
              kind: "error",
              message: `expected ${describe(first)}, got ${describe(outcome)}`,
            };
          }
        } else {
          difference = compareStates(expected!, captureState(machines[i], outcome, pages));
        }
        if (difference !== undefined) {
          return {
            exits,
            mismatch: {
              engine: engines[i].name,
              reference: engines[0].name,
              exitNumber: n,
              difference,
              expected,
            },
          };
        }
      }
      if (first.kind === "error") break;
      exits.push(first.kind);
      const around = { codeLength: start.program.blob.code.length, pages };
      const answer = answerExit(reference, first, random, around);
      if (answer === undefined || heapTop > maxHeap) break;
      if (answer.map !== undefined) answered.add(answer.map.page);
      for (const machine of machines) applyAnswer(machine, answer);
    }
    return { exits };
  } finally {
    for (const machine of machines) machine[Symbol.dispose]();
  }
}
