/**
 * The portable backend: a PVM interpreter in plain TypeScript, with no permissions needed.
 *
 * Code is analysed once into flat arrays (`src/program/analysis.ts`). Hot paths run as basic
 * blocks translated to JavaScript (`run_translated.ts`), which V8 compiles to machine code; a
 * switch-dispatched loop over the analysis arrays (`dispatch.ts`) runs everything else (tracing,
 * the rest of a block after a host call or page fault, blocks too long to translate) with
 * identical results. Both work on one `MachineState` (`state.ts`); this module is the `Backend`
 * face over it: options, checked access, and where and how a run starts.
 *
 * Registers are 13 pairs of int32 halves, so 64-bit arithmetic allocates nothing. Gas is charged
 * per basic block on entry from a JS-number budget (at most 2^52); the rest of the signed 64-bit
 * gas waits as a BigInt and refills the budget when a block does not fit.
 * @module
 */
import {
  analyzeProgram,
  type CodeBlob,
  entryCharge,
  instructionAtPc,
} from "../program/analysis.ts";
import { DEFAULT_PROFILE, type IsaProfile } from "../program/isa/index.ts";
import {
  ADDRESS_SPACE_SIZE,
  type Backend,
  type Exit,
  REGISTER_COUNT,
  SandboxError,
} from "../pvm/mod.ts";
import { execute } from "./dispatch.ts";
import { trapOutsideCode } from "./exits.ts";
import { PagedMemory } from "./memory.ts";
import { runTranslated } from "./run_translated.ts";
import { MachineState } from "./state.ts";

/** Options of an `Interpreter`. */
export interface InterpreterOptions {
  /** Instruction set and gas model; `jam-0.7` when omitted. */
  isa?: IsaProfile;
  /**
   * Most gas the dispatch loop holds as a JS number before refilling from the 64-bit total
   * (default 2^16, at most 2^52, which keeps its arithmetic exact). Smaller values only refill
   * more often; tests use them to exercise refills.
   */
  gasChunk?: number;
  /**
   * Translate basic blocks to JavaScript functions on first use (default true) — several times
   * faster on hot code. With false, or while `onInstruction` is set, every instruction is
   * dispatched by the interpreter loop. Both give identical results.
   */
  compile?: boolean;
}

/** Largest gas budget kept as a JS number in the hot loop (exact integer arithmetic). */
const BUDGET_LIMIT = 2 ** 52;
/**
 * Default budget per refill. Returning to the dispatcher every 64 Ki instructions (about 0.1 ms)
 * costs nothing measurable and lets V8 replace a translated chunk with whole-function optimized
 * code early, instead of code entered on-stack inside one inner loop, which deoptimizes
 * whenever that loop exits (measured: runs settle at full speed sooner, up to 3× faster).
 */
const DEFAULT_GAS_SLICE = 2 ** 16;
const MAX_GAS = (1n << 63n) - 1n;
/** One 64-bit word and its little-endian halves, to move register values without BigInt math. */
const WORD = new BigUint64Array(1);
const WORD_HALVES = new Int32Array(WORD.buffer);

/**
 * The PVM interpreter backend.
 *
 * @example A bare machine: map memory, set registers and gas, run
 * ```ts
 * import { assemble } from "@pvmbox/pvmbox/asm";
 * import { Interpreter } from "@pvmbox/pvmbox/interpreter";
 * import { parseBlob } from "@pvmbox/pvmbox/program";
 *
 * const blob = parseBlob(assemble("    store_ind_u64 [a0], a1\n    trap\n"));
 * using vm = new Interpreter(blob);
 * vm.memory.map(0x20000, 4096, "read-write");
 * vm.setRegister(7, 0x20000n);
 * vm.setRegister(8, 99n);
 * vm.gas = 100n;
 * console.log(vm.run()); // { kind: "panic", pc: 2 }: the trap after the store
 * console.log(vm.memory.read(0x20000, 1)); // Uint8Array(1) [ 99 ]
 * ```
 */
export class Interpreter implements Backend {
  /** Backend name. */
  readonly name: "interpreter" = "interpreter";
  /** Guest memory; starts fully inaccessible. */
  readonly memory: PagedMemory = new PagedMemory();
  /**
   * Called after every executed instruction with its pc (tracing); undefined runs untraced.
   * Registers and memory are live inside it (reads are exact, writes affect the instructions
   * that follow) and `gas` reads exactly; it must not set `gas` or `pc`.
   */
  onInstruction: ((pc: number) => void) | undefined = undefined;

  readonly #state: MachineState;
  readonly #compile: boolean;
  #disposed = false;

  /** Analyses `blob` (cached per content) for `options.isa`, the default `jam-0.7` when omitted. */
  constructor(blob: CodeBlob, options: InterpreterOptions = {}) {
    const slice = options.gasChunk ?? DEFAULT_GAS_SLICE;
    if (!Number.isInteger(slice) || slice < 1 || slice > BUDGET_LIMIT) {
      throw new SandboxError("invalid-argument", `gasChunk ${slice} is not an integer in 1 … 2^52`);
    }
    const program = analyzeProgram(blob, options.isa ?? DEFAULT_PROFILE);
    this.#state = new MachineState(program, this.memory, slice);
    this.#compile = options.compile ?? true;
  }

