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
  type Operands,
  staticTargetOf,
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
  /** Instructions from this one to the end of its block, itself included. */
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
  const key = contentHash(blob);
  const bucket = byContent.get(key) ?? [];
  const k = bucket.findIndex((e) => e.profile === profile && sameContent(e.blob, blob));
  if (k >= 0) {
    const entry = bucket[k];
    // Move to the most recent position of the map's insertion order.
    byContent.delete(key);
    byContent.set(key, bucket);
    return entry.program;
  }
  const program = build(blob, profile);
  const copy: CodeBlob = {
    code: blob.code.slice(),
    bitmask: blob.bitmask.slice(),
    jumpTable: Array.from(blob.jumpTable),
  };
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

/** FNV-1a-style hash over the code, bitmask and jump table, taking the bytes four at a time. */
function contentHash(blob: CodeBlob): number {
  const { code, bitmask, jumpTable } = blob;
  let h = Math.imul(0x811c9dc5 ^ code.length, 0x01000193);
  h = mixBytes(h, code);
  h = mixBytes(h, bitmask);
  for (let i = 0; i < jumpTable.length; i++) h = Math.imul(h ^ jumpTable[i], 0x01000193);
  return h >>> 0;
}

function mixBytes(h: number, bytes: Uint8Array): number {
  const whole = bytes.length & ~3;
  for (let i = 0; i < whole; i += 4) {
    const word = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    h = Math.imul(h ^ word, 0x01000193);
  }
  for (let i = whole; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h;
}

function sameContent(a: CodeBlob, b: CodeBlob): boolean {
  if (a.code.length !== b.code.length || a.bitmask.length !== b.bitmask.length) return false;
  if (a.jumpTable.length !== b.jumpTable.length) return false;
  for (let i = 0; i < a.code.length; i++) if (a.code[i] !== b.code[i]) return false;
  for (let i = 0; i < a.bitmask.length; i++) if (a.bitmask[i] !== b.bitmask[i]) return false;
  for (let i = 0; i < a.jumpTable.length; i++) if (a.jumpTable[i] !== b.jumpTable[i]) return false;
  return true;
}

/**
 * Passes over flat arrays, with no object per instruction: placing every instruction (and
 * synthetic trap) from the bitmask alone (counting, then recording the pcs); decoding each into
 * the arrays, marking where charged blocks and the Gray Paper's block starts (the only jump
 * targets) are; then backwards, measuring blocks and resolving branch targets against those.
 */
function build(blob: CodeBlob, profile: IsaProfile): ProgramAnalysis {
  const { code, bitmask } = blob;
  const n = code.length;
  const pc = new Uint32Array(placeInstructions(bitmask, n, null));
  placeInstructions(bitmask, n, pc);
  const count = pc.length;
  const op = new Uint8Array(count), ra = new Uint8Array(count), rb = new Uint8Array(count);
  const rd = new Uint8Array(count), x = new Int32Array(count), y = new Int32Array(count);
  const target = new Int32Array(count).fill(-1), toEnd = new Int32Array(count);
  const blockStart = new Uint8Array(count), entryCost = new Int32Array(count);
  // 1 where an instruction is one of the Gray Paper's block starts ϖ (see basicBlockStarts).
  const jumpable = new Uint8Array(count);
  const table = profile.decodeTable;
  const operands: Operands = { a: 0, b: 0, d: 0, x: 0, y: 0 };
  // Execution is charged per block: one starts at 0 and after every instruction that ends
  // execution of its block — a terminator or a trap, invalid opcodes and synthetic traps
  // included — even past the end of the code, where falling off runs the implicit trap.
  let endsBlock = true;
  let validTerminator = true; // before pc 0, as if a terminator preceded it
  // The instructions are the walk of whole-blob validation: it stops at the first invalid
  // opcode or synthetic trap inside the code.
  let walkStop = -1;
  for (let i = 0; i < count; i++) {
    const at = pc[i];
    blockStart[i] = endsBlock ? 1 : 0;
    const id = at < n && isOpcodeStart(bitmask, n, at) ? table[code[at]] : -1;
    if (id < 0) { // an invalid opcode or a synthetic trap: op 0, no operands
      if (walkStop < 0 && at < n) walkStop = i;
      endsBlock = true;
      validTerminator = false;
      continue;
    }
    if (validTerminator) jumpable[i] = 1;
    // A real instruction is followed by another (real or synthetic) at pc + 1 + skip.
    decodeOperands(code, at, id, pc[i + 1] - at - 1, operands);
    op[i] = id;
    ra[i] = operands.a;
    rb[i] = operands.b;
    rd[i] = operands.d;
    x[i] = operands.x;
    y[i] = operands.y;
    endsBlock = validTerminator = isTerminatorOp(id);
  }
  const indexOfTarget = (targetPc: number): number => {
    const i = targetPc >= 0 && targetPc < n ? indexIn(pc, targetPc) : -1;
    return i >= 0 && jumpable[i] === 1 ? i : -1;
  };
  for (let i = count - 1; i >= 0; i--) {
    const id = op[i];
    if (!isTerminatorOp(id)) {
      toEnd[i] = i === count - 1 ? 1 : 1 + toEnd[i + 1];
      continue;
    }
    toEnd[i] = 1;
    operands.x = x[i];
    operands.y = y[i];
    const t = staticTargetOf(id, operands);
    if (t !== undefined) target[i] = indexOfTarget(t);
  }
  const jumpTargets = new Int32Array(blob.jumpTable.length);
  for (let k = 0; k < jumpTargets.length; k++) jumpTargets[k] = indexOfTarget(blob.jumpTable[k]);

  // Under whole-blob validation a pc past the code is no instruction: reaching it panics, unpaid.
  const unpaidPastEnd = profile.validation === "whole-blob";
  const program: ProgramAnalysis = {
    count,
    op,
    ra,
    rb,
    rd,
    x,
    y,
    target,
    pc,
    blockStart,
    entryCost,
    outsideCost: unpaidPastEnd
      ? 0
      : profile.gas.blockCost(instructionColumns([trapAt(n)]), 0, 1, code),
    violation: profile.validation === "whole-blob"
      ? framingViolation(blob) ??
        (walkStop < 0 ? undefined : walkViolationAt(blob, pc[walkStop], profile))
      : undefined,
    blob,
    toEnd,
    jumpTargets,
    profile,
  };
  const gas = profile.gas;
  for (let i = 0; i < count; i++) {
    if (blockStart[i] === 0 || (unpaidPastEnd && pc[i] >= n)) continue;
    entryCost[i] = gas.blockCost(program, i, i + toEnd[i], code);
  }
  return program;
}

/**
 * Counts the instructions, synthetic traps included (at 0 when no instruction starts there;
 * after an instruction whose 24-byte skip meets no opcode; past the end of the code), and
 * writes their pcs in order to `pcs` unless it is null.
 */
function placeInstructions(bitmask: Uint8Array, n: number, pcs: Uint32Array | null): number {
  let count = 0;
  let at = nextOpcodeStart(bitmask, n, 0);
  if (n === 0 || at !== 0) {
    if (pcs !== null) pcs[count] = 0;
    count++;
  }
  while (at < n) {
    if (pcs !== null) pcs[count] = at;
    count++;
    const next = nextOpcodeStart(bitmask, n, at + 1);
    // The successor: the next opcode within reach, else a synthetic trap where the skip ends;
    // past the end of the code, a synthetic trap too.
    const successor = next - at - 1 > MAX_SKIP ? at + 1 + MAX_SKIP : next;
    if (successor !== next || successor >= n) {
      if (pcs !== null) pcs[count] = successor;
      count++;
    }
    at = next;
  }
  return count;
}

/** Index of `value` in ascending `sorted`, or -1. */
function indexIn(sorted: Uint32Array, value: number): number {
  let lo = 0, hi = sorted.length - 1;
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
  return indexIn(program.pc, pc);
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
