/**
 * The Gray Paper 0.8 pipeline gas model (GP A.9): a basic block's cost is the number of cycles a
 * small out-of-order CPU needs to decode, execute and retire it, minus 3 (at least 1). One
 * simulation serves both the cost and its explanation (a per-instruction timeline).
 *
 * The simulation does not step every reorder-buffer entry through every cycle. It records the
 * cycle in which each instruction is decoded, starts, executes last and retires; every cell of
 * the timeline follows from those four cycles. Most blocks never run short of execution units
 * or starts, so their schedule follows from decoding and dependencies alone, in one pass in
 * program order; a check that no cycle of it over-uses units or starts proves it is the model's.
 * The other blocks are simulated, visiting only the cycles in which something can happen.
 * @module
 */
import type { InstructionColumns } from "./columns.ts";
import { instructionById, Op } from "./instructions.ts";
import { PIPELINE_PARAMS } from "./pipeline_params.ts";

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

/**
 * What a cycle offers or an entry takes, packed four bits per resource: the five units, ALU
 * lowest, then starts. Testing and taking are then single integer operations: with bit 3 of
 * every nibble set, subtracting a demand leaves all those guard bits set exactly when nothing
 * is asked for more than is free.
 */
const GUARDS = 0x888888;
const IDLE_UNITS = UNIT_TOTALS.reduce((packed, count, u) => packed | (count << (4 * u)), 0);
/** One start, in the nibble above the units. */
const ONE_START = 1 << 20;
/** What a cycle offers before anything starts in it: every unit, and 5 starts. */
const IDLE_CYCLE = IDLE_UNITS + STARTS_PER_CYCLE * ONE_START;

/** True when packed `demand` is all free in packed `free`. */
function fits(free: number, demand: number): boolean {
  return (((free | GUARDS) - demand) & GUARDS) === GUARDS;
}

// The table compiled into one integer per instruction id (`ROW`), with these fields:
/** Execution cycles; `BRANCH_RULE` where the branch rule decides. */
const CYCLES_FIELD = 0xff, BRANCH_RULE = 0xff;
/** Decode slots (bits 8-10), and (bits 11-13) when the P or Ps condition holds. */
const SLOTS_SHIFT = 8, SLOTS_IF_SHIFT = 11, SLOTS_FIELD = 7;
const P_RULE = 1 << 14, PS_RULE = 1 << 15;
const READS_A = 1 << 16, READS_B = 1 << 17, WRITES_A = 1 << 18, WRITES_D = 1 << 19;
const TERMINATES = 1 << 20;
/** A conditional branch whose target the decoder puts in y (else in x). */
const TARGET_IN_Y = 1 << 21;
/** `move_reg`, which only renames. */
const RENAMES = 1 << 22;
const ROW = new Int32Array(256);
/** Per instruction id, the units it takes, packed as `IDLE_UNITS`. */
const UNITS = new Int32Array(256);

for (const [name, [cycles, decode, units, src, dst]] of Object.entries(PIPELINE_PARAMS)) {
  const id = Op[name as keyof typeof PIPELINE_PARAMS];
  const info = instructionById(id)!;
  const [rule, slotsIf, slots] = typeof decode === "number" ? ["", decode, decode] : decode;
  ROW[id] = (cycles === "m" ? MEMORY_LATENCY : cycles === "b" ? BRANCH_RULE : cycles) |
    (slots << SLOTS_SHIFT) | (slotsIf << SLOTS_IF_SHIFT) |
    (rule === "P" ? P_RULE : rule === "Ps" ? PS_RULE : 0) |
    (src.includes("A") ? READS_A : 0) | (src.includes("B") ? READS_B : 0) |
    (dst === "A" ? WRITES_A : dst === "D" ? WRITES_D : 0) |
    (info.terminator ? TERMINATES : 0) | (info.format === "reg_imm_off" ? TARGET_IN_Y : 0) |
    (id === Op.move_reg ? RENAMES : 0);
  for (const letter of units) UNITS[id] += 1 << (4 * UNIT_LETTERS.indexOf(letter));
}

