/**
 * The one analysis of a program every backend reads, so none decodes, finds blocks or prices
 * them on its own: flat typed arrays indexed by instruction number holding operands,
 * immediates, branch targets resolved to instruction numbers (or -1 when the target is no
 * jump target), jump-table entries likewise, the blocks execution is charged for and the gas
 * each costs on entry from the profile's gas model.
 *
 * Every pc execution can fall through to without a decoded instruction (past the end of the
 * code, or a position whose bitmask bit is 0 reached after a 24-byte skip) gets a synthetic
 * `trap`, so a non-terminator's successor is always the next instruction number.
 * @module
 */
import {
  decodeOperands,
  isOpcodeStart,
  isTerminatorOp,
  MAX_SKIP,
  nextOpcodeStart,
  TargetField,
  targetField,
  trapAt,
} from "./decoder.ts";
import type { IsaProfile } from "./isa/index.ts";
import { type InstructionColumns, instructionColumns } from "./isa/columns.ts";
import { type BlobViolation, framingViolation, walkViolationAt } from "./validation.ts";

/** The code-related input of a backend: what a parsed raw blob provides. */
export interface CodeBlob {
  /** The code bytes. */
  readonly code: Uint8Array;
  /** One bit per code byte, set where an instruction starts. */
  readonly bitmask: Uint8Array;
  /** Jump-table entries (code offsets). */
  readonly jumpTable: ArrayLike<number>;
}

/**
 * A program analysed into parallel arrays, one slot per instruction, in pc order. Its
 * `InstructionColumns` are what gas models price blocks from.
 */
export interface ProgramAnalysis extends InstructionColumns {
  /** Number of instructions (synthetic traps included). */
  readonly count: number;
  /**
   * Static branch/jump target as an instruction number; -1 when the target is none of the Gray
   * Paper's block starts (`basicBlockStarts`), so taking the branch panics.
   */
  readonly target: Int32Array;
  /**
   * 1 where execution entering the instruction is charged for a block: pc 0, after every
   * terminator or trap (invalid opcodes and synthetic traps included, even past the end of the
   * code), and so at every jump target.
   */
  readonly blockStart: Uint8Array;
  /** Gas charged on entering the block that starts here; 0 at other instructions. */
  readonly entryCost: Int32Array;
  /**
   * Gas charged when a run starts at a pc where no instruction is (it executes as `trap`; under
   * whole-blob validation it panics unpaid).
   */
  readonly outsideCost: number;
  /** Why the blob is invalid under whole-blob validation (it then panics before running). */
  readonly violation: BlobViolation | undefined;
  /** The code analysed. */
  readonly blob: CodeBlob;
  /**
   * Instructions from this one to the end of its block, itself included; measured on first
   * read (code generators never read it, so they do not wait for it).
   */
  readonly toEnd: Int32Array;
  /** Jump-table entry k as an instruction number; -1 when it is no jump target. */
  readonly jumpTargets: Int32Array;
  /** The ISA profile the program was analysed with. */
  readonly profile: IsaProfile;
}

const byObject = new WeakMap<object, Map<IsaProfile, ProgramAnalysis>>();

/** Most programs kept by content; the least recently used are dropped beyond this… */
const CONTENT_CACHE_SIZE = 32;
/** …or beyond this many code bytes in all. */
const CONTENT_CACHE_BYTES = 64 << 20;

interface ContentEntry {
  readonly blob: CodeBlob;
  readonly profile: IsaProfile;
  readonly program: ProgramAnalysis;
}

/** Recently decoded programs by content hash, so re-parsed copies of a program share work. */
const byContent = new Map<number, ContentEntry[]>();
let contentEntries = 0;
let contentBytes = 0;

/**
 * Analyses `blob` for `profile`. The result is shared by every blob object with the same code,
 * bitmask and jump table (recent ones by content), and so is everything backends derive from it;
 * a blob's arrays must not change once it has been analysed.
 */
export function analyzeProgram(blob: CodeBlob, profile: IsaProfile): ProgramAnalysis {
  let perProfile = byObject.get(blob);
  if (perProfile === undefined) {
    perProfile = new Map();
    byObject.set(blob, perProfile);
  }
  let program = perProfile.get(profile);
  if (program === undefined) {
    program = byContentLookup(blob, profile);
    perProfile.set(profile, program);
  }
  return program;
}

