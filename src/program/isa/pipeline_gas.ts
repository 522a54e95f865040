/**
 * The Gray Paper 0.8 pipeline gas model (GP A.9): a basic block's cost is the number of cycles a
 * small out-of-order CPU needs to decode, execute and retire it, minus 3 (at least 1).
 *
 * Two ways to the same count. Most blocks never run short of execution units or starts, so
 * their schedule follows from decoding and dependencies alone, in one pass in program order
 * that keeps only what the count needs; the pass proves its schedule is the model's by finding
 * that no cycle of it over-uses units. The other blocks, and every explanation (a per-instruction
 * timeline), are simulated from decoded rows, visiting only the cycles in which something can
 * happen and recording the cycle in which each instruction is decoded, starts, executes last and
 * retires; every cell of the timeline follows from those four cycles.
 * @module
 */
import type { InstructionColumns } from "./columns.ts";
import { instructionById, Op } from "./instructions.ts";
import { PIPELINE_PARAMS } from "./pipeline_params.ts";

/** Decode slots per cycle: a power of two, so that a decode position is one integer. */
const DECODE_SLOTS_LOG2 = 2, DECODE_SLOTS = 1 << DECODE_SLOTS_LOG2;
/** Instructions that may start executing per cycle. */
const STARTS_PER_CYCLE = 5;
/** Reorder-buffer capacity: in-flight (not retired) entries. */
const ROB_CAPACITY = 32;
/** Free execution units of an idle CPU: ALU, LOAD, STORE, MUL, DIV. */
const UNIT_TOTALS = [4, 4, 4, 1, 1] as const;
const UNIT_LETTERS = "ALSMD";
const ALU = 0;
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
 * lowest. Testing and taking are then single integer operations: with bit 3 of every nibble
 * set, subtracting a demand leaves all those guard bits set exactly when nothing is asked for
 * more than is free.
 */
const GUARDS = 0x88888;
const IDLE_UNITS = UNIT_TOTALS.reduce((packed, count, u) => packed | (count << (4 * u)), 0);

/** True when packed `demand` is all free in packed `free`. */
function fits(free: number, demand: number): boolean {
  return (((free | GUARDS) - demand) & GUARDS) === GUARDS;
}

// The table compiled into one integer per instruction id (`ROW`), with these fields:
/** Execution cycles; `BRANCH_RULE` where the branch rule decides. */
const CYCLES_FIELD = 0xff, BRANCH_RULE = 0xff;
const READS_A_SHIFT = 18, READS_B_SHIFT = 19, WRITES_A_SHIFT = 20, WRITES_D_SHIFT = 21;
const READS_A = 1 << READS_A_SHIFT, READS_B = 1 << READS_B_SHIFT;
const WRITES_A = 1 << WRITES_A_SHIFT, WRITES_D = 1 << WRITES_D_SHIFT;
const TERMINATES = 1 << 22;
/** A conditional branch whose target the decoder puts in y (else in x). */
const TARGET_IN_Y = 1 << 23;
/** `move_reg`, which only renames. */
const RENAMES = 1 << 24;
const ROW = new Int32Array(256);
/** Per instruction id, the units it takes, packed as `IDLE_UNITS`. */
const UNITS = new Int32Array(256);
/**
 * Decode slots, by instruction id times 4 plus which of registers A (1) and B (2) are the one
 * it writes: the P and Ps rules decided for every case ahead.
 */
const SLOTS = new Uint8Array(256 * 4);
const A_WRITTEN = 1, B_WRITTEN = 2;

/**
 * Whether the P or Ps condition holds, `written` saying which of registers A and B are the one
 * the instruction writes: P, a source it reads is; Ps, register A is (with D, which the
 * instructions of the rule write).
 */
function conditionHolds(rule: string, src: string, dst: string, written: number): boolean {
  if (rule === "Ps" && dst !== "D") throw new Error("pipeline model: Ps rule without rD");
  const compared = rule === "Ps" ? "A" : rule === "P" ? src : "";
  return (compared.includes("A") && (written & A_WRITTEN) !== 0) ||
    (compared.includes("B") && (written & B_WRITTEN) !== 0);
}

