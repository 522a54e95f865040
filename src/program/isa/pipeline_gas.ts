/**
 * The Gray Paper 0.8 pipeline gas model (GP A.9): a basic block's cost is the number of cycles a
 * small out-of-order CPU needs to decode, execute and retire it, minus 3 (at least 1). One
 * simulation serves both the cost and its explanation (a per-instruction timeline).
 * @module
 */
import { type Instruction, instructionById, Op } from "./instructions.ts";
import { type DecodeRule, PIPELINE_PARAMS, type RegisterRule } from "./pipeline_params.ts";

/** Decode slots per cycle. */
const DECODE_SLOTS = 4;
/** Instructions that may start executing per cycle. */
const STARTS_PER_CYCLE = 5;
/** Reorder-buffer capacity: in-flight (not retired) entries. */
const ROB_CAPACITY = 32;
/** Free execution units of an idle CPU: ALU, LOAD, STORE, MUL, DIV. */
const UNIT_TOTALS = [4, 4, 4, 1, 1] as const;
const UNIT_LETTERS = "ALSMD";
/** Latency of a load. */
const MEMORY_LATENCY = 25;
/** Branch cost when the target or the fall-through is `trap` or `unlikely`, and otherwise. */
const CHEAP_BRANCH = 1, BRANCH = 20;
/** Cycles subtracted from the count at the end. */
const SLACK = 3;

/** Opcode bytes (in 0.8 numbering) that make an adjacent branch cheap: `trap` and `unlikely`. */
const TRAP_BYTE = 0, UNLIKELY_BYTE = 2;

// The table compiled into arrays indexed by instruction id.
const CYCLES = new Int8Array(256).fill(-1); // -1 memory latency, -2 branch cost
const DECODE = new Int8Array(256);
const DECODE_IF = new Int8Array(256); // slots when the rule's condition holds
const DECODE_KIND = new Uint8Array(256); // 0 fixed, 1 P, 2 Ps
const UNITS = new Uint8Array(256 * 5);
const SOURCES = new Uint8Array(256); // bit 0 A, bit 1 B, bit 2 D
const DESTINATIONS = new Uint8Array(256);
const TERMINATOR = new Uint8Array(256);
const TARGET_IN_Y = new Uint8Array(256); // conditional branches whose target the decoder puts in y

function registerBits(rule: RegisterRule): number {
  return (rule.includes("A") ? 1 : 0) | (rule.includes("B") ? 2 : 0) |
    (rule.includes("D") ? 4 : 0);
}

function compileDecode(id: number, rule: DecodeRule): void {
  if (typeof rule === "number") {
    DECODE[id] = DECODE_IF[id] = rule;
  } else {
    DECODE_KIND[id] = rule[0] === "P" ? 1 : 2;
    DECODE_IF[id] = rule[1];
    DECODE[id] = rule[2];
  }
}

for (const [name, [cycles, decode, units, src, dst]] of Object.entries(PIPELINE_PARAMS)) {
  const id = Op[name as keyof typeof PIPELINE_PARAMS];
  CYCLES[id] = cycles === "m" ? -1 : cycles === "b" ? -2 : cycles;
  compileDecode(id, decode);
  for (const letter of units) UNITS[id * 5 + UNIT_LETTERS.indexOf(letter)]++;
  SOURCES[id] = registerBits(src);
  DESTINATIONS[id] = registerBits(dst);
  const info = instructionById(id)!;
  TERMINATOR[id] = info.terminator ? 1 : 0;
  TARGET_IN_Y[id] = info.format === "reg_imm_off" ? 1 : 0;
}

/** Register bits of an instruction's A/B/D fields selected by `which` (bit 0 A, 1 B, 2 D). */
function registerMask(ins: Instruction, which: number): number {
  return ((which & 1) !== 0 ? 1 << ins.a : 0) | ((which & 2) !== 0 ? 1 << ins.b : 0) |
    ((which & 4) !== 0 ? 1 << ins.d : 0);
}

/** True when the opcode byte at `at` (code zero-extended on both sides) is trap or unlikely. */
function coldAt(code: Uint8Array, at: number): boolean {
  const byte = at >= 0 && at < code.length ? code[at] : TRAP_BYTE;
  return byte === TRAP_BYTE || byte === UNLIKELY_BYTE;
}

/** The cost parameters of one instruction as the model evaluates them on its operands. */
interface Evaluated {
  cycles: number;
  decode: number;
  src: number;
  dst: number;
}

function evaluate(ins: Instruction, code: Uint8Array, out: Evaluated): void {
  const id = ins.op;
  const src = registerMask(ins, SOURCES[id]);
  const dst = registerMask(ins, DESTINATIONS[id]);
  let cycles = CYCLES[id];
  if (cycles === -1) cycles = MEMORY_LATENCY;
  else if (cycles === -2) {
    const target = TARGET_IN_Y[id] === 1 ? ins.y : ins.x;
    const cold = coldAt(code, ins.pc + ins.length) || coldAt(code, target);
    cycles = cold ? CHEAP_BRANCH : BRANCH;
  }
  const kind = DECODE_KIND[id];
  const condition = kind === 1 ? (src & dst) !== 0 : kind === 2 ? ins.a === ins.d : false;
  out.cycles = cycles;
  out.decode = condition ? DECODE_IF[id] : DECODE[id];
  out.src = src;
  out.dst = dst;
}