function byContentLookup(blob: CodeBlob, profile: IsaProfile): ProgramAnalysis {
  // A private copy first: the cache keeps it, so a caller changing its arrays later cannot make
  // the cache answer for other content; and its buffers start aligned, so hashing, comparing
  // and counting read them four bytes at a time. (New arrays, not `slice`: a Node Buffer's
  // slice is a view of the caller's memory.)
  const copy: CodeBlob = {
    code: new Uint8Array(blob.code),
    bitmask: new Uint8Array(blob.bitmask),
    jumpTable: Array.from(blob.jumpTable),
  };
  const key = contentHash(copy);
  const bucket = byContent.get(key) ?? [];
  const k = bucket.findIndex((e) => e.profile === profile && sameContent(e.blob, copy));
  if (k >= 0) {
    const entry = bucket[k];
    // Move to the most recent position of the map's insertion order.
    byContent.delete(key);
    byContent.set(key, bucket);
    return entry.program;
  }
  const program = build(copy, blob, profile);
  bucket.push({ blob: copy, profile, program });
  byContent.delete(key);
  byContent.set(key, bucket);
  contentEntries++;
  contentBytes += copy.code.length;
  while (contentEntries > CONTENT_CACHE_SIZE || contentBytes > CONTENT_CACHE_BYTES) {
    const [oldestKey, oldest] = byContent.entries().next().value!;
    contentBytes -= oldest.shift()!.blob.code.length;
    contentEntries--;
    if (oldest.length === 0) byContent.delete(oldestKey);
  }
  return program;
}

/** The whole 32-bit words at the start of `bytes`, a copy that starts its own buffer. */
function wordsOf(bytes: Uint8Array): Int32Array {
  return new Int32Array(bytes.buffer, 0, bytes.length >> 2);
}

/** FNV-1a-style hash over the code, bitmask and jump table (copies: see `wordsOf`). */
function contentHash(blob: CodeBlob): number {
  const { code, bitmask, jumpTable } = blob;
  let h = Math.imul(0x811c9dc5 ^ code.length, 0x01000193);
  h = mixBytes(h, code);
  h = mixBytes(h, bitmask);
  for (let i = 0; i < jumpTable.length; i++) h = Math.imul(h ^ jumpTable[i], 0x01000193);
  return h >>> 0;
}