for (const [name, [cycles, decode, units, src, dst]] of Object.entries(PIPELINE_PARAMS)) {
  const id = Op[name as keyof typeof PIPELINE_PARAMS];
  const info = instructionById(id)!;
  const [rule, slotsIf, slots] = typeof decode === "number" ? ["", decode, decode] : decode;
  ROW[id] = (cycles === "m" ? MEMORY_LATENCY : cycles === "b" ? BRANCH_RULE : cycles) |
    (src.includes("A") ? READS_A : 0) | (src.includes("B") ? READS_B : 0) |
    (dst === "A" ? WRITES_A : dst === "D" ? WRITES_D : 0) |
    (info.terminator ? TERMINATES : 0) | (info.format === "reg_imm_off" ? TARGET_IN_Y : 0) |
    (id === Op.move_reg ? RENAMES : 0);
  for (const letter of units) UNITS[id] += 1 << (4 * UNIT_LETTERS.indexOf(letter));
  for (let written = 0; written < 4; written++) {
    SLOTS[id * 4 + written] = conditionHolds(rule, src, dst, written) ? slotsIf : slots;
  }
}

/** How many units of kind `u` packed `units` takes. */
function unitsOfKind(units: number, u: number): number {
  return (units >> (4 * u)) & 15;
}

/**
 * Decode slots instruction `id` takes, `written` being the register it writes. Whether the P or
 * Ps condition holds depends on the registers, which vary unpredictably from one instruction to
 * the next, so the case is found without a branch.
 */
function decodeSlots(id: number, a: number, b: number, written: number): number {
  return SLOTS[id * 4 + (isZero(a ^ written) * A_WRITTEN | isZero(b ^ written) * B_WRITTEN)];
}

/**
 * The later of cycles `x` and `y`, without a branch: which one is varies unpredictably from one
 * instruction to the next (and `Math.max` costs more here).
 */
function later(x: number, y: number): number {
  const ahead = y - x;
  return x + (ahead & ~(ahead >> 31));
}

/** 1 when `x` (at least 0) is 0, else 0, without a branch. */
function isZero(x: number): number {
  return (x - 1) >>> 31;
}

/**
 * A register number that no instruction names: what an instruction without a result writes (so
 * that it equals no source).
 */
const NO_REGISTER = 13;

/** The register an instruction writes, or `NO_REGISTER`; without a branch, as for `decodeSlots`. */
function writtenRegister(info: number, a: number, d: number): number {
  const writesA = (info >> WRITES_A_SHIFT) & 1, writesD = (info >> WRITES_D_SHIFT) & 1;
  return (a & -writesA) | (d & -writesD) | (NO_REGISTER & ((writesA | writesD) - 1));
}

/** Execution cycles of instruction `i`; a branch's depend on the bytes where it may go. */
function executionCycles(info: number, block: InstructionColumns, i: number, code: Uint8Array) {
  const cycles = info & CYCLES_FIELD;
  if (cycles !== BRANCH_RULE) return cycles;
  const target = (info & TARGET_IN_Y) !== 0 ? block.y[i] : block.x[i];
  return coldAt(code, block.pc[i + 1]) || coldAt(code, target) ? CHEAP_BRANCH : BRANCH;
}

/** True when the opcode byte at `at` (code zero-extended on both sides) is trap or unlikely. */
function coldAt(code: Uint8Array, at: number): boolean {
  const byte = at >= 0 && at < code.length ? code[at] : TRAP_BYTE;
  return byte === TRAP_BYTE || byte === UNLIKELY_BYTE;
}

// ---------------------------------------------------------------------------------------------
// The proving pass.
//
// Its cycles are sets of 32 per word. A unit kind with n units has n levels: bit c of level k is
// set when more than k of them are taken in cycle c, so "q more fit in cycle c" is bit c clear
// in level n − q, and taking one more over a range of cycles moves each cycle of the range up a
// level, a few word operations instead of one step per cycle. LOAD and STORE get no levels:
// every instruction taking one takes at least as many ALUs, over the same cycles, and there are
// at least as many of them as ALUs, so they are free whenever the ALUs an instruction needs are.

/** True when kind `u` is free whenever the ALUs are (see above). */
function coveredByAlu(u: number): boolean {
  return u !== ALU && UNIT_TOTALS[u] >= UNIT_TOTALS[ALU] &&
    UNITS.every((units) => unitsOfKind(units, u) <= unitsOfKind(units, ALU));
}

