/**
 * The interpreter's machine state, shared by its dispatch loop, its translated chunks and its
 * `Backend` face: registers as int32 halves, the gas reserve and the slices taken from it, the
 * pc and whether entering there is charged, the heap top `sbrk` grows, and the counters.
 * @module
 */
import type { ProgramAnalysis } from "../program/analysis.ts";
import { REGISTER_COUNT, sbrk } from "../pvm/mod.ts";
import { type ChunkState, chunkState } from "./chunk.ts";
import type { PagedMemory } from "./memory.ts";

/** Everything an interpreter run reads and changes besides guest memory's contents. */
export class MachineState {
  /** The analysis of the program being run. */
  readonly program: ProgramAnalysis;
  /** Guest memory. */
  readonly memory: PagedMemory;
  /** Low 32 bits of φ0…φ12. */
  readonly lo: Int32Array = new Int32Array(REGISTER_COUNT);
  /** High 32 bits of φ0…φ12. */
  readonly hi: Int32Array = new Int32Array(REGISTER_COUNT);
  /** Gas not in the running loop's budget. */
  reserve = 0n;
  /** The loop's budget while a tracing hook runs (so gas reads exactly), else 0. */
  tracedBudget = 0;
  /** Where the next run starts. */
  pc = 0;
  /** False when a run resumes inside a block already paid for (after a host call or fault). */
  chargeOnEntry = true;
  /** Instructions executed so far (whole blocks are counted on entry and corrected at stops). */
  executed = 0;
  /** The heap top `sbrk` grows from. */
  heapTop = 0;
  /** Most gas a budget takes from the reserve at once (at least one block's cost is taken). */
  readonly gasSlice: number;
  /** Exchange area with translated chunks. */
  readonly chunk: ChunkState;

  /** A machine with zeroed registers, no gas and pc 0, running `program` in `memory`. */
  constructor(program: ProgramAnalysis, memory: PagedMemory, gasSlice: number) {
    this.program = program;
    this.memory = memory;
    this.gasSlice = gasSlice;
    this.chunk = chunkState((low, high) => this.sbrk(low, high));
  }

  /** Moves up to `limit` gas from the reserve into a budget and returns it. */
  take(limit: number): number {
    const n = this.reserve < BigInt(limit) ? Number(this.reserve) : limit;
    this.reserve -= BigInt(n);
    return n;
  }

  /**
   * Returns `budget` to the reserve and refills it as far as the reserve allows: a slice, or
   * all of `need` (the next block's cost) when that is more.
   */
  refill(budget: number, need: number): number {
    this.reserve += BigInt(budget);
    return this.take(Math.max(this.gasSlice, need));
  }

  /**
   * `sbrk` by an amount given as int32 halves: returns the old top (0 on failure). Only a
   * profile with `hasSbrk` decodes the instruction, so reaching it otherwise is an analysis bug.
   */
  sbrk(amountLow: number, amountHigh: number): number {
    if (!this.program.profile.hasSbrk) {
      throw new Error(`sbrk reached under ${this.program.profile.name}, which has no sbrk`);
    }
    const amount = BigInt(amountLow >>> 0) | (BigInt(amountHigh >>> 0) << 32n);
    const grown = sbrk(this.memory, this.heapTop, amount);
    this.heapTop = grown.heapTop;
    return grown.result;
  }

  /** Back to a new machine's state: memory unmapped, registers, gas, pc and heap top 0. */
  reset(): void {
    this.memory.dispose();
    this.lo.fill(0);
    this.hi.fill(0);
    this.reserve = 0n;
    this.pc = 0;
    this.chargeOnEntry = true;
    this.heapTop = 0;
    this.executed = 0;
  }
}
