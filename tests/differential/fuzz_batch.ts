/**
 * One batch of `deno task fuzz`, run in a worker so that everything a batch leaves behind
 * (translated code, compiled programs, pooled memory) goes when the worker ends: a long run stays
 * within a batch's memory. Receives a `BatchRequest`, posts a `BatchEvent` per mismatch and one
 * when done.
 * @module
 */
import type { IsaName } from "../../src/program/isa/index.ts";
import { availableEngines } from "../backends.ts";
import { generateCase } from "./generate.ts";
import { runOnEngines } from "./run.ts";

/** Which seeds to run, and until when (a `Date.now()` time). */
export interface BatchRequest {
  /** First seed. */
  readonly from: number;
  /** Number of seeds. */
  readonly count: number;
  /** Stop starting new seeds after this time. */
  readonly deadline: number;
  /** The profile the programs are generated for. */
  readonly isa: IsaName;
}

/** What a batch reports. */
export type BatchEvent =
  | { readonly kind: "mismatch"; readonly seed: number; readonly text: string }
  | { readonly kind: "done"; readonly done: number };

/** Runs the seeds of `request`, calling `report` for each mismatch; returns how many ran. */
export function runBatch(request: BatchRequest, report: (event: BatchEvent) => void): number {
  const engines = availableEngines();
  let done = 0;
  while (done < request.count && Date.now() < request.deadline) {
    const seed = request.from + done;
    const generated = generateCase(seed, request.isa);
    const { mismatch } = runOnEngines(generated, engines, seed);
    done++;
    if (mismatch !== undefined) {
      const { engine, reference, exitNumber, difference } = mismatch;
      report({
        kind: "mismatch",
        seed,
        text: `seed ${seed} (${generated.kind}) at exit ${exitNumber}: ${engine} vs ` +
          `${reference}: ${difference.message}`,
      });
    }
  }
  return done;
}

/** Worker entry: one request in, events out. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<BatchRequest>) => void) | null;
  postMessage(message: BatchEvent): void;
}

if ("WorkerGlobalScope" in globalThis) {
  const scope = self as unknown as WorkerScope;
  scope.onmessage = (event) => {
    const done = runBatch(event.data, (e) => scope.postMessage(e));
    scope.postMessage({ kind: "done", done });
  };
}
