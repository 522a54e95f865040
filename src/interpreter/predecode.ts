/**
 * Decodes a program once into flat typed arrays indexed by instruction number, so the dispatch
 * loop never decodes: operands, immediates, branch targets already translated to instruction
 * numbers (or -1 when the target is no basic-block start), jump-table entries likewise, and the
 * gas each basic block costs on entry.
 *
 * Every pc execution can fall through to without a decoded instruction (past the end of the
 * code, or a position whose bitmask bit is 0 reached after a 24-byte skip) gets a synthetic
 * `trap`, so a non-terminator's successor is always the next instruction number.
 * @module
 */
import { decodeCode, type Instruction, isOpcodeStart, MAX_SKIP } from "../program/decoder.ts";
import { instructionById, type IsaProfile, Op } from "../program/isa/index.ts";

/** The code-related input of a backend: what a parsed raw blob provides. */
export interface CodeBlob {
  /** The code bytes. */
  readonly code: Uint8Array;
  /** One bit per code byte, set where an instruction starts. */
  readonly bitmask: Uint8Array;
  /** Jump-table entries (code offsets). */
  readonly jumpTable: ArrayLike<number>;
}

/** A program decoded into parallel arrays, one slot per instruction, in pc order. */
export interface PredecodedProgram {
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
  /** Static branch/jump target as an instruction number; -1 when it is no block start. */
  readonly target: Int32Array;
  /** The pc of each instruction. */
  readonly pc: Uint32Array;
  /** 1 where the instruction starts a basic block. */
  readonly blockStart: Uint8Array;
  /** Gas charged on entering the block that starts here; 0 at other instructions. */
  readonly entryCost: Int32Array;
  /** Instructions from this one to the end of its block, itself included. */
  readonly toEnd: Int32Array;
  /** Jump-table entry k as an instruction number; -1 when it is no block start. */
  readonly jumpTargets: Int32Array;
  /** Instruction number at each pc in 0 … code length + 25; -1 where none starts. */
  readonly indexOfPc: Int32Array;
  /** The ISA profile the program was decoded with. */
  readonly profile: IsaProfile;
}

const cache = new WeakMap<object, Map<IsaProfile, PredecodedProgram>>();

/** Predecodes `blob` for `profile`, reusing an earlier result for the same blob object. */
export function predecode(blob: CodeBlob, profile: IsaProfile): PredecodedProgram {
  let perProfile = cache.get(blob);
  if (perProfile === undefined) {
    perProfile = new Map();
    cache.set(blob, perProfile);
  }
  let program = perProfile.get(profile);
  if (program === undefined) {
    program = build(blob, profile);
    perProfile.set(profile, program);
  }
  return program;
}

function syntheticTrap(pc: number): Instruction {
  return { op: Op.trap, pc, length: 1, a: 0, b: 0, d: 0, x: 0, y: 0, wide: 0n, invalid: true };
}

function isTerminatorId(id: number): boolean {
  return instructionById(id)?.terminator ?? true;
}

/** Absolute target pc of a static control-flow instruction, or undefined when it has none. */
function staticTarget(ins: Instruction): number | undefined {
  const format = instructionById(ins.op)?.format;
  if (format === "off" || format === "reg_reg_off") return ins.x;
  if (format === "reg_imm_off") return ins.y;
  return undefined;
}

function build(blob: CodeBlob, profile: IsaProfile): PredecodedProgram {
  const { code, bitmask } = blob;
  const decoded = decodeCode(code, bitmask, profile);
  const list: Instruction[] = [];
  if (!isOpcodeStart(bitmask, code.length, 0) || code.length === 0) list.push(syntheticTrap(0));
  for (const ins of decoded.instructions) {
    list.push(ins);
    const next = ins.pc + ins.length;
    if (next >= code.length || !isOpcodeStart(bitmask, code.length, next)) {
      list.push(syntheticTrap(next));
    }
  }

  const count = list.length;
  const indexOfPc = new Int32Array(code.length + MAX_SKIP + 2).fill(-1);
  list.forEach((ins, i) => indexOfPc[ins.pc] = i);
  const op = new Uint8Array(count), ra = new Uint8Array(count), rb = new Uint8Array(count);
  const rd = new Uint8Array(count), x = new Int32Array(count), y = new Int32Array(count);
  const target = new Int32Array(count).fill(-1), pc = new Uint32Array(count);
  const blockStart = new Uint8Array(count), toEnd = new Int32Array(count);
  const entryCost = new Int32Array(count);

  // A pc is a valid branch target when it starts a block and an instruction sits there.
  const indexOfBlock = (targetPc: number): number =>
    targetPc >= 0 && targetPc < decoded.blockStart.length && decoded.blockStart[targetPc] === 1
      ? indexOfPc[targetPc]
      : -1;

  for (let i = 0; i < count; i++) {
    const ins = list[i];
    op[i] = ins.op;
    ra[i] = ins.a;
    rb[i] = ins.b;
    rd[i] = ins.d;
    pc[i] = ins.pc;
    if (ins.op === Op.load_imm_64) {
      x[i] = Number(ins.wide & 0xffffffffn) | 0;
      y[i] = Number(ins.wide >> 32n) | 0;
    } else {
      x[i] = ins.x;
      y[i] = ins.y;
    }
    const t = staticTarget(ins);
    if (t !== undefined) target[i] = indexOfBlock(t);
    blockStart[i] = ins.pc < decoded.blockStart.length ? decoded.blockStart[ins.pc] : 0;
  }
  blockStart[0] = 1;
  for (let i = count - 1; i >= 0; i--) {
    toEnd[i] = isTerminatorId(op[i]) || i === count - 1 ? 1 : 1 + toEnd[i + 1];
  }
  for (let i = 0; i < count; i++) {
    if (blockStart[i] === 1) entryCost[i] = costFrom(op, toEnd, i, profile);
  }

  const jumpTargets = new Int32Array(blob.jumpTable.length);
  for (let k = 0; k < jumpTargets.length; k++) jumpTargets[k] = indexOfBlock(blob.jumpTable[k]);

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
    toEnd,
    jumpTargets,
    indexOfPc,
    profile,
  };
}

/** Gas of a block entered at instruction `i`: the instructions from `i` to its block's end. */
export function costFrom(
  op: Uint8Array,
  toEnd: Int32Array,
  i: number,
  profile: IsaProfile,
): number {
  const ids: number[] = [];
  for (let k = 0; k < toEnd[i]; k++) ids.push(op[i + k]);
  return profile.gas.blockCost(ids);
}