/** True when the opcode byte at `at` (code zero-extended on both sides) is trap or unlikely. */
function coldAt(code: Uint8Array, at: number): boolean {
  const byte = at >= 0 && at < code.length ? code[at] : TRAP_BYTE;
  return byte === TRAP_BYTE || byte === UNLIKELY_BYTE;
}

/** A cycle later than any simulation reaches: the last execution cycle of an entry not started. */
const NOT_YET = 0x3fffffff;

/**
 * What the last simulation found, in arrays reused across simulations (grown on demand). Per
 * row (instruction of the block): the decode slots it takes, the cycle it was decoded in and
 * its reorder-buffer entry. Per entry: its row, execution cycles, units, the entries whose
 * results it waits for, and the cycles it started, executed last (`doneAt`) and retired in.
 */
class Schedule {
  /** Rows decoded (the block up to its terminator). */
  rows = 0;
  rowSlots = new Int32Array(64);
  rowDecodedAt = new Int32Array(64);
  /** The entry of each row; -1 for `move_reg`, which takes none. */
  rowEntry = new Int32Array(64);
  entryRow = new Int32Array(64);
  entryCycles = new Int32Array(64);
  entryUnits = new Int32Array(64);
  dep0 = new Int32Array(64);
  dep1 = new Int32Array(64);
  startedAt = new Int32Array(64);
  doneAt = new Int32Array(64);
  retiredAt = new Int32Array(64);
  /**
   * Per cycle, the units and starts still free in it (packed as `IDLE_CYCLE`). Each block uses
   * the cycles from `cycleBase` on and moves the base past them, so a block finds its cycles
   * idle without clearing them; the whole array is cleared once few cycles are left after the
   * base (a longer block grows it).
   */
  free = new Int32Array(1 << 16).fill(IDLE_CYCLE);
  cycleBase = 0;

  /** Starts a block's cycles: returns the base. */
  openCycles(): number {
    if (this.cycleBase > this.free.length - 4096) {
      this.free.fill(IDLE_CYCLE);
      this.cycleBase = 0;
    }
    return this.cycleBase;
  }

  /** Makes `free` long enough to hold index `index`, the new part idle. */
  growCycles(index: number): void {
    const grown = new Int32Array(Math.max(index + 1, this.free.length * 2)).fill(IDLE_CYCLE);
    grown.set(this.free);
    this.free = grown;
  }

  reserve(n: number): void {
    if (n <= this.rowEntry.length) return;
    const size = Math.max(n, this.rowEntry.length * 2);
    this.rowSlots = new Int32Array(size);
    this.rowDecodedAt = new Int32Array(size);
    this.rowEntry = new Int32Array(size);
    this.entryRow = new Int32Array(size);
    this.entryCycles = new Int32Array(size);
    this.entryUnits = new Int32Array(size);
    this.dep0 = new Int32Array(size);
    this.dep1 = new Int32Array(size);
    this.startedAt = new Int32Array(size);
    this.doneAt = new Int32Array(size);
    this.retiredAt = new Int32Array(size);
  }
}

const schedule = new Schedule();
/**
 * The entry producing each register's latest value, plus `producerBase`. Values below the base
 * were left by earlier blocks and mean no producer, so a block starts by raising the base
 * instead of clearing the array.
 */
const producer = new Int32Array(13);
let producerBase = 1;
/** Entries decoded but not started, oldest first (at most the buffer's capacity). */
const waiting = new Int32Array(ROB_CAPACITY);
/** Entries executing or finished whose units are not yet released. */
const executing = new Int32Array(ROB_CAPACITY);

/**
 * Runs the model on instructions `start` … `end` − 1 of `block` and returns the final cycle
 * count, leaving the schedule in the arrays above.
 */
