/**
 * pvmbox: run untrusted PVM programs (the virtual machine of Polkadot's JAM) from Deno, safely
 * and fast.
 *
 * @module
 */
export { ProgramError } from "./src/program/errors.ts";
export { SandboxError, type SandboxErrorCause } from "./src/sandbox/errors.ts";
export {
  DEFAULT_PROFILE,
  type GasModel,
  type InstructionInfo,
  INSTRUCTIONS,
  type IsaName,
  type IsaProfile,
  JAM_0_7,
  type Mnemonic,
  Op,
  type OperandFormat,
  PROFILES,
} from "./src/program/isa/index.ts";
export {
  decodeAt,
  decodeCode,
  type DecodedCode,
  type Instruction,
  isTerminator,
  skipAt,
} from "./src/program/decoder.ts";
