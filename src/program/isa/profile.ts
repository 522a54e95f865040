/**
 * ISA profiles: how opcode bytes map to instructions and what a basic block costs in gas. A new
 * profile (e.g. Gray Paper 0.8) is a new opcode map and gas model, not a new decoder.
 * @module
 */
import type { InstructionColumns } from "./columns.ts";
import { type InstructionInfo, INSTRUCTIONS, Op } from "./instructions.ts";
import type { BlockTimeline } from "./pipeline_gas.ts";

/** Names of the ISA profiles pvmbox knows. */
export type IsaName = "jam-0.7" | "jam-0.8";

/** Charges gas for basic blocks. */
export interface GasModel {
  /**
   * Gas charged on entry to a basic block: instructions `start` … `end` − 1 of `block`, from the
   * block's first instruction to its terminator (or the trap past the end of the code); `code` is
   * the program's code bytes. The analysis passes its own arrays, so pricing a block builds no
   * instruction objects.
   */
  blockCost(block: InstructionColumns, start: number, end: number, code: Uint8Array): number;
  /**
   * Set when every instruction costs this much, so that a block costs its length times it, as
   * `blockCost` says: the analysis then prices a program's blocks without a call per block.
   */
  readonly perInstruction?: number;
  /** The per-cycle story behind `blockCost`, for models that simulate a pipeline. */
  explain?(block: InstructionColumns, start: number, end: number, code: Uint8Array): BlockTimeline;
}

/** An instruction set as a concrete opcode numbering plus a gas model. */
export interface IsaProfile {
  /** Profile name, e.g. `jam-0.7`. */
  readonly name: IsaName;
  /** Opcode byte → internal instruction id, or -1 where the byte is no instruction. */
  readonly decodeTable: Int16Array;
  /** Internal instruction id → opcode byte, or -1 where the profile lacks the instruction. */
  readonly encodeTable: Int16Array;
  /** The gas model of this profile. */
  readonly gas: GasModel;
  /**
   * What a run that starts inside a basic block with nothing paid is charged: the rest of the
   * block from there, or the whole enclosing block (Gray Paper 0.8's L(ı)).
   */
  readonly midBlockStart: "rest-of-block" | "enclosing-block";
  /**
   * How a blob is checked: `none` (an opcode byte that is no instruction executes as `trap`), or
   * `whole-blob` (Gray Paper 0.8: one invalid opcode or misplaced bitmask bit makes the whole
   * blob invalid; it panics before running, and a pc with no instruction panics unpaid).
   */
  readonly validation: "none" | "whole-blob";
  /**
   * Whether the profile has the `sbrk` instruction and so a heap top (Gray Paper 0.8 replaces it
   * with the `grow_heap` host call). The one rule for sbrk: the opcode map holds `sbrk` exactly
   * when this is set, and every backend, the assembler and the `Sandbox` heap API read it.
   */
  readonly hasSbrk: boolean;
  /** The instruction-set name of a `.polkavm` file that selects this profile, if any. */
  readonly polkavmIsa: string | undefined;
}

/** The rules a profile sets besides opcodes and gas (defaults: the jam-0.7 ones). */
export interface ProfileRules {
  /** See `IsaProfile.midBlockStart`. */
  readonly midBlockStart?: IsaProfile["midBlockStart"];
  /** See `IsaProfile.validation`. */
  readonly validation?: IsaProfile["validation"];
  /** See `IsaProfile.polkavmIsa`. */
  readonly polkavmIsa?: string;
  /** See `IsaProfile.hasSbrk`. */
  readonly hasSbrk?: boolean;
}

/**
 * Builds a profile from `[opcodeByte, instructionId]` pairs. Throws `RangeError` when the pairs
 * give `sbrk` an opcode and the rules say the profile has none, or the other way round.
 */
export function defineProfile(
  name: IsaName,
  opcodes: Iterable<readonly [number, number]>,
  gas: GasModel,
  rules: ProfileRules = {},
): IsaProfile {
  const decodeTable = new Int16Array(256).fill(-1);
  const encodeTable = new Int16Array(256).fill(-1);
  for (const [byte, id] of opcodes) {
    decodeTable[byte] = id;
    encodeTable[id] = byte;
  }
  const hasSbrk = rules.hasSbrk ?? true;
  if ((encodeTable[Op.sbrk] >= 0) !== hasSbrk) {
    throw new RangeError(
      `profile ${name}: the opcode map must hold sbrk exactly when hasSbrk is set`,
    );
  }
  return Object.freeze({
    name,
    decodeTable,
    encodeTable,
    gas,
    midBlockStart: rules.midBlockStart ?? "rest-of-block",
    validation: rules.validation ?? "none",
    hasSbrk,
    polkavmIsa: rules.polkavmIsa,
  });
}

/** The instructions a profile can encode, in opcode order. */
export function profileInstructions(profile: IsaProfile): InstructionInfo[] {
  return INSTRUCTIONS.filter((i) => profile.encodeTable[i.id] >= 0)
    .sort((a, b) => profile.encodeTable[a.id] - profile.encodeTable[b.id]);
}
