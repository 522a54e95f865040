/**
 * Planning over an analysed program's charged blocks, shared by code generators: block
 * numbering, splitting the blocks into chunks of bounded size, and finding the innermost loop
 * regions (a run of blocks whose last one branches back to its first).
 * @module
 */
import type { ProgramAnalysis } from "./analysis.ts";
import { Op } from "./isa/index.ts";

/** The charged blocks of a program numbered in pc order ("block ordinals"). */
export interface BlockNumbering {
  /** Block ordinal of each instruction that starts a block; -1 elsewhere. */
  readonly blockOf: Int32Array;
  /** Instruction number of each block ordinal. */
  readonly blockStart: Int32Array;
}

/** Numbers the charged blocks of `program` in pc order. */
export function numberBlocks(program: ProgramAnalysis): BlockNumbering {
  const blockOf = new Int32Array(program.count).fill(-1);
  const starts: number[] = [];
  for (let i = 0; i < program.count; i++) {
    if (program.blockStart[i] === 1) {
      blockOf[i] = starts.length;
      starts.push(i);
    }
  }
  return { blockOf, blockStart: Int32Array.from(starts) };
}

/**
 * Splits the block ordinals into consecutive chunks of at most `maxInstructions` instructions
 * (a longer block makes a chunk alone). Returns the first ordinal of every chunk, then the
 * number of blocks.
 */
export function chunkBlocks(
  program: ProgramAnalysis,
  blocks: BlockNumbering,
  maxInstructions: number,
): number[] {
  const first: number[] = [];
  let size = 0;
  for (let ord = 0; ord < blocks.blockStart.length; ord++) {
    const length = program.toEnd[blocks.blockStart[ord]];
    if (ord === 0 || size + length > maxInstructions) {
      first.push(ord);
      size = 0;
    }
    size += length;
  }
  first.push(blocks.blockStart.length);
  return first;
}

/** True for the instructions whose only targets are static (jumps, branches). */
function isStaticControl(op: number): boolean {
  return op === Op.jump || op === Op.load_imm_jump ||
    (op >= Op.branch_eq_imm && op <= Op.branch_gt_s_imm) ||
    (op >= Op.branch_eq && op <= Op.branch_ge_s);
}

/**
 * The innermost loop regions among block ordinals [first, end): for each ordinal, the last
 * block of the loop region it heads, or -1. A region is at most `maxBlocks` consecutive blocks
 * whose last one ends in a static jump or branch back to the first; only regions holding no
 * other region's head count, so an inner loop is never buried inside an outer one.
 */
export function innermostLoops(
  program: ProgramAnalysis,
  blocks: BlockNumbering,
  first: number,
  end: number,
  maxBlocks: number,
): Int32Array {
  const regionEnd = new Int32Array(end - first).fill(-1);
  for (let head = first; head < end; head++) {
    const headIndex = blocks.blockStart[head];
    for (let ord = head; ord < end && ord < head + maxBlocks; ord++) {
      const start = blocks.blockStart[ord];
      const last = start + program.toEnd[start] - 1;
      if (isStaticControl(program.op[last]) && program.target[last] === headIndex) {
        regionEnd[head - first] = ord;
        break;
      }
    }
  }
  const innermost = new Int32Array(end - first).fill(-1);
  for (let head = first; head < end; head++) {
    const last = regionEnd[head - first];
    let inner = last >= 0;
    for (let k = head + 1; inner && k <= last; k++) if (regionEnd[k - first] >= 0) inner = false;
    if (inner) innermost[head - first] = last;
  }
  return innermost;
}