/** `move_reg`, which only renames (read once: `Op` is a large frozen object). */
const MOVE_REG = Op.move_reg;

/** States of a reorder-buffer entry. */
const DEC = 0, WAIT = 1, EXE = 2, FIN = 3, RET = 4;
type EntryState = typeof DEC | typeof WAIT | typeof EXE | typeof FIN | typeof RET;

/** What a timeline needs to see of a simulation. */
interface Observer {
  /** A `move_reg` at block index `row` was decoded (it takes no reorder-buffer entry). */
  renamed(row: number, cycle: number): void;
  /** End of `cycle`: the buffer's `size` entries still hold their old states, `next` the new. */
  endOfCycle(cycle: number, size: number, next: Uint8Array): void;
}

/** The reorder buffer as parallel arrays, reused across simulations (grown on demand). */
class Rob {
  state = new Uint8Array(64);
  left = new Int32Array(64);
  dep0 = new Int32Array(64);
  dep1 = new Int32Array(64);
  units = new Uint8Array(64 * 5);
  /** Block instruction index of each entry. */
  row = new Int32Array(64);

  reserve(n: number): void {
    if (n <= this.state.length) return;
    const size = Math.max(n, this.state.length * 2);
    this.state = new Uint8Array(size);
    this.left = new Int32Array(size);
    this.dep0 = new Int32Array(size);
    this.dep1 = new Int32Array(size);
    this.units = new Uint8Array(size * 5);
    this.row = new Int32Array(size);
  }
}

const shared = new Rob();
const scratch: Evaluated = { cycles: 0, decode: 0, src: 0, dst: 0 };
const producer = new Int32Array(13);
const free = new Int32Array(5);
let nextStates = new Uint8Array(64);

/** Runs the model on `block` and returns the final cycle count. */
function simulate(
  block: readonly Instruction[],
  code: Uint8Array,
  rob: Rob,
  observer?: Observer,
): number {
  rob.reserve(block.length);
  if (observer !== undefined && nextStates.length < block.length) {
    nextStates = new Uint8Array(block.length);
  }
  producer.fill(-1);
  for (let u = 0; u < 5; u++) free[u] = UNIT_TOTALS[u];
  let next = 0; // index in `block` of the next instruction to decode; -1 after a terminator
  let evaluated = -1; // the index `scratch` holds the parameters of
  let cycle = 0, slots = DECODE_SLOTS, starts = STARTS_PER_CYCLE;
  let size = 0, head = 0; // entries below `head` are retired (retirement is in order)
  let active = false; // something was decoded or started in this cycle
  let waiting = 0; // entries in state WAIT
  for (;;) {
    const live = size - head;
    // (1) Decode, in program order, while the next instruction fits.
    if (next >= 0 && next < block.length) {
      const ins = block[next];
      if (evaluated !== next) {
        evaluate(ins, code, scratch);
        evaluated = next;
      }
      if (scratch.decode <= slots && live < ROB_CAPACITY) {
        active = true;
        if (ins.op === MOVE_REG) {
          // Renaming only: rD is now produced by whoever produces rA.
          producer[ins.d] = producer[ins.a];
          observer?.renamed(next, cycle);
          slots -= 1;
          next++;
        } else {
          let dep0 = -1, dep1 = -1;
          for (let r = 0, src = scratch.src; src !== 0; r++, src >>= 1) {
            if ((src & 1) === 0 || producer[r] < 0) continue;
            if (dep0 < 0) dep0 = producer[r];
            else if (producer[r] !== dep0) dep1 = producer[r];
          }
          for (let r = 0, dst = scratch.dst; dst !== 0; r++, dst >>= 1) {
            if ((dst & 1) !== 0) producer[r] = size;
          }
          rob.state[size] = DEC;
          rob.left[size] = scratch.cycles;
          rob.dep0[size] = dep0;
          rob.dep1[size] = dep1;
          rob.row[size] = next;
          for (let u = 0; u < 5; u++) rob.units[size * 5 + u] = UNITS[ins.op * 5 + u];
          size++;
          slots -= scratch.decode;
          next = TERMINATOR[ins.op] === 0 ? next + 1 : -1;
        }
        continue;
      }
    } else next = -1;
    // (2) Start waiting entries, oldest first, whose inputs are ready and units are free.
    for (let j = head; j < size && starts > 0 && waiting > 0; j++) {
      if (rob.state[j] !== WAIT) continue;
      const d0 = rob.dep0[j], d1 = rob.dep1[j];
      if ((d0 >= 0 && rob.left[d0] !== 0) || (d1 >= 0 && rob.left[d1] !== 0)) continue;
      const base = j * 5;
      if (
        rob.units[base] > free[0] || rob.units[base + 1] > free[1] ||
        rob.units[base + 2] > free[2] || rob.units[base + 3] > free[3] ||
        rob.units[base + 4] > free[4]
      ) continue;
      for (let u = 0; u < 5; u++) free[u] -= rob.units[base + u];
      rob.state[j] = EXE;
      starts--;
      waiting--;
      active = true;
    }
    // (3) Done when nothing is left to decode and nothing is in flight.
    if (next < 0 && live === 0) return cycle;
    // (4) End of cycle: release units, advance states, retire in order.
    slots = DECODE_SLOTS;
    starts = STARTS_PER_CYCLE;
    let inOrder = true, retired = 0;
    // The cycle is quiet when nothing but execution countdowns happens in it; then the next
    // cycles are quiet too until the first countdown reaches 0, and are skipped in one step.
    let quiet = !active && (next < 0 || live >= ROB_CAPACITY), soonest = 0x7fffffff;
    for (let j = head; j < size; j++) {
      const old = rob.state[j] as EntryState;
      const left = rob.left[j];
      let state: EntryState = old;
      if (inOrder && (old === FIN || old === RET)) {
        state = RET;
        retired++;
      } else {
        inOrder = false;
        if (old === DEC) {
          state = WAIT;
          waiting++;
        } else if (old === EXE && left === 0) state = FIN;
      }
      if (old === EXE && left > 0) {
        if (left === 1) {
          for (let u = 0; u < 5; u++) free[u] += rob.units[j * 5 + u];
          quiet = false;
        } else if (left - 1 < soonest) soonest = left - 1;
        rob.left[j] = left - 1;
      }
      if (state !== old) quiet = false;
      if (observer !== undefined) nextStates[j] = state;
      else rob.state[j] = state;
    }
    if (observer !== undefined) {
      observer.endOfCycle(cycle, size, nextStates);
      for (let j = head; j < size; j++) rob.state[j] = nextStates[j];
    } else if (quiet && soonest !== 0x7fffffff && soonest > 1) {
      const skip = soonest - 1;
      for (let j = head; j < size; j++) {
        if (rob.state[j] === EXE && rob.left[j] > 0) rob.left[j] -= skip;
      }
      cycle += skip;
    }
    head += retired;
    cycle++;
    active = false;
  }
}