/** The first level of each unit kind in a word group; -1 for kinds that need none. */
const FIRST_LEVEL = new Int32Array(UNIT_TOTALS.length);
let levelCount = 0;
for (let u = 0; u < UNIT_TOTALS.length; u++) {
  FIRST_LEVEL[u] = coveredByAlu(u) ? -1 : levelCount;
  if (FIRST_LEVEL[u] >= 0) levelCount += UNIT_TOTALS[u];
}
/** The ALUs' levels, and the top one: the cycles in which all of them are taken. */
const ALU_LEVELS = UNIT_TOTALS[ALU], ALU_TOP = FIRST_LEVEL[ALU] + ALU_LEVELS - 1;
/** The level of cycles that have had all their starts. */
const FULL = levelCount;
/** A level that stays empty: where an instruction that takes nothing of a kind looks. */
const EMPTY = levelCount + 1;
/** Words per 32 cycles: the levels, rounded up to a power of two. */
const STRIDE = 1 << (32 - Math.clz32(EMPTY));

/** The level whose bit c says `demand` units of kind `u` do not fit in cycle c. */
function blockingLevel(u: number, demand: number): number {
  return demand === 0 ? EMPTY : FIRST_LEVEL[u] + UNIT_TOTALS[u] - demand;
}

// How the proving pass handles each instruction's units (`PLAN`, one integer per id):
/** The levels telling where its ALUs (bits 0-3) and its other tracked unit (bits 4-7) do not fit. */
const LEVEL_FIELD = 15, OTHER_LEVEL_SHIFT = 4;
/**
 * The common cases: it takes one ALU and nothing else tracked, for at most 32 cycles (so over at
 * most two words); it takes no unit.
 */
const ONE_ALU = 1 << 8, NO_UNIT = 1 << 9;
/** Only a cycle with all its starts or all ALUs taken can keep it from starting. */
const BLOCKED_ONLY_AT_TOP = 1 << 10;
const PLAN = new Int32Array(256);
/** The tracked kind other than ALUs each instruction id takes, or -1. */
const OTHER_KIND = new Int8Array(256).fill(-1);
for (let id = 0; id < 256; id++) {
  const alus = unitsOfKind(UNITS[id], ALU), cycles = ROW[id] & CYCLES_FIELD;
  let otherLevel = EMPTY;
  for (let u = ALU + 1; u < UNIT_TOTALS.length; u++) {
    if (FIRST_LEVEL[u] < 0 || unitsOfKind(UNITS[id], u) === 0) continue;
    if (OTHER_KIND[id] >= 0) {
      throw new Error("pipeline model: an instruction takes two kinds of unit besides ALUs");
    }
    OTHER_KIND[id] = u;
    otherLevel = blockingLevel(u, unitsOfKind(UNITS[id], u));
  }
  const aluLevel = blockingLevel(ALU, alus);
  const short = (cycles === BRANCH_RULE ? BRANCH : cycles) <= 32;
  PLAN[id] = aluLevel | (otherLevel << OTHER_LEVEL_SHIFT) |
    (alus === 1 && OTHER_KIND[id] < 0 && short ? ONE_ALU : 0) |
    (alus === 0 && OTHER_KIND[id] < 0 ? NO_UNIT : 0) |
    ((aluLevel === ALU_TOP || aluLevel === EMPTY) && otherLevel === EMPTY
      ? BLOCKED_ONLY_AT_TOP
      : 0);
}

/**
 * The levels, `STRIDE` words per 32 cycles, and the starts of each cycle. Each block uses the
 * cycles from `cycleBase` on and moves the base past them, so a block finds its cycles idle
 * without clearing them; everything is cleared once few cycles are left after the base (a
 * longer block grows the arrays).
 */
let levels = new Int32Array(STRIDE * 2048);
let startsIn = new Uint8Array(32 * 2048);
let cycleBase = 0;
/**
 * Per register (and `NO_REGISTER`), the first cycle its latest value can be read in. Values left
 * by earlier blocks are below the block's first cycle, so they never delay anything.
 */
