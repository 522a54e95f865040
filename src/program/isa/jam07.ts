/**
 * The `jam-0.7` profile: Gray Paper 0.5.4 … 0.7.2 opcode numbering, one gas per instruction.
 * @module
 */
import type { InstructionColumns } from "./columns.ts";
import { INSTRUCTIONS, Op } from "./instructions.ts";
import { defineProfile, type GasModel, type IsaProfile } from "./profile.ts";

/** The gas model where every instruction costs `cost`, charged for the whole block on entry. */
function flatGas(cost: number): GasModel {
  return Object.freeze({
    perInstruction: cost,
    blockCost: (_block: InstructionColumns, start: number, end: number): number =>
      (end - start) * cost,
  });
}

/** One gas per instruction, charged for the whole block on entry. */
const UNIT_GAS: GasModel = flatGas(1);

/** Gray Paper 0.7.2 numbering: internal ids are the 0.7 opcodes; `unlikely` does not exist. */
export const JAM_0_7: IsaProfile = defineProfile(
  "jam-0.7",
  INSTRUCTIONS.filter((i) => i.id !== Op.unlikely).map((i) => [i.id, i.id] as const),
  UNIT_GAS,
);
