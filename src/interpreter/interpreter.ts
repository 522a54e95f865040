/**
 * The portable backend: a PVM interpreter in plain TypeScript, with no permissions needed.
 *
 * Code is analysed once into flat arrays (`src/program/analysis.ts`). Hot paths run as basic blocks translated to
 * JavaScript (`translate.ts`), which V8 compiles to machine code; a switch-dispatched loop over
 * the analysis arrays runs everything else (tracing, the rest of a block after a host call or
 * page fault, blocks too long to translate) with identical results.
 *
 * Registers are 13 pairs of int32 halves, so 64-bit arithmetic allocates nothing. Gas is charged
 * per basic block on entry from a JS-number budget (at most 2^52); the rest of the signed 64-bit
 * gas waits as a BigInt and refills the budget when a block does not fit.
 * @module
 */
import { dynamicJumpTarget, JUMP_HALTS } from "../program/dynamic_jump.ts";
import { DEFAULT_PROFILE, type IsaProfile, Op } from "../program/isa/index.ts";
import {
  ADDRESS_SPACE_SIZE,
  type Backend,
  type Exit,
  LOWEST_FAULT_ADDRESS,
  PAGE_SIZE,
  REGISTER_COUNT,
  SandboxError,
  sbrk,
} from "../pvm/mod.ts";
import { PagedMemory } from "./memory.ts";
import { compareImm, compareRegs, load, store, threeRegs, unary, withImmediate } from "./ops.ts";
import {
  analyzeProgram,
  type CodeBlob,
  entryCharge,
  type ProgramAnalysis,
} from "../program/analysis.ts";
import { type ChunkState, chunkState, StopKind } from "./chunk.ts";
import { Translation } from "./translate.ts";

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

  readonly #program: ProgramAnalysis;
  readonly #lo = new Int32Array(REGISTER_COUNT);
  readonly #hi = new Int32Array(REGISTER_COUNT);
  /** Gas not in the hot loop's budget. */
  #reserve = 0n;
  /** The loop's budget while `onInstruction` runs (so `gas` reads exactly), else 0. */
  #tracedBudget = 0;
  #pc = 0;
  /** False when `run()` resumes inside a block already paid for (after a host call or fault). */
  #chargeOnEntry = true;
  #executed = 0;
  #disposed = false;
  #heapTop = 0;
  readonly #gasChunk: number;
  readonly #compile: boolean;
  /** Exchange area with translated chunks. */
  readonly #state: ChunkState = chunkState((low, high) => this.#sbrk(low, high));

  /** Analyses `blob` (cached per content) for the chosen ISA profile. */
  constructor(blob: CodeBlob, options: InterpreterOptions = {}) {
    this.#program = analyzeProgram(blob, options.isa ?? DEFAULT_PROFILE);
    const chunk = options.gasChunk ?? DEFAULT_GAS_SLICE;
    if (!Number.isInteger(chunk) || chunk < 1 || chunk > BUDGET_LIMIT) {
      throw new SandboxError("invalid-argument", `gasChunk ${chunk} is not an integer in 1 … 2^52`);
    }
    this.#gasChunk = chunk;
    this.#compile = options.compile ?? true;
  }

  /** Number of instructions executed so far. */
  get instructionsExecuted(): number {
    return this.#executed;
  }

  /** Reads register `index` (0..12) as an unsigned 64-bit value. */
  getRegister(index: number): bigint {
    checkRegister(index);
    WORD_HALVES[0] = this.#lo[index];
    WORD_HALVES[1] = this.#hi[index];
    return WORD[0];
  }

  /** Writes register `index` (0..12); the value is taken modulo 2^64. */
  setRegister(index: number, value: bigint): void {
    checkRegister(index);
    if (typeof value !== "bigint") {
      throw new SandboxError("invalid-argument", `register value ${value} is not a bigint`);
    }
    WORD[0] = value; // BigUint64Array stores take the value modulo 2^64
    this.#lo[index] = WORD_HALVES[0];
    this.#hi[index] = WORD_HALVES[1];
  }

  /** Copies φ0…φ12 into `out`. */
  getRegisters(out: BigUint64Array): void {
    for (let i = 0; i < REGISTER_COUNT; i++) {
      WORD_HALVES[0] = this.#lo[i];
      WORD_HALVES[1] = this.#hi[i];
      out[i] = WORD[0];
    }
  }

  /** Sets φ0…φ12 from `values`. */
  setRegisters(values: BigUint64Array): void {
    for (let i = 0; i < REGISTER_COUNT; i++) {
      WORD[0] = values[i];
      this.#lo[i] = WORD_HALVES[0];
      this.#hi[i] = WORD_HALVES[1];
    }
  }

  /** Remaining gas (signed 64-bit, never negative here). */
  get gas(): bigint {
    return this.#reserve + BigInt(this.#tracedBudget);
  }

  set gas(value: bigint) {
    if (typeof value !== "bigint" || value < 0n || value > MAX_GAS) {
      throw new SandboxError(
        "invalid-argument",
        `gas ${value} is not a bigint in 0 … 2^63 − 1`,
      );
    }
    this.#reserve = value;
  }

  /**
   * The heap top `sbrk` grows from (0 until the caller sets it; JAM standard init puts it right
   * after the read-write data and its heap pages). `sbrk` maps the inaccessible pages up to the
   * new top read-write (they get memory when first touched); growth into the last 64 KiB (or by
   * 2^32 or more) fails and returns 0, and so does growth past `MAX_MAPPED_PAGES` (2 GiB).
   */
  get heapTop(): number {
    return this.#heapTop;
  }

  set heapTop(value: number) {
    if (!Number.isInteger(value) || value < 0 || value > ADDRESS_SPACE_SIZE) {
      throw new SandboxError("invalid-argument", `heap top ${value} is not an integer in 0 … 2^32`);
    }
    this.#heapTop = value;
  }

  /** Where the next `run()` starts; setting it starts a new basic block there. */
  get pc(): number {
    return this.#pc;
  }

  set pc(value: number) {
    if (!Number.isInteger(value) || value < 0 || value >= ADDRESS_SPACE_SIZE) {
      throw new SandboxError("invalid-argument", `pc ${value} is not an integer in 0 … 2^32 − 1`);
    }
    this.#pc = value;
    this.#chargeOnEntry = true;
  }

  /** Runs until the next exit. */
  run(): Exit {
    if (this.#disposed) throw new SandboxError("disposed", "the interpreter has been disposed");
    const p = this.#program;
    const pc = this.#pc;
    if (p.violation !== undefined) return { kind: "panic", pc }; // an invalid blob never runs
    const index = pc < p.indexOfPc.length ? p.indexOfPc[pc] : -1;
    if (index < 0) return this.#trapOutsideCode(pc);
    let budget = 0;
    if (this.#chargeOnEntry && p.blockStart[index] === 0) {
      // Entered mid-block from outside: pay for the rest of the block here.
      const cost = BigInt(entryCharge(p, index));
      if (cost > this.#reserve) return { kind: "out-of-gas", pc };
      this.#reserve -= cost;
      this.#executed += p.toEnd[index];
    } else if (!this.#chargeOnEntry) {
      if (p.blockStart[index] === 1) budget += p.entryCost[index]; // the loop charges it again
      else this.#executed += p.toEnd[index];
    }
    budget += this.#take(this.#gasChunk);
    if (this.onInstruction !== undefined || !this.#compile) {
      return this.#execute(index, budget, false) as Exit;
    }
    return this.#runCompiled(index, budget);
  }

  /** Runs translated chunks from instruction `index`, finishing a partial block first. */
  #runCompiled(index: number, budget: number): Exit {
    const p = this.#program;
    if (p.blockStart[index] === 0) {
      const reached = this.#execute(index, budget, true);
      if (typeof reached !== "number") return reached;
      index = reached;
      budget = this.#state.budget;
    }
    const translation = translationOf(p);
    const st = this.#state;
    st.budget = budget;
    st.executed = 0;
    const lo = this.#lo, hi = this.#hi, memory = this.memory;
    let block = translation.blockOf[index];
    for (;;) {
      const chunk = translation.chunkFor(block);
      if (chunk === undefined) {
        // Not translated: interpret up to the next block start, then carry on translated.
        this.#executed += st.executed;
        st.executed = 0;
        const reached = this.#execute(translation.blockStart[block], st.budget, true);
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
      st.budget = this.#refill(st.budget, cost);
      if (cost > st.budget) break;
      block = translation.blockOf[st.index];
    }
    this.#executed += st.executed;
    const i = st.index;
    budget = st.budget;
    switch (st.kind) {
      case StopKind.Halt:
        return this.#halt(i, budget);
      case StopKind.Fault:
        return this.#fault(i, budget, st.address);
      case StopKind.HostCall:
        return this.#hostCall(i, budget);
      case StopKind.OutOfGas:
        return this.#outOfGas(i, budget);
      default:
        return this.#panic(i, budget);
    }
  }

  /** Back to the state of a new interpreter: memory unmapped, registers, gas, pc, heap top 0. */
  reset(): void {
    this.memory.dispose();
    this.#lo.fill(0);
    this.#hi.fill(0);
    this.#reserve = 0n;
    this.#pc = 0;
    this.#chargeOnEntry = true;
    this.#heapTop = 0;
    this.#executed = 0;
  }

  /** Releases the guest memory. */
  [Symbol.dispose](): void {
    this.#disposed = true;
    this.memory.dispose();
  }

  /** Moves up to `limit` gas from the reserve into a budget and returns it. */
  #take(limit: number): number {
    const n = this.#reserve < BigInt(limit) ? Number(this.#reserve) : limit;
    this.#reserve -= BigInt(n);
    return n;
  }

  /**
   * Returns the budget to the reserve and refills it as far as the reserve allows: a slice, or
   * all of `need` (the next block's cost) when that is more.
   */
  #refill(budget: number, need: number): number {
    this.#reserve += BigInt(budget);
    return this.#take(Math.max(this.#gasChunk, need));
  }

  /** A pc with no instruction (past the code or a non-opcode byte) executes as `trap`. */
  #trapOutsideCode(pc: number): Exit {
    if (this.#chargeOnEntry) {
      const cost = BigInt(entryCharge(this.#program, -1));
      if (cost > this.#reserve) return { kind: "out-of-gas", pc };
      this.#reserve -= cost;
    }
    this.#executed++;
    this.#chargeOnEntry = true;
    return { kind: "panic", pc };
  }

  /** Records where execution stopped: instruction `i`, counted as executed when `done`. */
  #stop(i: number, budget: number, done: boolean, chargeOnEntry: boolean): number {
    const p = this.#program;
    this.#reserve += BigInt(budget);
    this.#executed -= p.toEnd[i] - (done ? 1 : 0);
    this.#pc = p.pc[i];
    this.#chargeOnEntry = chargeOnEntry;
    return this.#pc;
  }

  #panic(i: number, budget: number): Exit {
    return { kind: "panic", pc: this.#stop(i, budget, true, true) };
  }

  /** A denied access at `address`: panic below 64 KiB, else a resumable page fault. */
  #fault(i: number, budget: number, address: number): Exit {
    if (address < LOWEST_FAULT_ADDRESS) return this.#panic(i, budget);
    const pc = this.#stop(i, budget, false, false);
    return { kind: "page-fault", pc, address: (address & -PAGE_SIZE) >>> 0 };
  }

  /** `sbrk`: grows the heap by `amount` bytes, returning the old top (0 when it cannot). */
  #sbrk(amountLow: number, amountHigh: number): number {
    const amount = BigInt(amountLow >>> 0) | (BigInt(amountHigh >>> 0) << 32n);
    const grown = sbrk(this.memory, this.#heapTop, amount);
    this.#heapTop = grown.heapTop;
    return grown.result;
  }

  /**
   * The dispatch loop: runs from instruction `start` with `budget` gas until an exit. With
   * `untilBlock`, it instead stops at the next block start after `start` that costs gas and
   * returns its instruction number (the budget, not yet charged for it, is left in the chunk
   * state).
   */
  #execute(start: number, budget: number, untilBlock: boolean): Exit | number {
    const p = this.#program;
    const { op, ra, rb, rd, x, y, target, entryCost, toEnd, jumpTargets } = p;
    const pcs = p.pc;
    const lo = this.#lo, hi = this.#hi;
    const mem = this.memory;
    const scratch = mem.scratch;
    const hook = this.onInstruction;
    let i = start;
    for (;;) {
      const cost = entryCost[i];
      if (cost !== 0) {
        if (untilBlock && i !== start) {
          this.#state.budget = budget;
          return i;
        }
        if (cost > budget) {
          budget = this.#refill(budget, cost);
          if (cost > budget) return this.#outOfGas(i, budget);
        }
        budget -= cost;
        this.#executed += toEnd[i];
      }
      const cur = i;
      // Cases are instruction ids (never opcode bytes: profiles map bytes to ids), spelled as
      // literals so V8 dispatches through a jump table; `satisfies typeof Op.<name>` has the
      // type checker prove each literal is the named instruction's id.
      switch (op[cur]) {
        case 0 satisfies typeof Op.trap:
          return this.#panic(cur, budget);
        case 1 satisfies typeof Op.fallthrough:
        case 2 satisfies typeof Op.unlikely:
          i = cur + 1;
          break;
        case 10 satisfies typeof Op.ecalli:
          if (hook !== undefined) this.#trace(hook, pcs[cur], budget);
          return this.#hostCall(cur, budget);
        case 20 satisfies typeof Op.load_imm_64:
          lo[ra[cur]] = x[cur];
          hi[ra[cur]] = y[cur];
          i = cur + 1;
          break;
        case 30 satisfies typeof Op.store_imm_u8:
        case 31 satisfies typeof Op.store_imm_u16:
        case 32 satisfies typeof Op.store_imm_u32:
        case 33 satisfies typeof Op.store_imm_u64: {
          const v = y[cur];
          const f = store(mem, x[cur] >>> 0, op[cur] - Op.store_imm_u8, v, v >> 31);
          if (f >= 0) return this.#fault(cur, budget, f);
          i = cur + 1;
          break;
        }
        case 40 satisfies typeof Op.jump: {
          const t = target[cur];
          if (t < 0) return this.#panic(cur, budget);
          i = t;
          break;
        }
        case 50 satisfies typeof Op.jump_ind: {
          const t = dynamicJumpTarget(jumpTargets, (lo[ra[cur]] + x[cur]) >>> 0);
          if (t < 0) return t === JUMP_HALTS ? this.#halt(cur, budget) : this.#panic(cur, budget);
          i = t;
          break;
        }
        case 51 satisfies typeof Op.load_imm:
          lo[ra[cur]] = x[cur];
          hi[ra[cur]] = x[cur] >> 31;
          i = cur + 1;
          break;
        case 52 satisfies typeof Op.load_u8:
        case 53 satisfies typeof Op.load_i8:
        case 54 satisfies typeof Op.load_u16:
        case 55 satisfies typeof Op.load_i16:
        case 56 satisfies typeof Op.load_u32:
        case 57 satisfies typeof Op.load_i32:
        case 58 satisfies typeof Op.load_u64: {
          const f = load(mem, x[cur] >>> 0, op[cur] - Op.load_u8);
          if (f >= 0) return this.#fault(cur, budget, f);
          lo[ra[cur]] = scratch[0];
          hi[ra[cur]] = scratch[1];
          i = cur + 1;
          break;
        }
        case 59 satisfies typeof Op.store_u8:
        case 60 satisfies typeof Op.store_u16:
        case 61 satisfies typeof Op.store_u32:
        case 62 satisfies typeof Op.store_u64: {
          const a = ra[cur];
          const f = store(mem, x[cur] >>> 0, op[cur] - Op.store_u8, lo[a], hi[a]);
          if (f >= 0) return this.#fault(cur, budget, f);
          i = cur + 1;
          break;
        }
        case 70 satisfies typeof Op.store_imm_ind_u8:
        case 71 satisfies typeof Op.store_imm_ind_u16:
        case 72 satisfies typeof Op.store_imm_ind_u32:
        case 73 satisfies typeof Op.store_imm_ind_u64: {
          const v = y[cur];
          const address = (lo[ra[cur]] + x[cur]) >>> 0;
          const f = store(mem, address, op[cur] - Op.store_imm_ind_u8, v, v >> 31);
          if (f >= 0) return this.#fault(cur, budget, f);
          i = cur + 1;
          break;
        }
        case 80 satisfies typeof Op.load_imm_jump: {
          lo[ra[cur]] = x[cur];
          hi[ra[cur]] = x[cur] >> 31;
          const t = target[cur];
          if (t < 0) return this.#panic(cur, budget);
          i = t;
          break;
        }
        case 81 satisfies typeof Op.branch_eq_imm:
        case 82 satisfies typeof Op.branch_ne_imm:
        case 83 satisfies typeof Op.branch_lt_u_imm:
        case 84 satisfies typeof Op.branch_le_u_imm:
        case 85 satisfies typeof Op.branch_ge_u_imm:
        case 86 satisfies typeof Op.branch_gt_u_imm:
        case 87 satisfies typeof Op.branch_lt_s_imm:
        case 88 satisfies typeof Op.branch_le_s_imm:
        case 89 satisfies typeof Op.branch_ge_s_imm:
        case 90 satisfies typeof Op.branch_gt_s_imm: {
          const a = ra[cur];
          const v = x[cur];
          if (compareImm(op[cur], lo[a], hi[a], v, v >> 31)) {
            const t = target[cur];
            if (t < 0) return this.#panic(cur, budget);
            i = t;
          } else {
            i = cur + 1;
          }
          break;
        }
        case 100 satisfies typeof Op.move_reg: {
          const a = ra[cur], d = rd[cur];
          lo[d] = lo[a];
          hi[d] = hi[a];
          i = cur + 1;
          break;
        }
        case 101 satisfies typeof Op.sbrk: {
          const a = ra[cur], d = rd[cur];
          const r = this.#sbrk(lo[a], hi[a]);
          lo[d] = r | 0;
          hi[d] = r >= ADDRESS_SPACE_SIZE ? 1 : 0;
          i = cur + 1;
          break;
        }
        case 102 satisfies typeof Op.count_set_bits_64:
        case 103 satisfies typeof Op.count_set_bits_32:
        case 104 satisfies typeof Op.leading_zero_bits_64:
        case 105 satisfies typeof Op.leading_zero_bits_32:
        case 106 satisfies typeof Op.trailing_zero_bits_64:
        case 107 satisfies typeof Op.trailing_zero_bits_32:
        case 108 satisfies typeof Op.sign_extend_8:
        case 109 satisfies typeof Op.sign_extend_16:
        case 110 satisfies typeof Op.zero_extend_16:
        case 111 satisfies typeof Op.reverse_bytes:
          unary(op[cur], lo, hi, rd[cur], ra[cur]);
          i = cur + 1;
          break;
        case 120 satisfies typeof Op.store_ind_u8:
        case 121 satisfies typeof Op.store_ind_u16:
        case 122 satisfies typeof Op.store_ind_u32:
        case 123 satisfies typeof Op.store_ind_u64: {
          const a = ra[cur];
          const address = (lo[rb[cur]] + x[cur]) >>> 0;
          const f = store(mem, address, op[cur] - Op.store_ind_u8, lo[a], hi[a]);
          if (f >= 0) return this.#fault(cur, budget, f);
          i = cur + 1;
          break;
        }
        case 124 satisfies typeof Op.load_ind_u8:
        case 125 satisfies typeof Op.load_ind_i8:
        case 126 satisfies typeof Op.load_ind_u16:
        case 127 satisfies typeof Op.load_ind_i16:
        case 128 satisfies typeof Op.load_ind_u32:
        case 129 satisfies typeof Op.load_ind_i32:
        case 130 satisfies typeof Op.load_ind_u64: {
          const address = (lo[rb[cur]] + x[cur]) >>> 0;
          const f = load(mem, address, op[cur] - Op.load_ind_u8);
          if (f >= 0) return this.#fault(cur, budget, f);
          lo[ra[cur]] = scratch[0];
          hi[ra[cur]] = scratch[1];
          i = cur + 1;
          break;
        }
        case 131 satisfies typeof Op.add_imm_32: {
          const r = (lo[rb[cur]] + x[cur]) | 0;
          lo[ra[cur]] = r;
          hi[ra[cur]] = r >> 31;
          i = cur + 1;
          break;
        }
        case 132 satisfies typeof Op.and_imm: {
          const b = rb[cur], a = ra[cur], v = x[cur];
          lo[a] = lo[b] & v;
          hi[a] = hi[b] & (v >> 31);
          i = cur + 1;
          break;
        }
        case 133 satisfies typeof Op.xor_imm: {
          const b = rb[cur], a = ra[cur], v = x[cur];
          lo[a] = lo[b] ^ v;
          hi[a] = hi[b] ^ (v >> 31);
          i = cur + 1;
          break;
        }
        case 134 satisfies typeof Op.or_imm: {
          const b = rb[cur], a = ra[cur], v = x[cur];
          lo[a] = lo[b] | v;
          hi[a] = hi[b] | (v >> 31);
          i = cur + 1;
          break;
        }
        case 149 satisfies typeof Op.add_imm_64: {
          const b = rb[cur], a = ra[cur], v = x[cur];
          const bl = lo[b];
          const l = (bl + v) | 0;
          hi[a] = (hi[b] + (v >> 31) + ((l >>> 0) < (bl >>> 0) ? 1 : 0)) | 0;
          lo[a] = l;
          i = cur + 1;
          break;
        }
        case 135 satisfies typeof Op.mul_imm_32:
        case 136 satisfies typeof Op.set_lt_u_imm:
        case 137 satisfies typeof Op.set_lt_s_imm:
        case 138 satisfies typeof Op.shlo_l_imm_32:
        case 139 satisfies typeof Op.shlo_r_imm_32:
        case 140 satisfies typeof Op.shar_r_imm_32:
        case 141 satisfies typeof Op.neg_add_imm_32:
        case 142 satisfies typeof Op.set_gt_u_imm:
        case 143 satisfies typeof Op.set_gt_s_imm:
        case 144 satisfies typeof Op.shlo_l_imm_alt_32:
        case 145 satisfies typeof Op.shlo_r_imm_alt_32:
        case 146 satisfies typeof Op.shar_r_imm_alt_32:
        case 147 satisfies typeof Op.cmov_iz_imm:
        case 148 satisfies typeof Op.cmov_nz_imm:
        case 150 satisfies typeof Op.mul_imm_64:
        case 151 satisfies typeof Op.shlo_l_imm_64:
        case 152 satisfies typeof Op.shlo_r_imm_64:
        case 153 satisfies typeof Op.shar_r_imm_64:
        case 154 satisfies typeof Op.neg_add_imm_64:
        case 155 satisfies typeof Op.shlo_l_imm_alt_64:
        case 156 satisfies typeof Op.shlo_r_imm_alt_64:
        case 157 satisfies typeof Op.shar_r_imm_alt_64:
        case 158 satisfies typeof Op.rot_r_64_imm:
        case 159 satisfies typeof Op.rot_r_64_imm_alt:
        case 160 satisfies typeof Op.rot_r_32_imm:
        case 161 satisfies typeof Op.rot_r_32_imm_alt:
          withImmediate(op[cur], lo, hi, ra[cur], rb[cur], x[cur]);
          i = cur + 1;
          break;
        case 170 satisfies typeof Op.branch_eq:
        case 171 satisfies typeof Op.branch_ne:
        case 172 satisfies typeof Op.branch_lt_u:
        case 173 satisfies typeof Op.branch_lt_s:
        case 174 satisfies typeof Op.branch_ge_u:
        case 175 satisfies typeof Op.branch_ge_s: {
          const a = ra[cur], b = rb[cur];
          if (compareRegs(op[cur], lo[a], hi[a], lo[b], hi[b])) {
            const t = target[cur];
            if (t < 0) return this.#panic(cur, budget);
            i = t;
          } else {
            i = cur + 1;
          }
          break;
        }
        case 180 satisfies typeof Op.load_imm_jump_ind: {
          const address = (lo[rb[cur]] + y[cur]) >>> 0;
          lo[ra[cur]] = x[cur];
          hi[ra[cur]] = x[cur] >> 31;
          const t = dynamicJumpTarget(jumpTargets, address);
          if (t < 0) return t === JUMP_HALTS ? this.#halt(cur, budget) : this.#panic(cur, budget);
          i = t;
          break;
        }
        case 190 satisfies typeof Op.add_32: {
          const r = (lo[ra[cur]] + lo[rb[cur]]) | 0;
          lo[rd[cur]] = r;
          hi[rd[cur]] = r >> 31;
          i = cur + 1;
          break;
        }
        case 200 satisfies typeof Op.add_64: {
          const a = ra[cur], b = rb[cur], d = rd[cur];
          const al = lo[a];
          const l = (al + lo[b]) | 0;
          hi[d] = (hi[a] + hi[b] + ((l >>> 0) < (al >>> 0) ? 1 : 0)) | 0;
          lo[d] = l;
          i = cur + 1;
          break;
        }
        case 201 satisfies typeof Op.sub_64: {
          const a = ra[cur], b = rb[cur], d = rd[cur];
          const al = lo[a], bl = lo[b];
          hi[d] = (hi[a] - hi[b] - ((al >>> 0) < (bl >>> 0) ? 1 : 0)) | 0;
          lo[d] = (al - bl) | 0;
          i = cur + 1;
          break;
        }
        case 210 satisfies typeof Op.and: {
          const a = ra[cur], b = rb[cur], d = rd[cur];
          lo[d] = lo[a] & lo[b];
          hi[d] = hi[a] & hi[b];
          i = cur + 1;
          break;
        }
        case 211 satisfies typeof Op.xor: {
          const a = ra[cur], b = rb[cur], d = rd[cur];
          lo[d] = lo[a] ^ lo[b];
          hi[d] = hi[a] ^ hi[b];
          i = cur + 1;
          break;
        }
        case 212 satisfies typeof Op.or: {
          const a = ra[cur], b = rb[cur], d = rd[cur];
          lo[d] = lo[a] | lo[b];
          hi[d] = hi[a] | hi[b];
          i = cur + 1;
          break;
        }
        case 191 satisfies typeof Op.sub_32:
        case 192 satisfies typeof Op.mul_32:
        case 193 satisfies typeof Op.div_u_32:
        case 194 satisfies typeof Op.div_s_32:
        case 195 satisfies typeof Op.rem_u_32:
        case 196 satisfies typeof Op.rem_s_32:
        case 197 satisfies typeof Op.shlo_l_32:
        case 198 satisfies typeof Op.shlo_r_32:
        case 199 satisfies typeof Op.shar_r_32:
        case 202 satisfies typeof Op.mul_64:
        case 203 satisfies typeof Op.div_u_64:
        case 204 satisfies typeof Op.div_s_64:
        case 205 satisfies typeof Op.rem_u_64:
        case 206 satisfies typeof Op.rem_s_64:
        case 207 satisfies typeof Op.shlo_l_64:
        case 208 satisfies typeof Op.shlo_r_64:
        case 209 satisfies typeof Op.shar_r_64:
        case 213 satisfies typeof Op.mul_upper_s_s:
        case 214 satisfies typeof Op.mul_upper_u_u:
        case 215 satisfies typeof Op.mul_upper_s_u:
        case 216 satisfies typeof Op.set_lt_u:
        case 217 satisfies typeof Op.set_lt_s:
        case 218 satisfies typeof Op.cmov_iz:
        case 219 satisfies typeof Op.cmov_nz:
        case 220 satisfies typeof Op.rot_l_64:
        case 221 satisfies typeof Op.rot_l_32:
        case 222 satisfies typeof Op.rot_r_64:
        case 223 satisfies typeof Op.rot_r_32:
        case 224 satisfies typeof Op.and_inv:
        case 225 satisfies typeof Op.or_inv:
        case 226 satisfies typeof Op.xnor:
        case 227 satisfies typeof Op.max:
        case 228 satisfies typeof Op.max_u:
        case 229 satisfies typeof Op.min:
        case 230 satisfies typeof Op.min_u:
          threeRegs(op[cur], lo, hi, rd[cur], ra[cur], rb[cur]);
          i = cur + 1;
          break;
        default:
          // Decoded ids are all handled above; anything else would be a decoder bug.
          return this.#panic(cur, budget);
      }
      if (hook !== undefined) this.#trace(hook, pcs[cur], budget);
    }
  }

  /** Calls the tracing hook with the loop's budget visible to `gas`. */
  #trace(hook: (pc: number) => void, pc: number, budget: number): void {
    this.#tracedBudget = budget;
    try {
      hook(pc);
    } finally {
      this.#tracedBudget = 0;
    }
  }

  #halt(i: number, budget: number): Exit {
    return { kind: "halt", pc: this.#stop(i, budget, true, true) };
  }

  /** `ecalli` at instruction `i`: the host call exit; `run()` resumes after it, unpaid. */
  #hostCall(i: number, budget: number): Exit {
    const p = this.#program;
    const pc = this.#stop(i, budget, true, false);
    this.#pc = p.pc[i + 1];
    return { kind: "host-call", pc, id: p.x[i] >>> 0 };
  }

  /** The block starting at instruction `i` does not fit the gas left; nothing of it ran. */
  #outOfGas(i: number, budget: number): Exit {
    const pc = this.#stop(i, budget, false, true);
    this.#executed += this.#program.toEnd[i];
    return { kind: "out-of-gas", pc };
  }
}

function checkRegister(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= REGISTER_COUNT) {
    throw new SandboxError("invalid-argument", `register index ${index} is not in 0 … 12`);
  }
}
