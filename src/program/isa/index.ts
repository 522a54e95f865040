/**
 * ISA profiles by name.
 * @module
 */
import { JAM_0_7 } from "./jam07.ts";
import { JAM_0_8 } from "./jam08.ts";
import type { IsaName, IsaProfile } from "./profile.ts";

/** Every profile pvmbox supports, by name. */
export const PROFILES: Readonly<Record<IsaName, IsaProfile>> = Object.freeze({
  "jam-0.7": JAM_0_7,
  "jam-0.8": JAM_0_8,
});

/** The profile used when none is asked for. */
export const DEFAULT_PROFILE: IsaProfile = JAM_0_7;

export { JAM_0_7 } from "./jam07.ts";
export { JAM_0_8 } from "./jam08.ts";
export type { GasModel, IsaName, IsaProfile } from "./profile.ts";
export {
  type Instruction,
  INSTRUCTION_ROWS,
  instructionById,
  instructionByName,
  type InstructionInfo,
  type InstructionRows,
  INSTRUCTIONS,
  type Mnemonic,
  Op,
  type OperandFormat,
  type OpTable,
} from "./instructions.ts";