const readyAt = new Int32Array(NO_REGISTER + 1);
/** The retirement cycles of the last `ROB_CAPACITY` entries, by entry number modulo it. */
const retiredRing = new Int32Array(ROB_CAPACITY);

/**
 * How far the cycle sets reach past every cycle a block has decoded in or taken anything in.
 * An entry's search starts at most a few cycles after the later of those and stops at the first
 * word after it at the latest (nothing is taken there); its units end in its last execution
 * cycle's word or the one after the start's word.
 */
const MARGIN = 64;

/** Starts a block's cycles: returns its first cycle. */
function openCycles(): number {
  if (cycleBase > startsIn.length - 64 * MARGIN) {
    levels.fill(0);
    startsIn.fill(0);
    readyAt.fill(0);
    cycleBase = 0;
  }
  return cycleBase;
}

/** Ends a block's cycles, `reach` the last it took anything in: the next block starts after. */
function closeCycles(reach: number): void {
  cycleBase = ((reach >>> 5) + 1) << 5;
}

/** Makes the cycle sets long enough to hold cycle `cycle`, the new part idle. */
function reachCycle(cycle: number): void {
  if (cycle < startsIn.length) return;
  const words = Math.max((cycle >>> 5) + 1, 2 * (startsIn.length >>> 5));
  const grownLevels = new Int32Array(words * STRIDE);
  grownLevels.set(levels);
  levels = grownLevels;
  const grownStarts = new Uint8Array(words * 32);
  grownStarts.set(startsIn);
  startsIn = grownStarts;
}

/**
 * Moves the cycles of `mask` up one level among the `count` levels from `at`; returns those
 * that reach the top level (all units taken) now. Those at the top already hold more than there
 * is afterwards: callers look for them first, in level `at + count - 1`.
 */
function raise(lv: Int32Array, at: number, count: number, mask: number): number {
  if (count === 4) { // as many as ALUs, spelled out: V8 does not unroll the loop below
    const l0 = lv[at], l1 = lv[at + 1], l2 = lv[at + 2], l3 = lv[at + 3];
    lv[at + 3] = l3 | (l2 & mask);
    lv[at + 2] = l2 | (l1 & mask);
    lv[at + 1] = l1 | (l0 & mask);
    lv[at] = l0 | mask;
    return l2 & mask;
  }
  const reaching = (count > 1 ? lv[at + count - 2] : -1) & mask;
  for (let k = count - 1; k > 0; k--) lv[at + k] |= lv[at + k - 1] & mask;
  lv[at] |= mask;
  return reaching;
}

/**
 * Takes `demand` units of kind `u` in cycles `from` … `to`; returns true when some cycle then
 * holds more than there are.
 */
function takeUnits(u: number, demand: number, from: number, to: number): boolean {
  const first = FIRST_LEVEL[u], count = UNIT_TOTALS[u];
  let over = 0;
  for (let word = from >>> 5, last = to >>> 5; word <= last; word++) {
    let mask = word === from >>> 5 ? -1 << (from & 31) : -1;
    if (word === last) mask &= ~(-2 << (to & 31));
    for (let q = 0; q < demand; q++) {
      over |= levels[word * STRIDE + first + count - 1] & mask;
      raise(levels, word * STRIDE + first, count, mask);
    }
  }
  return over !== 0;
}

/**
 * The cycle count of instructions `start` … `end` − 1 of `block`, scheduled in one pass in
 * program order, each entry as early as the entries before it allow; -1 when that schedule is
 * not the model's.
 *
 * An instruction decodes in the first cycle with enough slots and room in the buffer (the entry
 * 32 places back retired in an earlier cycle). A `move_reg` takes no entry: rD is now ready
 * when rA is. An entry starts in the first cycle after its decode and after its inputs' last
 * execution cycle in which the entries before it left a start and its units free; it holds them
 * to its last execution cycle, and retires at the end of the second cycle after that or with
 * the entry before it.
 *
 * This is the model's schedule unless an entry takes units some earlier-started entry after it
 * needed (the model starts entries cycle by cycle, so a later entry may start first and keep
 * the units from an earlier one): then a cycle holds more than there is.
 */