function simulate(block: InstructionColumns, start: number, end: number, code: Uint8Array): number {
  schedule.reserve(end - start);
  const cycles = decodeBlock(block, start, end, code, schedule);
  return cycles >= 0 ? cycles : scheduleLimited(schedule);
}

/**
 * Decodes the block into rows and entries, and schedules it in one pass in program order, each
 * entry as early as the entries before it allow. An instruction decodes in the first cycle with
 * enough slots and room in the buffer (the entry 32 places back retired in an earlier cycle).
 * A `move_reg` takes no entry: rD is now produced by whoever produces rA. An entry starts in
 * the first cycle after its decode and after its inputs' last execution cycle in which the
 * entries before it left a start and its units free; it holds them to its last execution
 * cycle, and retires at the end of the second cycle after that or with the entry before it.
 *
 * This is the model's schedule unless an entry takes units some earlier-started entry after it
 * needed (the model starts entries cycle by cycle, so a later entry may start first and keep
 * the units from an earlier one): then a cycle holds more than there is, and the pass returns
 * -1. Otherwise it returns the cycle count, the last retirement plus one.
 */
function decodeBlock(
  block: InstructionColumns,
  start: number,
  end: number,
  code: Uint8Array,
  s: Schedule,
): number {
  const { op, ra, rb, rd } = block;
  const { rowSlots, rowDecodedAt, rowEntry, entryRow, entryCycles, entryUnits } = s;
  const { dep0, dep1, startedAt, doneAt, retiredAt } = s;
  const { x, y, pc } = block;
  if (producerBase > NOT_YET - (end - start)) {
    producer.fill(0);
    producerBase = 1;
  }
  const base = producerBase;
  let cycle = 0, slots = DECODE_SLOTS;
  let entries = 0, lastRetired = 0;
  const at = s.openCycles(); // cycle t of this block is free[at + t]
  let free = s.free, reach = 0; // the block's last cycle with anything taken
  let scheduled = true; // false once the pass met a cycle holding more than there is
  let i = start;
  for (; i < end; i++) {
    const id = op[i], info = ROW[id], a = ra[i], b = rb[i], d = rd[i];
    const written = (info & WRITES_A) !== 0 ? a : (info & WRITES_D) !== 0 ? d : -1;
    const condition = (info & PS_RULE) !== 0 ? a === d : (info & P_RULE) !== 0 && written >= 0 &&
      (((info & READS_A) !== 0 && a === written) || ((info & READS_B) !== 0 && b === written));
    const need = (info >> (condition ? SLOTS_IF_SHIFT : SLOTS_SHIFT)) & SLOTS_FIELD;
    const row = i - start;
    rowSlots[row] = need;
    if (scheduled) {
      if (need > slots) {
        cycle++;
        slots = DECODE_SLOTS;
      }
      if (entries >= ROB_CAPACITY && retiredAt[entries - ROB_CAPACITY] >= cycle) {
        cycle = retiredAt[entries - ROB_CAPACITY] + 1;
        slots = DECODE_SLOTS;
      }
      slots -= need;
      rowDecodedAt[row] = cycle;
    }
    if ((info & RENAMES) !== 0) {
      producer[d] = producer[a];
      rowEntry[row] = -1;
      continue;
    }
    const first = (info & READS_A) !== 0 && producer[a] >= base ? producer[a] - base : -1;
    let second = (info & READS_B) !== 0 && producer[b] >= base ? producer[b] - base : -1;
    if (second === first) second = -1;
    if (written >= 0) producer[written] = base + entries;
    let cycles = info & CYCLES_FIELD;
    if (cycles === BRANCH_RULE) {
      const target = (info & TARGET_IN_Y) !== 0 ? y[i] : x[i];
      cycles = coldAt(code, pc[i + 1]) || coldAt(code, target) ? CHEAP_BRANCH : BRANCH;
    }
    const units = UNITS[id];
    entryRow[entries] = row;
    entryCycles[entries] = cycles;
    entryUnits[entries] = units;
    dep0[entries] = first;
    dep1[entries] = second;
    if (scheduled) {
      let t = cycle + 1;
      if (first >= 0 && doneAt[first] >= t) t = doneAt[first] + 1;
      if (second >= 0 && doneAt[second] >= t) t = doneAt[second] + 1;
      for (;; t++) {
        if (at + t + cycles > free.length) {
          s.growCycles(at + t + cycles);
          free = s.free;
        }
        if (fits(free[at + t], units + ONE_START)) break;
      }
      free[at + t] -= units + ONE_START;
      const done = t + cycles - 1;
      if (done > reach) reach = done;
      if (units !== 0) {
        // Taking the units in every later cycle: a guard bit clears (and stays clear in
        // `kept`) where they are not free, and then the cycle's value no longer matters.
        let kept = GUARDS;
        for (let held = at + t + 1, last = at + done; held <= last; held++) {
          const left = (free[held] | GUARDS) - units;
          kept &= left;
          free[held] = left ^ GUARDS;
        }
        if (kept !== GUARDS) scheduled = false;
      }
      if (done + 2 > lastRetired) lastRetired = done + 2;
      startedAt[entries] = t;
      doneAt[entries] = done;
      retiredAt[entries] = lastRetired;
    }
    rowEntry[row] = entries++;
    if ((info & TERMINATES) !== 0) break;
  }
  s.rows = Math.min(i + 1, end) - start;
  producerBase = base + entries + 1;
  s.cycleBase = at + reach + 1;
  return scheduled ? lastRetired + 1 : -1;
}

