/**
 * pvmbox: run untrusted PVM programs (the virtual machine of Polkadot's JAM) from Deno, safely
 * and fast.
 *
 * @module
 */
export {
  ARGS_START,
  type Backend,
  type Exit,
  type ExitKind,
  type GuestMemory,
  HALT_ADDRESS,
  MAX_ARGS_LENGTH,
  type MemoryRegion,
  type PageAccess,
  ProgramError,
  type ProgramMemory,
  SandboxError,
  type SandboxErrorKind,
  STACK_TOP,
  type StandardLayout,
  standardLayout,
} from "./src/pvm/mod.ts";
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
  type Mnemonic,
  Op,
  type OperandFormat,
  type OpTable,
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
export {
  type ContainerKind,
  type ParseOptions,
  Program,
  type ProgramExport,
  type ProgramParts,
  type ProgramSummary,
} from "./src/program/program.ts";
export { decodeVarU64, encodeVarU64 } from "./src/program/varint.ts";
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
export { Interpreter, type InterpreterOptions } from "./src/interpreter/interpreter.ts";
export {
  assemble,
  assembleDetailed,
  type AssembleOptions,
  AssemblyError,
  type AssemblyOutput,
  type AssemblyWarning,
  type DataSection,
  disassemble,
  type DisassembleOptions,
  type DisassemblyInput,
  type LabelValue,
  type OutputKind,
  type Section,
  type SourcePosition,
} from "./src/program/asm/index.ts";
export { type BackendName, BACKENDS } from "./src/sandbox/backends.ts";
export {
  type InitMode,
  invokeProgram,
  type InvokeProgramOptions,
  Sandbox,
  type SandboxOptions,
} from "./src/sandbox/sandbox.ts";
export type {
  AsyncHostCallHandler,
  HostCall,
  HostCallHandler,
  HostCallOutcome,
  InvokeAsyncOptions,
  InvokeOptions,
  InvokeResult,
  InvokeStatus,
  PageFaultHandler,
} from "./src/sandbox/invoke.ts";
export { SandboxMemory } from "./src/sandbox/memory.ts";
export { growHeap, type GrowHeapOutcome } from "./src/sandbox/grow_heap.ts";
export {
  HOST_CALLS_BY_ISA,
  HOST_RESULT,
  hostCallName,
  JAM_HOST_CALLS,
  JAM_HOST_CALLS_08,
  type LogMessage,
  readLogMessage,
} from "./src/sandbox/host_calls.ts";
export { PagedMemory } from "./src/interpreter/memory.ts";
export {
  type ImageSegment,
  MemoryImage,
  type NativeExit,
  type NativeExitKind,
  NativeMemory,
  type RunOptions,
  Zygote,
  type ZygoteFacts,
  type ZygoteOptions,
  ZygotePool,
  type ZygotePoolOptions,
} from "./src/sandbox/native/mod.ts";
export { type JsonValue, parseJson } from "./src/conformance/json.ts";
export {
  type MemoryChunk,
  type PageMapEntry,
  parseVector,
  type PvmVector,
  VectorFormatError,
} from "./src/conformance/vector.ts";
export { type Difference, type DifferenceKind } from "./src/conformance/state.ts";
export { type RunnerOptions, runVector, type VectorResult } from "./src/conformance/runner.ts";