function provenCycles(
  block: InstructionColumns,
  start: number,
  end: number,
  code: Uint8Array,
): number {
  const { op, ra, rb, rd } = block;
  const first = openCycles(), ready = readyAt, ring = retiredRing;
  let lv = levels, starts = startsIn;
  // Decode slots used so far, all of a cycle's counted as used once it is over: an instruction
  // (taking 1 to 4) decodes in cycle slot >> DECODE_SLOTS_LOG2.
  let slot = first << DECODE_SLOTS_LOG2;
  let entries = 0, lastRetired = first, reach = first;
  // Nonzero once a cycle has had all its starts or all ALUs taken: until then an entry that only
  // such a cycle could hold back starts as soon as its inputs are ready, without a search.
  let saturated = 0;
  // Only blocks with more entries than the buffer holds wait for room in it.
  const overflows = end - start > ROB_CAPACITY;
  for (let i = start; i < end; i++) {
    const id = op[i], info = ROW[id], plan = PLAN[id], a = ra[i], b = rb[i];
    const written = writtenRegister(info, a, rd[i]);
    const need = decodeSlots(id, a, b, written);
    if ((slot & (DECODE_SLOTS - 1)) + need > DECODE_SLOTS) { // it waits for the next cycle
      slot = ((slot >> DECODE_SLOTS_LOG2) + 1) << DECODE_SLOTS_LOG2;
    }
    if (overflows && entries >= ROB_CAPACITY) {
      const oldest = ring[entries % ROB_CAPACITY];
      if (oldest >= slot >> DECODE_SLOTS_LOG2) slot = (oldest + 1) << DECODE_SLOTS_LOG2;
    }
    const cycle = slot >> DECODE_SLOTS_LOG2;
    slot += need;
    if ((info & RENAMES) !== 0) {
      ready[written] = ready[a];
      if (cycle + MARGIN >= starts.length) {
        reachCycle(cycle + MARGIN);
        lv = levels;
        starts = startsIn;
      }
      continue;
    }
    // The inputs' ready cycles, the fields not read masked to 0 without a branch.
    let t = Math.max(
      cycle + 1,
      ready[a] & -((info >> READS_A_SHIFT) & 1),
      ready[b] & -((info >> READS_B_SHIFT) & 1),
    );
    let word = t >>> 5, at = word * STRIDE;
    if (saturated !== 0 || (plan & BLOCKED_ONLY_AT_TOP) === 0) {
      const aluLevel = plan & LEVEL_FIELD, otherLevel = (plan >> OTHER_LEVEL_SHIFT) & LEVEL_FIELD;
      let open = ~(lv[at + FULL] | lv[at + aluLevel] | lv[at + otherLevel]) & (-1 << (t & 31));
      while (open === 0) {
        word++;
        at += STRIDE;
        open = ~(lv[at + FULL] | lv[at + aluLevel] | lv[at + otherLevel]);
      }
      t = (word << 5) | (31 - Math.clz32(open & -open));
    }
    const done = t + executionCycles(info, block, i, code) - 1;
    if (done + MARGIN >= starts.length) {
      reachCycle(done + MARGIN);
      lv = levels;
      starts = startsIn;
    }
    if (++starts[t] === STARTS_PER_CYCLE) {
      lv[at + FULL] |= 1 << (t & 31);
      saturated = 1;
    }
    reach = later(reach, done);
    let over = 0;
    if ((plan & ONE_ALU) !== 0) {
      // The cycles from `t` in its word, and up to `done` in that one.
      const from = -1 << (t & 31), to = ~(-2 << (done & 31));
      if (done >>> 5 === word) {
        over = lv[at + ALU_TOP] & from & to;
        saturated |= raise(lv, at, ALU_LEVELS, from & to);
      } else {
        over = (lv[at + ALU_TOP] & from) | (lv[at + STRIDE + ALU_TOP] & to);
        saturated |= raise(lv, at, ALU_LEVELS, from) | raise(lv, at + STRIDE, ALU_LEVELS, to);
      }
    } else if ((plan & NO_UNIT) === 0) {
      const other = OTHER_KIND[id];
      saturated = 1;
      over = (takeUnits(ALU, unitsOfKind(UNITS[id], ALU), t, done) ||
          (other >= 0 && takeUnits(other, unitsOfKind(UNITS[id], other), t, done)))
        ? 1
        : 0;
    }
    if (over !== 0) {
      closeCycles(reach);
      return -1;
    }
    ready[written] = done + 1;
    lastRetired = later(lastRetired, done + 2);
    if (overflows) ring[entries % ROB_CAPACITY] = lastRetired;
    entries++;
    if ((info & TERMINATES) !== 0) break;
  }
  closeCycles(reach);
  return lastRetired + 1 - first;
}

