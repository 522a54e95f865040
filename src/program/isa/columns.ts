/**
 * Decoded instructions as parallel columns, the layout the program analysis keeps and gas models
 * read: no object per instruction.
 * @module
 */
import type { Instruction } from "./instructions.ts";

/** Decoded instructions as parallel arrays, one slot per instruction, in pc order. */
export interface InstructionColumns {
  /** Instruction id (`Op`); invalid opcodes are `Op.trap`. */
  readonly op: Uint8Array;
  /** Register A. */
  readonly ra: Uint8Array;
  /** Register B. */
  readonly rb: Uint8Array;
  /** Register D. */
  readonly rd: Uint8Array;
  /**
   * First immediate as int32, or the absolute branch target (`off`, `reg_reg_off`);
   * `load_imm_64`: the low half of its immediate.
   */
  readonly x: Int32Array;
  /**
   * Second immediate as int32, or the absolute branch target (`reg_imm_off`); `load_imm_64`: the
   * high half.
   */
  readonly y: Int32Array;
  /**
   * The pc of each instruction. The slot after a branch holds the pc it falls through to (the
   * next instruction's, or one past the columns when the branch is the last one).
   */
  readonly pc: Uint32Array;
}

/**
 * `block` in columns, with one pc more than instructions: where the last one falls through to.
 * For callers that hold `Instruction` objects (tests, explanations); the analysis' arrays are
 * already columns.
 */
export function instructionColumns(block: readonly Instruction[]): InstructionColumns {
  const n = block.length;
  const columns = {
    op: new Uint8Array(n),
    ra: new Uint8Array(n),
    rb: new Uint8Array(n),
    rd: new Uint8Array(n),
    x: new Int32Array(n),
    y: new Int32Array(n),
    pc: new Uint32Array(n + 1),
  };
  for (let i = 0; i < n; i++) {
    const ins = block[i];
    columns.op[i] = ins.op;
    columns.ra[i] = ins.a;
    columns.rb[i] = ins.b;
    columns.rd[i] = ins.d;
    // load_imm_64 keeps its immediate in `wide`; the columns hold it as two int32 halves.
    columns.x[i] = ins.wide === 0n ? ins.x : Number(BigInt.asIntN(32, ins.wide));
    columns.y[i] = ins.wide === 0n ? ins.y : Number(BigInt.asIntN(32, ins.wide >> 32n));
    columns.pc[i] = ins.pc;
  }
  if (n > 0) columns.pc[n] = block[n - 1].pc + block[n - 1].length;
  return columns;
}
