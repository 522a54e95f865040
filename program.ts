/**
 * The formats under a `Program`: the containers (raw blob, JAM standard program, JAM service
 * code, `.polkavm`) with their encoders, the instruction decoder, and the instruction-set tables
 * (jam-0.7, jam-0.8) with their gas models.
 *
 * @example Wrap a raw blob in a JAM standard program and decode it
 * ```ts
 * import { decodeCode, encodeStandardProgram, parseBlob } from "@pvmbox/pvmbox/program";
 *
 * const blob = parseBlob(Uint8Array.of(0, 0, 1, 0, 1)); // one `trap`
 * const bytes = encodeStandardProgram({
 *   roData: new Uint8Array(0),
 *   rwData: new Uint8Array(0),
 *   heapPages: 0,
 *   stackSize: 4096,
 *   blob,
 * });
 * console.log(bytes.length, decodeCode(blob.code, blob.bitmask).instructions.length);
 * ```
 *
 * @module
 */
export {
  decodeAt,
  decodeCode,
  type DecodedCode,
  type Instruction,
  isTerminator,
  skipAt,
} from "./src/program/decoder.ts";
export {
  DEFAULT_PROFILE,
  type GasModel,
  INSTRUCTION_ROWS,
  type InstructionInfo,
  type InstructionRows,
  INSTRUCTIONS,
  type IsaName,
  type IsaProfile,
  JAM_0_7,
  JAM_0_8,
  type Mnemonic,
  Op,
  type OperandFormat,
  type OpTable,
  PROFILES,
} from "./src/program/isa/index.ts";
export { type BlockTimeline, type TimelineRow } from "./src/program/isa/pipeline_gas.ts";
export { type InstructionColumns, instructionColumns } from "./src/program/isa/columns.ts";
export { decodeVarU64, encodeVarU64 } from "./src/program/varint.ts";
export { type BlobViolation, validateCode, type ValidationRule } from "./src/program/validation.ts";
export { encodeBlob, parseBlob, type RawBlob } from "./src/program/blob.ts";
export {
  encodeStandardProgram,
  parseStandardProgram,
  type StandardProgram,
} from "./src/program/standard.ts";
export {
  decodeServiceMetadata,
  encodeServiceCode,
  encodeServiceMetadata,
  parseServiceCode,
  type ServiceCode,
  type ServiceMetadata,
} from "./src/program/service.ts";
export {
  encodePolkaVm,
  parsePolkaVm,
  POLKAVM_ISAS,
  type PolkaVmExport,
  type PolkaVmIsa,
  type PolkaVmParts,
  type PolkaVmProgram,
} from "./src/program/polkavm.ts";
export { type MemoryRegion, type StandardLayout, standardLayout } from "./src/pvm/mod.ts";