// ---------------------------------------------------------------------------------------------
// The simulation.

/** A cycle later than any simulation reaches: the last execution cycle of an entry not started. */
const NOT_YET = 0x3fffffff;

/**
 * What the last simulation found, in arrays reused across simulations (grown on demand). Per
 * row (instruction of the block): the decode slots it takes, the cycle it was decoded in and
 * its reorder-buffer entry. Per entry: its execution cycles, units, the entries whose results
 * it waits for, and the cycles it started, executed last (`doneAt`) and retired in.
 */
class Schedule {
  /** Rows decoded (the block up to its terminator). */
  rows = 0;
  rowSlots = new Int32Array(64);
  rowDecodedAt = new Int32Array(64);
  /** The entry of each row; -1 for `move_reg`, which takes none. */
  rowEntry = new Int32Array(64);
  entryCycles = new Int32Array(64);
  entryUnits = new Int32Array(64);
  dep0 = new Int32Array(64);
  dep1 = new Int32Array(64);
  startedAt = new Int32Array(64);
  doneAt = new Int32Array(64);
  retiredAt = new Int32Array(64);

  reserve(n: number): void {
    if (n <= this.rowEntry.length) return;
    const size = Math.max(n, this.rowEntry.length * 2);
    this.rowSlots = new Int32Array(size);
    this.rowDecodedAt = new Int32Array(size);
    this.rowEntry = new Int32Array(size);
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
/** The entry producing each register's latest value, or -1. */
const producer = new Int32Array(NO_REGISTER);
/** Entries decoded but not started, oldest first (at most the buffer's capacity). */
const waiting = new Int32Array(ROB_CAPACITY);
/** Entries executing or finished whose units are not yet released. */
const executing = new Int32Array(ROB_CAPACITY);

/**
 * Simulates instructions `start` … `end` − 1 of `block` and returns the final cycle count,
 * leaving the schedule in `schedule`.
 */
function simulate(block: InstructionColumns, start: number, end: number, code: Uint8Array): number {
  decodeRows(block, start, end, code, schedule);
  return scheduleLimited(schedule);
}

/**
 * Decodes the block, up to its terminator, into rows and reorder-buffer entries: what each
 * takes and the entries whose results it waits for (a `move_reg` takes no entry: rD is now
 * produced by whoever produces rA).
 */
function decodeRows(
  block: InstructionColumns,
  start: number,
  end: number,
  code: Uint8Array,
  s: Schedule,
): void {
  s.reserve(end - start);
  const { op, ra, rb, rd } = block;
  const { rowSlots, rowEntry, entryCycles, entryUnits, dep0, dep1 } = s;
  producer.fill(-1);
  let entries = 0, i = start;
  for (; i < end; i++) {
    const id = op[i], info = ROW[id], a = ra[i], b = rb[i];
    const row = i - start, written = writtenRegister(info, a, rd[i]);
    rowSlots[row] = decodeSlots(id, a, b, written);
    if ((info & RENAMES) !== 0) {
      producer[written] = producer[a];
      rowEntry[row] = -1;
      continue;
    }
    const first = (info & READS_A) !== 0 ? producer[a] : -1;
    const second = (info & READS_B) !== 0 ? producer[b] : -1;
    dep0[entries] = first;
    dep1[entries] = second === first ? -1 : second;
    if (written !== NO_REGISTER) producer[written] = entries;
    entryCycles[entries] = executionCycles(info, block, i, code);
    entryUnits[entries] = UNITS[id];
    rowEntry[row] = entries++;
    if ((info & TERMINATES) !== 0) break;
  }
  s.rows = Math.min(i + 1, end) - start;
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
  const cycles = provenCycles(block, start, end, code);
  return costOfCycles(cycles >= 0 ? cycles : simulate(block, start, end, code));
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