/**
 * Schedules the decoded rows with the limits, cycle by cycle but visiting only the cycles in
 * which something can happen; returns the cycle count.
 */
function scheduleLimited(s: Schedule): number {
  const { rows, rowSlots, rowDecodedAt, rowEntry, entryCycles, entryUnits } = s;
  const { dep0, dep1, startedAt, doneAt, retiredAt } = s;
  let cycle = 0;
  let next = 0; // the next row to decode; `rows` once all are
  let entries = 0; // reorder-buffer entries so far
  let retiring = 0; // entries below this one have a known retirement cycle
  let lastRetired = 0; // the retirement cycle of entry `retiring` − 1
  let waitingCount = 0, executingCount = 0;
  let free = IDLE_UNITS;
  for (;;) {
    // (1) Decode, in program order, while the next row fits. Decoding needs room in the
    // buffer: the entry 32 places back must have retired in an earlier cycle.
    const firstNew = entries;
    let slots = DECODE_SLOTS, robFull = false;
    for (; next < rows && rowSlots[next] <= slots; next++) {
      const oldest = entries - ROB_CAPACITY;
      if (oldest >= 0 && (oldest >= retiring || retiredAt[oldest] >= cycle)) {
        robFull = true;
        break;
      }
      rowDecodedAt[next] = cycle;
      slots -= rowSlots[next];
      if (rowEntry[next] >= 0) {
        doneAt[entries] = NOT_YET;
        waiting[waitingCount++] = entries++;
      }
    }
    // (2) Start waiting entries (decoded in an earlier cycle), oldest first, whose inputs are
    // ready (their producers' last execution cycle is over) and whose units are free.
    let starts = STARTS_PER_CYCLE, kept = 0, w = 0;
    for (; w < waitingCount && starts > 0; w++) {
      const j = waiting[w];
      if (j >= firstNew) break;
      const d0 = dep0[j], d1 = dep1[j], u = entryUnits[j];
      if (
        (d0 >= 0 && doneAt[d0] >= cycle) || (d1 >= 0 && doneAt[d1] >= cycle) ||
        !fits(free, u)
      ) {
        waiting[kept++] = j;
        continue;
      }
      free -= u;
      startedAt[j] = cycle;
      doneAt[j] = cycle + entryCycles[j] - 1;
      executing[executingCount++] = j;
      starts--;
    }
    for (; w < waitingCount; w++) waiting[kept++] = waiting[w];
    waitingCount = kept;
    // Retirement is in order: an entry retires at the end of the second cycle after its last
    // execution cycle, or with the entry before it.
    for (; retiring < entries && doneAt[retiring] !== NOT_YET; retiring++) {
      if (doneAt[retiring] + 2 > lastRetired) lastRetired = doneAt[retiring] + 2;
      retiredAt[retiring] = lastRetired;
    }
    // (3) Done once everything is decoded and started: the count ends on the cycle after the
    // last retirement.
    if (next === rows && waitingCount === 0) return lastRetired + 1;
    // (4) The next cycle in which anything can happen.
    let then = NOT_YET;
    if (next < rows && !robFull) then = cycle + 1;
    else if (next < rows && entries - ROB_CAPACITY < retiring) {
      then = Math.max(cycle + 1, retiredAt[entries - ROB_CAPACITY] + 1);
    }
    if (waitingCount > 0) {
      if (starts === 0 || entries > firstNew) then = cycle + 1;
      for (let e = 0; e < executingCount && then > cycle + 1; e++) {
        if (doneAt[executing[e]] + 1 < then) then = doneAt[executing[e]] + 1;
      }
    }
    if (then === NOT_YET) throw new Error("pipeline model: no cycle left to simulate");
    // Units come back after their holder's last execution cycle.
    kept = 0;
    for (let e = 0; e < executingCount; e++) {
      const j = executing[e];
      if (doneAt[j] < then) free += entryUnits[j];
      else executing[kept++] = j;
    }
    executingCount = kept;
    cycle = then;
  }
}

