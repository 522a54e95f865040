/**
 * pvmbox runs untrusted PVM programs (the virtual machine of Polkadot's JAM) from Deno, safely
 * and fast: parse a program, create a `Sandbox`, run it, and answer its host calls in
 * TypeScript. The native backend (Linux x86-64) runs compiled code in a locked-down child
 * process; the interpreter runs everywhere Deno does.
 *
 * @example Run a program and answer its host calls
 * ```ts
 * import { assemble } from "@pvmbox/pvmbox/asm";
 * import { Program, Sandbox } from "@pvmbox/pvmbox";
 *
 * // Asks the host (host call 7) for a number, adds 1 to it and halts.
 * const program = Program.parse(assemble(`
 * .stack_size 0x1000
 *     ecalli 7
 *     add_imm_64 a0, a0, 1
 *     jump_ind ra, 0
 * `));
 * using sandbox = Sandbox.create(program, { gas: 1_000_000n });
 * let exit = sandbox.run();
 * while (exit.kind === "host-call") {
 *   sandbox.regs[7] = 41n; // the answer goes in a0
 *   exit = sandbox.run();
 * }
 * console.log(exit.kind, sandbox.regs[7]); // "halt" 42n
 * ```
 *
 * Specialised parts live under subpaths: `./asm` (assembler, disassembler), `./program`
 * (containers, decoder, instruction set), `./interpreter`, `./native` (zygotes, the native
 * library) and `./conformance` (JAM test vectors).
 *
 * @module
 */
export {
  type ContainerKind,
  type ParseOptions,
  Program,
  type ProgramExport,
  type ProgramParts,
  type ProgramSummary,
} from "./src/program/program.ts";
export type { BlobViolation, ValidationRule } from "./src/program/validation.ts";
export {
  type InitMode,
  invokeProgram,
  type InvokeProgramOptions,
  type ResetOptions,
  Sandbox,
  type SandboxOptions,
} from "./src/sandbox/sandbox.ts";
export { type BackendChoice, type BackendName, BACKENDS } from "./src/sandbox/backends.ts";
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
export {
  ARGS_START,
  type Exit,
  type ExitKind,
  HALT_ADDRESS,
  MAX_ARGS_LENGTH,
  type PageAccess,
  ProgramError,
  type ProgramMemory,
  SandboxError,
  type SandboxErrorKind,
  STACK_TOP,
} from "./src/pvm/mod.ts";
