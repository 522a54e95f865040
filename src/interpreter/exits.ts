/**
 * How a stop at an instruction becomes a PVM exit: the unspent budget goes back to the reserve,
 * the executed count is corrected, and the pc and charge flag are set where the next run resumes.
 * The dispatch loop and the translated-chunk runner both end through these.
 * @module
 */
import { entryCharge } from "../program/analysis.ts";
import { type Exit, LOWEST_FAULT_ADDRESS, PAGE_SIZE } from "../pvm/mod.ts";
import type { MachineState } from "./state.ts";

/** Records where execution stopped: instruction `i`, counted as executed when `done`. */
function stop(
  s: MachineState,
  i: number,
  budget: number,
  done: boolean,
  chargeOnEntry: boolean,
): number {
  const p = s.program;
  s.reserve += BigInt(budget);
  s.executed -= p.toEnd[i] - (done ? 1 : 0);
  s.pc = p.pc[i];
  s.chargeOnEntry = chargeOnEntry;
  return s.pc;
}

/** A panic at instruction `i` (a trap, an invalid jump target): the next run starts there. */
export function panicAt(s: MachineState, i: number, budget: number): Exit {
  return { kind: "panic", pc: stop(s, i, budget, true, true) };
}

/** A dynamic jump to the halt address at instruction `i`. */
export function haltAt(s: MachineState, i: number, budget: number): Exit {
  return { kind: "halt", pc: stop(s, i, budget, true, true) };
}

/** A denied access at `address` by instruction `i`: panic below 64 KiB, else a page fault. */
export function faultAt(s: MachineState, i: number, budget: number, address: number): Exit {
  if (address < LOWEST_FAULT_ADDRESS) return panicAt(s, i, budget);
  const pc = stop(s, i, budget, false, false);
  return { kind: "page-fault", pc, address: (address & -PAGE_SIZE) >>> 0 };
}

/** `ecalli` at instruction `i`: the host call exit; the next run resumes after it, unpaid. */
export function hostCallAt(s: MachineState, i: number, budget: number): Exit {
  const p = s.program;
  const pc = stop(s, i, budget, true, false);
  s.pc = p.pc[i + 1];
  return { kind: "host-call", pc, id: p.x[i] >>> 0 };
}

/** The block starting at instruction `i` does not fit the gas left; nothing of it ran. */
export function outOfGasAt(s: MachineState, i: number, budget: number): Exit {
  const pc = stop(s, i, budget, false, true);
  s.executed += s.program.toEnd[i];
  return { kind: "out-of-gas", pc };
}

/** A run starting at a pc with no instruction (past the code or a non-opcode byte): a `trap`. */
export function trapOutsideCode(s: MachineState): Exit {
  const pc = s.pc;
  if (s.chargeOnEntry) {
    const cost = BigInt(entryCharge(s.program, -1));
    if (cost > s.reserve) return { kind: "out-of-gas", pc };
    s.reserve -= cost;
  }
  s.executed++;
  s.chargeOnEntry = true;
  return { kind: "panic", pc };
}
