/**
 * ISA profiles: how opcode bytes map to instructions and what a basic block costs in gas. A new
 * profile (e.g. Gray Paper 0.8) is a new opcode map and gas model, not a new decoder.
 * @module
 */
import { type InstructionInfo, INSTRUCTIONS } from "./instructions.ts";

/** Names of the ISA profiles pvmbox knows. */
export type IsaName = "jam-0.7";

/** Charges gas for basic blocks. */
export interface GasModel {
  /** Gas charged on entry to a block made of the given instruction ids, in order. */
  blockCost(instructionIds: readonly number[]): number;
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
  /** What an opcode byte that is no instruction means. */
  readonly invalidOpcode: "trap";
}

/** Builds a profile from `[opcodeByte, instructionId]` pairs. */
export function defineProfile(
  name: IsaName,
  opcodes: Iterable<readonly [number, number]>,
  gas: GasModel,
): IsaProfile {
  const decodeTable = new Int16Array(256).fill(-1);
  const encodeTable = new Int16Array(256).fill(-1);
  for (const [byte, id] of opcodes) {
    decodeTable[byte] = id;
    encodeTable[id] = byte;
  }
  return Object.freeze({ name, decodeTable, encodeTable, gas, invalidOpcode: "trap" as const });
}

/** The instructions a profile can encode, in opcode order. */
export function profileInstructions(profile: IsaProfile): InstructionInfo[] {
  return INSTRUCTIONS.filter((i) => profile.encodeTable[i.id] >= 0)
    .sort((a, b) => profile.encodeTable[a.id] - profile.encodeTable[b.id]);
}