  /** Number of instructions executed so far. */
  get instructionsExecuted(): number {
    return this.#state.executed;
  }

  /** Reads register `index` (0..12) as an unsigned 64-bit value. */
  getRegister(index: number): bigint {
    checkRegister(index);
    WORD_HALVES[0] = this.#state.lo[index];
    WORD_HALVES[1] = this.#state.hi[index];
    return WORD[0];
  }

  /** Writes register `index` (0..12); the value is taken modulo 2^64. */
  setRegister(index: number, value: bigint): void {
    checkRegister(index);
    if (typeof value !== "bigint") {
      throw new SandboxError("invalid-argument", `register value ${value} is not a bigint`);
    }
    WORD[0] = value; // BigUint64Array stores take the value modulo 2^64
    this.#state.lo[index] = WORD_HALVES[0];
    this.#state.hi[index] = WORD_HALVES[1];
  }

  /** Copies φ0…φ12 into `out`. */
  getRegisters(out: BigUint64Array): void {
    const { lo, hi } = this.#state;
    for (let i = 0; i < REGISTER_COUNT; i++) {
      WORD_HALVES[0] = lo[i];
      WORD_HALVES[1] = hi[i];
      out[i] = WORD[0];
    }
  }

  /** Sets φ0…φ12 from `values`. */
  setRegisters(values: BigUint64Array): void {
    const { lo, hi } = this.#state;
    for (let i = 0; i < REGISTER_COUNT; i++) {
      WORD[0] = values[i];
      lo[i] = WORD_HALVES[0];
      hi[i] = WORD_HALVES[1];
    }
  }

  /** Remaining gas (signed 64-bit, never negative here). */
  get gas(): bigint {
    return this.#state.reserve + BigInt(this.#state.tracedBudget);
  }

  set gas(value: bigint) {
    if (typeof value !== "bigint" || value < 0n || value > MAX_GAS) {
      throw new SandboxError(
        "invalid-argument",
        `gas ${value} is not a bigint in 0 … 2^63 − 1`,
      );
    }
    this.#state.reserve = value;
  }

  /**
   * The heap top `sbrk` grows from (0 until the caller sets it; JAM standard init puts it right
   * after the read-write data and its heap pages). `sbrk` maps the inaccessible pages up to the
   * new top read-write (they get memory when first touched); growth into the last 64 KiB (or by
   * 2^32 or more) fails and returns 0, and so does growth past `MAX_MAPPED_PAGES` (2 GiB).
   */
  get heapTop(): number {
    return this.#state.heapTop;
  }

  set heapTop(value: number) {
    if (!Number.isInteger(value) || value < 0 || value > ADDRESS_SPACE_SIZE) {
      throw new SandboxError("invalid-argument", `heap top ${value} is not an integer in 0 … 2^32`);
    }
    this.#state.heapTop = value;
  }

  /** Where the next `run()` starts; setting it starts a new basic block there. */
  get pc(): number {
    return this.#state.pc;
  }

  set pc(value: number) {
    if (!Number.isInteger(value) || value < 0 || value >= ADDRESS_SPACE_SIZE) {
      throw new SandboxError("invalid-argument", `pc ${value} is not an integer in 0 … 2^32 − 1`);
    }
    this.#state.pc = value;
    this.#state.chargeOnEntry = true;
  }

  /** Runs until the next exit. */
  run(): Exit {
    if (this.#disposed) throw new SandboxError("disposed", "the interpreter has been disposed");
    const s = this.#state;
    const p = s.program;
    const pc = s.pc;
    if (p.violation !== undefined) return { kind: "panic", pc }; // an invalid blob never runs
    const index = instructionAtPc(p, pc);
    if (index < 0) return trapOutsideCode(s);
    let budget = 0;
    if (s.chargeOnEntry && p.blockStart[index] === 0) {
      // Entered mid-block from outside: pay for the rest of the block here.
      const cost = BigInt(entryCharge(p, index));
      if (cost > s.reserve) return { kind: "out-of-gas", pc };
      s.reserve -= cost;
      s.executed += p.toEnd[index];
    } else if (!s.chargeOnEntry) {
      if (p.blockStart[index] === 1) budget += p.entryCost[index]; // the loop charges it again
      else s.executed += p.toEnd[index];
    }
    budget += s.take(s.gasSlice);
    if (this.onInstruction !== undefined || !this.#compile) {
      return execute(s, index, budget, false, this.onInstruction) as Exit;
    }
    return runTranslated(s, index, budget);
  }

  /** Back to the state of a new interpreter: memory unmapped, registers, gas, pc, heap top 0. */
  reset(): void {
    this.#state.reset();
  }

  /** Releases the guest memory. */
  [Symbol.dispose](): void {
    this.#disposed = true;
    this.memory.dispose();
  }
}

function checkRegister(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= REGISTER_COUNT) {
    throw new SandboxError("invalid-argument", `register index ${index} is not in 0 … 12`);
  }
}
