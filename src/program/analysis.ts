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
  basicBlockStarts,
  decodeAt,
  type Instruction,
  isOpcodeStart,
  isTerminatorOp,
  MAX_SKIP,
  skipAt,
  trapAt,
} from "./decoder.ts";
import { instructionById, type IsaProfile, Op } from "./isa/index.ts";
import { type BlobViolation, validateCode } from "./validation.ts";

/** The code-related input of a backend: what a parsed raw blob provides. */
export interface CodeBlob {
  /** The code bytes. */
  readonly code: Uint8Array;
  /** One bit per code byte, set where an instruction starts. */
  readonly bitmask: Uint8Array;
  /** Jump-table entries (code offsets). */
  readonly jumpTable: ArrayLike<number>;
}

/** A program analysed into parallel arrays, one slot per instruction, in pc order. */
export interface ProgramAnalysis {
  /** Number of instructions (synthetic traps included). */
  readonly count: number;
  /** Instruction id (`Op`); invalid opcodes are `Op.trap`. */
  readonly op: Uint8Array;
  /** Register A. */
  readonly ra: Uint8Array;
  /** Register B. */
  readonly rb: Uint8Array;
  /** Register D. */
  readonly rd: Uint8Array;
  /** First immediate as int32 (sign-extends to 64 bits); `load_imm_64`: the low half. */
  readonly x: Int32Array;
  /** Second immediate as int32; `load_imm_64`: the high half. */
  readonly y: Int32Array;
  /**
   * Static branch/jump target as an instruction number; -1 when the target is none of the Gray
   * Paper's block starts (`basicBlockStarts`), so taking the branch panics.
   */
  readonly target: Int32Array;
  /** The pc of each instruction. */
  readonly pc: Uint32Array;
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
  /** The decoded instruction at each instruction number (synthetic traps included). */
  readonly instructions: readonly Instruction[];
  /** The code analysed. */
  readonly blob: CodeBlob;
  /** Instructions from this one to the end of its block, itself included. */
  readonly toEnd: Int32Array;
  /** Jump-table entry k as an instruction number; -1 when it is no jump target. */
  readonly jumpTargets: Int32Array;
  /** Instruction number at each pc in 0 … code length + 25; -1 where none starts. */
  readonly indexOfPc: Int32Array;
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

/** FNV-1a over the code, bitmask and jump table. */
function contentHash(blob: CodeBlob): number {
  let h = 0x811c9dc5;
  const mix = (v: number): void => {
    h = Math.imul(h ^ v, 0x01000193);
  };
  mix(blob.code.length);
  for (let i = 0; i < blob.code.length; i++) mix(blob.code[i]);
  for (let i = 0; i < blob.bitmask.length; i++) mix(blob.bitmask[i]);
  for (let i = 0; i < blob.jumpTable.length; i++) mix(blob.jumpTable[i]);
  return h >>> 0;
}

function sameContent(a: CodeBlob, b: CodeBlob): boolean {
  if (a.code.length !== b.code.length || a.bitmask.length !== b.bitmask.length) return false;
  if (a.jumpTable.length !== b.jumpTable.length) return false;
  for (let i = 0; i < a.code.length; i++) if (a.code[i] !== b.code[i]) return false;
  for (let i = 0; i < a.bitmask.length; i++) if (a.bitmask[i] !== b.bitmask[i]) return false;
  for (let i = 0; i < a.jumpTable.length; i++) if (a.jumpTable[i] !== b.jumpTable[i]) return false;
  return true;
}

/** Absolute target pc of a static control-flow instruction, or undefined when it has none. */
function staticTarget(ins: Instruction): number | undefined {
  const format = instructionById(ins.op)?.format;
  if (format === "off" || format === "reg_reg_off") return ins.x;
  if (format === "reg_imm_off") return ins.y;
  return undefined;
}

/**
 * Two passes: the first places every instruction (and synthetic trap) and marks where charged
 * blocks start from the opcode bytes alone; the second decodes into the arrays, resolving
 * branch targets and jump-table entries against the Gray Paper's block starts.
 */
function build(blob: CodeBlob, profile: IsaProfile): ProgramAnalysis {
  const { code, bitmask } = blob;
  const n = code.length;
  const isStart = (at: number): boolean => isOpcodeStart(bitmask, n, at);
  // Execution is charged per block: one starts at 0 and after every instruction that ends
  // execution of its block — a terminator or a trap, invalid opcodes and synthetic traps
  // included — even past the end of the code, where falling off runs the implicit trap.
  const indexOfPc = new Int32Array(n + MAX_SKIP + 2).fill(-1);
  const charged: number[] = [];
  let count = 0;
  let afterEnd = true;
  const place = (at: number, endsBlock: boolean): void => {
    indexOfPc[at] = count++;
    charged.push(afterEnd ? 1 : 0);
    afterEnd = endsBlock;
  };
  if (n === 0 || !isStart(0)) place(0, true);
  for (let at = 0; at < n; at++) {
    if (!isStart(at)) continue;
    const id = profile.decodeTable[code[at]];
    place(at, id < 0 || isTerminatorOp(id));
    const next = at + 1 + skipAt(bitmask, n, at);
    if (next >= n || !isStart(next)) place(next, true); // a synthetic trap
  }
  // Only the Gray Paper's block starts are jump targets (all of them are charged starts).
  const targetAt = basicBlockStarts(code, bitmask, profile);

  const op = new Uint8Array(count), ra = new Uint8Array(count), rb = new Uint8Array(count);
  const rd = new Uint8Array(count), x = new Int32Array(count), y = new Int32Array(count);
  const target = new Int32Array(count).fill(-1), pc = new Uint32Array(count);
  const blockStart = Uint8Array.from(charged), toEnd = new Int32Array(count);
  const entryCost = new Int32Array(count);
  const decoded: Instruction[] = new Array(count);

  const indexOfTarget = (targetPc: number): number =>
    targetPc >= 0 && targetPc < n && targetAt[targetPc] === 1 ? indexOfPc[targetPc] : -1;

  for (let at = 0; at < indexOfPc.length; at++) {
    const i = indexOfPc[at];
    if (i < 0) continue;
    pc[i] = at;
    if (at >= n || !isStart(at)) { // synthetic trap: op 0, no operands
      decoded[i] = trapAt(at);
      continue;
    }
    const ins = decodeAt(code, bitmask, at, profile);
    decoded[i] = ins;
    op[i] = ins.op;
    ra[i] = ins.a;
    rb[i] = ins.b;
    rd[i] = ins.d;
    if (ins.op === Op.load_imm_64) {
      x[i] = Number(ins.wide & 0xffffffffn) | 0;
      y[i] = Number(ins.wide >> 32n) | 0;
    } else {
      x[i] = ins.x;
      y[i] = ins.y;
    }
    const t = staticTarget(ins);
    if (t !== undefined) target[i] = indexOfTarget(t);
  }
  for (let i = count - 1; i >= 0; i--) {
    toEnd[i] = isTerminatorOp(op[i]) || i === count - 1 ? 1 : 1 + toEnd[i + 1];
  }
  // Under whole-blob validation a pc past the code is no instruction: reaching it panics, unpaid.
  const unpaidPastEnd = profile.validation === "whole-blob";
  for (let i = 0; i < count; i++) {
    if (blockStart[i] === 1 && !(unpaidPastEnd && pc[i] >= n)) {
      entryCost[i] = profile.gas.blockCost(decoded.slice(i, i + toEnd[i]), code);
    }
  }

  const jumpTargets = new Int32Array(blob.jumpTable.length);
  for (let k = 0; k < jumpTargets.length; k++) jumpTargets[k] = indexOfTarget(blob.jumpTable[k]);

  return {
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
    outsideCost: unpaidPastEnd ? 0 : profile.gas.blockCost([trapAt(n)], code),
    violation: profile.validation === "whole-blob" ? validateCode(blob, profile) : undefined,
    instructions: decoded,
    blob,
    toEnd,
    jumpTargets,
    indexOfPc,
    profile,
  };
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
  const rest = program.instructions.slice(index, index + program.toEnd[index]);
  return program.profile.gas.blockCost(rest, program.blob.code);
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
