/**
 * Runs a program as translated chunks (`translate.ts`), falling back to the dispatch loop for a
 * partial block and for chunks that are not translated, and turns a chunk's stop into an exit.
 * @module
 */
import type { ProgramAnalysis } from "../program/analysis.ts";
import type { Exit } from "../pvm/mod.ts";
import { StopKind } from "./chunk.ts";
import { execute } from "./dispatch.ts";
import { faultAt, haltAt, hostCallAt, outOfGasAt, panicAt } from "./exits.ts";
import type { MachineState } from "./state.ts";
import { Translation } from "./translate.ts";

const translations = new WeakMap<ProgramAnalysis, Translation>();

/** The block translation of `program`, shared by every interpreter running it. */
function translationOf(program: ProgramAnalysis): Translation {
  let t = translations.get(program);
  if (t === undefined) {
    t = new Translation(program);
    translations.set(program, t);
  }
  return t;
}

/** Runs translated chunks from instruction `index` with `budget` gas (a partial block first). */
export function runTranslated(s: MachineState, index: number, budget: number): Exit {
  const p = s.program;
  const st = s.chunk;
  if (p.blockStart[index] === 0) {
    const reached = execute(s, index, budget, true, undefined);
    if (typeof reached !== "number") return reached;
    index = reached;
    budget = st.budget;
  }
  const translation = translationOf(p);
  st.budget = budget;
  st.executed = 0;
  const lo = s.lo, hi = s.hi, memory = s.memory;
  let block = translation.blockOf[index];
  for (;;) {
    const chunk = translation.chunkFor(block);
    if (chunk === undefined) {
      // Not translated: interpret up to the next block start, then carry on translated.
      s.executed += st.executed;
      st.executed = 0;
      const reached = execute(s, translation.blockStart[block], st.budget, true, undefined);
      if (typeof reached !== "number") return reached;
      block = translation.blockOf[reached];
      continue;
    }
    const next = chunk(block, lo, hi, memory, st);
    if (next >= 0) {
      block = next;
      continue;
    }
    if (st.kind !== StopKind.OutOfGas) break;
    const cost = p.entryCost[st.index];
    st.budget = s.refill(st.budget, cost);
    if (cost > st.budget) break;
    block = translation.blockOf[st.index];
  }
  s.executed += st.executed;
  const i = st.index;
  budget = st.budget;
  switch (st.kind) {
    case StopKind.Halt:
      return haltAt(s, i, budget);
    case StopKind.Fault:
      return faultAt(s, i, budget, st.address);
    case StopKind.HostCall:
      return hostCallAt(s, i, budget);
    case StopKind.OutOfGas:
      return outOfGasAt(s, i, budget);
    default:
      return panicAt(s, i, budget);
  }
}
