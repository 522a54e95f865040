/**
 * The interface between the interpreter and its translated chunks: the state they exchange and
 * the kinds of stop a chunk reports.
 * @module
 */
import type { PagedMemory } from "./memory.ts";

/** Why a chunk returned -1: the kinds of stop it reports through `ChunkState.kind`. */
export const StopKind = {
  /** A trap, an invalid jump target or an undecodable instruction at `index`. */
  Panic: 1,
  /** A dynamic jump to the halt address at `index`. */
  Halt: 2,
  /** A denied memory access at `index`; the lowest denied address is in `address`. */
  Fault: 3,
  /** `ecalli` at `index`. */
  HostCall: 4,
  /** The block starting at `index` costs more than the budget; nothing of it ran. */
  OutOfGas: 5,
} as const;

/** One of the `StopKind` values. */
export type StopKind = typeof StopKind[keyof typeof StopKind];

/** What a chunk reads and reports besides registers: shared with the interpreter. */
export interface ChunkState {
  /** Gas budget (a JS number, at most 2^52 plus one block). */
  budget: number;
  /** Instructions of the blocks entered so far (whole blocks; the caller corrects at stops). */
  executed: number;
  /** Why the last chunk stopped (valid when it returned -1). */
  kind: StopKind;
  /** Instruction number of the stop. */
  index: number;
  /** Lowest denied address, for `StopKind.Fault`. */
  address: number;
  /** `sbrk`: grows the heap and returns the old top (0 on failure). */
  sbrk(amountLow: number, amountHigh: number): number;
}

/** A fresh `ChunkState` whose `sbrk` is `sbrk` (one shape for every state, for V8's sake). */
export function chunkState(sbrk: (amountLow: number, amountHigh: number) => number): ChunkState {
  return { budget: 0, executed: 0, kind: StopKind.Panic, index: 0, address: 0, sbrk };
}

/**
 * A translated chunk: runs from block ordinal `block` and returns the ordinal of the next block
 * (outside the chunk) or -1 after a stop described in `state`.
 */
export type Chunk = (
  block: number,
  lo: Int32Array,
  hi: Int32Array,
  memory: PagedMemory,
  state: ChunkState,
) => number;