/** The block cost for a final cycle count. */
function costOfCycles(cycles: number): number {
  return Math.max(cycles - SLACK, 1);
}

/**
 * Cost of a basic block under the 0.8 model. `block` runs from the block's first instruction to
 * its terminator (or the trap that follows the code); `code` is the program's code, whose bytes
 * at branch targets and fall-throughs decide the branch cost.
 */
export function pipelineBlockCost(block: readonly Instruction[], code: Uint8Array): number {
  return costOfCycles(simulate(block, code, shared));
}

/** One row of a block's timeline: a character per cycle, and the instruction it explains. */
export interface TimelineRow {
  /** The instruction of this row. */
  readonly instruction: Instruction;
  /** `D` decode, `=` waiting, `e` executing, `E` last execution cycle, `-` done, `R` retired. */
  readonly cells: string;
}

/** A block's cost together with the pipeline timeline that explains it. */
export interface BlockTimeline {
  /** The block cost. */
  readonly cost: number;
  /** Cycles simulated (cost + 3 when the cost is above 1). */
  readonly cycles: number;
  /** One row per instruction of the block, in order. */
  readonly rows: readonly TimelineRow[];
}

/**
 * Simulates `block` like `pipelineBlockCost` and records what each instruction did in each
 * cycle, in the notation of the Gray Paper 0.8 vectors' `TESTCASES.md`.
 */
export function explainBlock(block: readonly Instruction[], code: Uint8Array): BlockTimeline {
  const cells: string[][] = block.map(() => []);
  const movedAt = new Int32Array(block.length).fill(-1);
  const rob = new Rob();
  const cycles = simulate(block, code, rob, {
    renamed: (row, cycle) => movedAt[row] = cycle,
    endOfCycle: (cycle, size, next) => {
      for (let row = 0; row < block.length; row++) {
        cells[row].push(movedAt[row] === cycle ? "D" : ".");
      }
      for (let j = 0; j < size; j++) cells[rob.row[j]][cycle] = cell(rob.state[j], next[j]);
    },
  });
  return {
    cost: costOfCycles(cycles),
    cycles,
    rows: block.map((instruction, row) => ({ instruction, cells: cells[row].join("") })),
  };
}

/** The timeline character of an entry at the end of a cycle, from its state before and after. */
function cell(old: number, next: number): string {
  switch (old) {
    case DEC:
      return "D";
    case WAIT:
      return "=";
    case EXE:
      return next === FIN ? "E" : "e";
    case FIN:
      return next === RET ? "R" : "-";
    default:
      return ".";
  }
}