/** The block cost for a final cycle count. */
function costOfCycles(cycles: number): number {
  return Math.max(cycles - SLACK, 1);
}

/**
 * Cost of a basic block under the 0.8 model: instructions `start` … `end` − 1 of `block`, from
 * the block's first instruction to its terminator (or the trap that follows the code); `code` is
 * the program's code, whose bytes at branch targets and fall-throughs decide the branch cost.
 */
export function pipelineBlockCost(
  block: InstructionColumns,
  start: number,
  end: number,
  code: Uint8Array,
): number {
  return costOfCycles(simulate(block, start, end, code));
}

/** One row of a block's timeline: a character per cycle. */
export interface TimelineRow {
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
 * Simulates a block like `pipelineBlockCost` and tells what each instruction did in each cycle,
 * in the notation of the Gray Paper 0.8 vectors' `TESTCASES.md`.
 */
export function explainBlock(
  block: InstructionColumns,
  start: number,
  end: number,
  code: Uint8Array,
): BlockTimeline {
  const width = simulate(block, start, end, code);
  const timeline: TimelineRow[] = [];
  for (let row = 0; row < end - start; row++) {
    const cells = row < schedule.rows ? rowCells(schedule, row, width) : ".".repeat(width);
    timeline.push({ cells });
  }
  return { cost: costOfCycles(width), cycles: width, rows: timeline };
}

/**
 * The cells of one row, from the cycles of its decode, start, last execution and retirement:
 * `D`, then `=` until it starts, `e` while it executes, `E` in the cycle after (it finishes),
 * `-` until it retires, `R`; a `move_reg` row shows only its `D`.
 */
function rowCells(s: Schedule, row: number, width: number): string {
  const decoded = s.rowDecodedAt[row], j = s.rowEntry[row];
  const before = ".".repeat(decoded) + "D";
  if (j < 0) return before + ".".repeat(width - decoded - 1);
  const started = s.startedAt[j], done = s.doneAt[j], retired = s.retiredAt[j];
  return before + "=".repeat(started - decoded - 1) + "e".repeat(done - started + 1) + "E" +
    "-".repeat(retired - done - 2) + "R" + ".".repeat(width - retired - 1);
}
