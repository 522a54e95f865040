/**
 * Shrinks a start on which engines disagree to one that still shows the same kind of
 * difference: instructions become `move_reg r0, r0` in place (same length and gas, so pcs, jump
 * offsets and block costs stay), registers become 0, regions are dropped.
 * @module
 */
import { type Instruction, isTerminator } from "../../src/program/decoder.ts";
import { JAM_0_7, Op } from "../../src/program/isa/index.ts";
import { Program } from "../../src/program/program.ts";
import type { Engine } from "../backends.ts";
import { runOnEngines, type Start } from "./run.ts";

/** `start` with the instruction at `pc` (at least 2 bytes long) replaced by `move_reg r0, r0`. */
function withNop(start: Start, pc: number): Start {
  const program = start.program;
  const code = program.blob.code.slice();
  code[pc] = JAM_0_7.encodeTable[Op.move_reg];
  code[pc + 1] = 0;
  const blob = { ...program.blob, code };
  return {
    ...start,
    program: Program.fromParts({
      container: program.container,
      isa: program.isa.name,
      blob,
      memory: program.memory,
    }),
  };
}

/** What the minimization keeps: a mismatch whose difference is of the same kind. */
function stillDiffers(
  start: Start,
  engines: readonly Engine[],
  seed: number,
  kind: string,
): boolean {
  return runOnEngines(start, engines, seed).mismatch?.difference.kind === kind;
}

function replaceable(instruction: Instruction): boolean {
  return instruction.length >= 2 && !isTerminator(instruction) && instruction.op !== Op.move_reg;
}

/**
 * The smallest start found greedily that still makes `engines` disagree with a difference of
 * the same kind as `start` does (with answers fixed by `seed`); `start` itself when it agrees.
 */
export function minimize(start: Start, engines: readonly Engine[], seed: number): Start {
  const kind = runOnEngines(start, engines, seed).mismatch?.difference.kind;
  if (kind === undefined) return start;
  let best = start;
  for (let changed = true; changed;) {
    changed = false;
    for (const instruction of best.program.decoded.instructions) {
      if (!replaceable(instruction)) continue;
      const candidate = withNop(best, instruction.pc);
      if (stillDiffers(candidate, engines, seed, kind)) {
        best = candidate;
        changed = true;
      }
    }
  }
  for (let i = 0; i < best.registers.length; i++) {
    if (best.registers[i] === 0n) continue;
    const registers = best.registers.map((value, r) => (r === i ? 0n : value));
    const candidate = { ...best, registers };
    if (stillDiffers(candidate, engines, seed, kind)) best = candidate;
  }
  for (let i = best.regions.length - 1; i >= 0; i--) {
    const candidate = { ...best, regions: best.regions.filter((_, r) => r !== i) };
    if (stillDiffers(candidate, engines, seed, kind)) best = candidate;
  }
  return best;
}