function mixBytes(h: number, bytes: Uint8Array): number {
  const words = wordsOf(bytes);
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  for (let i = words.length * 4; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h;
}

/** True when copies `a` and `b` (see `wordsOf`) hold the same program. */
function sameContent(a: CodeBlob, b: CodeBlob): boolean {
  if (a.code.length !== b.code.length || a.bitmask.length !== b.bitmask.length) return false;
  if (a.jumpTable.length !== b.jumpTable.length) return false;
  if (!sameBytes(a.code, b.code) || !sameBytes(a.bitmask, b.bitmask)) return false;
  for (let i = 0; i < a.jumpTable.length; i++) if (a.jumpTable[i] !== b.jumpTable[i]) return false;
  return true;
}

/** True when equally long copies `a` and `b` (see `wordsOf`) hold the same bytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const aWords = wordsOf(a), bWords = wordsOf(b);
  for (let i = 0; i < aWords.length; i++) if (aWords[i] !== bWords[i]) return false;
  for (let i = aWords.length * 4; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A `ProgramAnalysis` as one class, so every analysis has the same shape (code reading many
 * programs' analyses stays monomorphic), with `toEnd` measured on first read.
 */
class Analysis implements ProgramAnalysis {
  readonly count: number;
  readonly op: Uint8Array;
  readonly ra: Uint8Array;
  readonly rb: Uint8Array;
  readonly rd: Uint8Array;
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly target: Int32Array;
  readonly pc: Uint32Array;
  readonly blockStart: Uint8Array;
  readonly entryCost: Int32Array;
  readonly outsideCost: number;
  readonly violation: BlobViolation | undefined;
  readonly blob: CodeBlob;
  readonly jumpTargets: Int32Array;
  readonly profile: IsaProfile;
  #toEnd: Int32Array | undefined;

  constructor(fields: Omit<ProgramAnalysis, "toEnd">) {
    this.count = fields.count;
    this.op = fields.op;
    this.ra = fields.ra;
    this.rb = fields.rb;
    this.rd = fields.rd;
    this.x = fields.x;
    this.y = fields.y;
    this.target = fields.target;
    this.pc = fields.pc;
    this.blockStart = fields.blockStart;
    this.entryCost = fields.entryCost;
    this.outsideCost = fields.outsideCost;
    this.violation = fields.violation;
    this.blob = fields.blob;
    this.jumpTargets = fields.jumpTargets;
    this.profile = fields.profile;
  }

  /** See `ProgramAnalysis.toEnd`. */
  get toEnd(): Int32Array {
    this.#toEnd ??= blockRests(this.blockStart);
    return this.#toEnd;
  }
}

/**
 * Passes over flat arrays, with no object per instruction: counting the instructions (and
 * synthetic traps) from the bitmask alone; placing and decoding each into the arrays, marking
 * where charged blocks start; resolving branch targets against the Gray Paper's block starts
 * (the only jump targets); then pricing the blocks. Reads `copy`, the private copy of `blob`
 * (see `byContentLookup`), so no one can change the program while it is analysed.
 */
function build(copy: CodeBlob, blob: CodeBlob, profile: IsaProfile): ProgramAnalysis {
  const { code, bitmask } = copy;
  const n = code.length;
  const count = countInstructions(bitmask, n);
  const columns: DecodedColumns = {
    op: new Uint8Array(count),
    ra: new Uint8Array(count),
    rb: new Uint8Array(count),
    rd: new Uint8Array(count),
    x: new Int32Array(count),
    y: new Int32Array(count),
    pc: new Uint32Array(count),
    blockStart: new Uint8Array(count),
  };
  const target = new Int32Array(count).fill(-1);
  const { walkStop, lastBranch } = decodeInstructions(copy, profile.decodeTable, columns, target);
  resolveTargets(copy, profile.decodeTable, columns, target, lastBranch);
  const jumpTargets = new Int32Array(copy.jumpTable.length);
  // Toolchains list nearby targets in order, so each search starts at the last one found.
  for (let k = 0, near = 0; k < jumpTargets.length; k++) {
    jumpTargets[k] = jumpTargetAt(copy, profile.decodeTable, columns, copy.jumpTable[k], near);
    if (jumpTargets[k] >= 0) near = jumpTargets[k];
  }
  // Under whole-blob validation a pc past the code is no instruction: reaching it panics, unpaid.
  const unpaidPastEnd = profile.validation === "whole-blob";
  const program = new Analysis({
    count,
    ...columns,
    target,
    entryCost: new Int32Array(count),
    outsideCost: unpaidPastEnd
      ? 0
      : profile.gas.blockCost(instructionColumns([trapAt(n)]), 0, 1, code),
    violation: profile.validation === "whole-blob"
      ? framingViolation(copy) ??
        (walkStop < 0 ? undefined : walkViolationAt(copy, columns.pc[walkStop], profile))
      : undefined,
    blob,
    jumpTargets,
    profile,
  });
  priceBlocks(program, code, unpaidPastEnd);
  return program;
}

/** The columns `decodeInstructions` fills. */
type DecodedColumns = InstructionColumns & { readonly blockStart: Uint8Array };

/**
 * The number of instructions, synthetic traps included: one at 0 when no instruction starts
 * there, one after each instruction whose 24-byte skip meets no opcode, and one after the last
 * (where its skip ends, or past the end of the code). Reads the bitmask (a copy: see
 * `wordsOf`) 32 bits at a time.
 */
function countInstructions(bitmask: Uint8Array, n: number): number {
  const words = wordsOf(bitmask);
  const wholeWords = Math.min(words.length, n >> 5);
  let count = 0, first = -1, last = -1;
  for (let k = 0; k <= wholeWords; k++) {
    const base = k << 5;
    if (base >= n) break;
    // The last (partial) word: the bitmask's bytes that remain, without the bits past the code.
    let bits = k < wholeWords ? words[k] : 0;
    if (k === wholeWords) {
      for (let at = base >> 3; at < bitmask.length && at < (n + 7) >> 3; at++) {
        bits |= bitmask[at] << (8 * (at - (base >> 3)));
      }
      if (n - base < 32) bits &= (1 << (n - base)) - 1;
    }
    if (bits === 0) continue;
    const low = base + 31 - Math.clz32(bits & -bits);
    if (last < 0) first = low;
    else if (low - last - 1 > MAX_SKIP) count++;
    last = base + 31 - Math.clz32(bits);
    // A skip too long inside the word: 25 or more clear bits between set ones, which leaves
    // set bits only in 0..5 below the gap and 26..31 above it.
    const below = bits & 0x3f, above = bits >>> 26;
    if ((bits & 0x03ffffc0) === 0 && below !== 0 && above !== 0) {
      const gap = 26 + 31 - Math.clz32(above & -above) - (31 - Math.clz32(below)) - 1;
      if (gap > MAX_SKIP) count++;
    }
    const pairs = bits - ((bits >>> 1) & 0x55555555);
    const quads = (pairs & 0x33333333) + ((pairs >>> 2) & 0x33333333);
    count += Math.imul((quads + (quads >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  if (last >= 0) count++;
  if (first !== 0) count++;
  return count;
}

/**
 * Places and decodes every instruction (and synthetic trap) into `c` in pc order, marking the
 * charged blocks' starts: pc 0, and after every terminator or trap (invalid opcodes and
 * synthetic traps included, even past the end of the code, where falling off runs the implicit
 * trap). Chains the instructions with a static target through `target`, each holding the
 * previous one, for `resolveTargets`: no other list to allocate. Returns the chain's head and
 * the first instruction inside the code that is no valid instruction (where the walk of
 * whole-blob validation stops).
 */
function decodeInstructions(
  blob: CodeBlob,
  table: Int16Array,
  c: DecodedColumns,
  target: Int32Array,
): DecodeEnds {
  const { code, bitmask } = blob;
  const n = code.length;
  const { op, pc, blockStart } = c;
  let i = 0, walkStop = -1, endsBlock = 1, lastBranch = -1;
  let at = nextOpcodeStart(bitmask, n, 0);
  if (n === 0 || at !== 0) { // a synthetic trap at 0
    blockStart[i++] = 1;
    if (n > 0) walkStop = 0;
  }
  while (at < n) {
    const next = nextOpcodeStart(bitmask, n, at + 1);
    const gap = next - at - 1;
    pc[i] = at;
    blockStart[i] = endsBlock;
    const id = table[code[at]];
    if (id >= 0) {
      op[i] = id;
      decodeOperands(code, at, id, gap > MAX_SKIP ? MAX_SKIP : gap, c, i);
      if (targetField(id) !== TargetField.none) {
        target[i] = lastBranch;
        lastBranch = i;
      }
      endsBlock = isTerminatorOp(id) ? 1 : 0;
    } else { // an invalid opcode: a trap, op 0, no operands
      if (walkStop < 0) walkStop = i;
      endsBlock = 1;
    }
    i++;
    // The successor is the next opcode within reach, else a synthetic trap where the skip
    // ends; past the end of the code, a synthetic trap too.
    if (gap > MAX_SKIP || next === n) {
      const trap = gap > MAX_SKIP ? at + 1 + MAX_SKIP : n;
      pc[i] = trap;
      blockStart[i] = endsBlock;
      endsBlock = 1;
      if (walkStop < 0 && trap < n) walkStop = i;
      i++;
    }
    at = next;
  }
  return { walkStop, lastBranch };
}

/** Where `decodeInstructions` found the walk's end and the last instruction with a target. */
interface DecodeEnds {
  /** The first instruction inside the code that is no valid instruction, or -1. */
  readonly walkStop: number;
  /** The last instruction with a static target, the head of the chain in `target`; or -1. */
  readonly lastBranch: number;
}

/**
 * Resolves the static targets of the instructions `decodeInstructions` chained through `target`
 * from `lastBranch` (-1 elsewhere), each to -1 where it is no jump target.
 */
function resolveTargets(
  blob: CodeBlob,
  table: Int16Array,
  c: DecodedColumns,
  target: Int32Array,
  lastBranch: number,
): void {
  const { op, x, y } = c;
  for (let i = lastBranch; i >= 0;) {
    const previous = target[i];
    const to = targetField(op[i]) === TargetField.x ? x[i] : y[i];
    target[i] = jumpTargetAt(blob, table, c, to, i);
    i = previous;
  }
}

/**
 * The number of the instruction at `targetPc` when it is one of the Gray Paper's block starts
 * ϖ (see `basicBlockStarts`): a valid instruction inside the code at pc 0 or right after a
 * valid terminator. Otherwise -1. `from` is an instruction to search from: pcs grow by at least
 * 1 per instruction, so the target is no further from it in numbers than in bytes.
 */
function jumpTargetAt(
  blob: CodeBlob,
  table: Int16Array,
  c: DecodedColumns,
  targetPc: number,
  from: number,
): number {
  const n = blob.code.length, { pc, op } = c;
  if (targetPc < 0 || targetPc >= n) return -1;
  const here = pc[from];
  const i = targetPc >= here
    ? indexIn(pc, targetPc, from, Math.min(from + (targetPc - here), pc.length - 1))
    : indexIn(pc, targetPc, Math.max(from - (here - targetPc), 0), from - 1);
  if (i < 0 || !validAt(blob, table, pc[i])) return -1;
  return i === 0 || (validAt(blob, table, pc[i - 1]) && isTerminatorOp(op[i - 1])) ? i : -1;
}

/** True when a valid instruction starts at `at` (inside the code, marked, a known opcode). */
function validAt(blob: CodeBlob, table: Int16Array, at: number): boolean {
  const { code, bitmask } = blob;
  return at < code.length && isOpcodeStart(bitmask, code.length, at) && table[code[at]] >= 0;
}

/**
 * The gas of each charged block from the profile's model, at its first instruction; none past
 * the end of the code when `unpaidPastEnd`.
 */
function priceBlocks(p: ProgramAnalysis, code: Uint8Array, unpaidPastEnd: boolean): void {
  const { blockStart, entryCost, pc, count } = p;
  const gas = p.profile.gas, n = code.length;
  const perInstruction = gas.perInstruction ?? -1;
  // Block by block (pc 0 starts one), finding the next start natively.
  for (let start = 0; start < count;) {
    let end = blockStart.indexOf(1, start + 1);
    if (end < 0) end = count;
    if (!unpaidPastEnd || pc[start] < n) {
      entryCost[start] = perInstruction >= 0
        ? (end - start) * perInstruction
        : gas.blockCost(p, start, end, code);
    }
    start = end;
  }
}

/** Per instruction, the instructions from it to the end of its block, itself included. */
function blockRests(blockStart: Uint8Array): Int32Array {
  const rests = new Int32Array(blockStart.length);
  let rest = 0;
  for (let i = blockStart.length - 1; i >= 0; i--) {
    rest = i + 1 < blockStart.length && blockStart[i + 1] === 0 ? rest + 1 : 1;
    rests[i] = rest;
  }
  return rests;
}

/** Index of `value` in ascending `sorted`, searched from `lo` to `hi` inclusive; or -1. */
function indexIn(sorted: Uint32Array, value: number, lo: number, hi: number): number {
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, v = sorted[mid];
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The number of the instruction (or synthetic trap) at `pc`, or -1 where none starts. */
export function instructionAtPc(program: ProgramAnalysis, pc: number): number {
  return indexIn(program.pc, pc, 0, program.count - 1);
}

/**
 * Gas charged when execution enters at instruction `index` from outside (a pc set by the host)
 * with nothing paid: a block start's entry cost; inside a block, the rest of the block or the
 * whole enclosing block as the profile says; `index` -1 (a pc without an instruction) executes
 * as one `trap` (or, under whole-blob validation, panics unpaid).
 */
export function entryCharge(program: ProgramAnalysis, index: number): number {
  if (index < 0) return program.outsideCost;
  if (program.blockStart[index] === 1) return program.entryCost[index];
  const pastEnd = program.pc[index] >= program.blob.code.length;
  if (pastEnd && program.profile.validation === "whole-blob") return 0; // no instruction there
  if (program.profile.midBlockStart === "enclosing-block") {
    let start = index;
    while (program.blockStart[start] === 0) start--;
    return program.entryCost[start];
  }
  const end = index + program.toEnd[index];
  return program.profile.gas.blockCost(program, index, end, program.blob.code);
}

/** The gas cost of every basic block that starts inside the code, in pc order. */
export function blockGasCosts(program: {
  readonly blob: CodeBlob;
  readonly isa: IsaProfile;
}): { pc: number; cost: number }[] {
  const analysis = analyzeProgram(program.blob, program.isa);
  const costs: { pc: number; cost: number }[] = [];
  for (let i = 0; i < analysis.count; i++) {
    if (analysis.blockStart[i] === 1 && analysis.pc[i] < program.blob.code.length) {
      costs.push({ pc: analysis.pc[i], cost: analysis.entryCost[i] });
    }
  }
  return costs;
}
