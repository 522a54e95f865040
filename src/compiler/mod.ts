/**
 * The PVM to x86-64 compiler of the native backend.
 * @module
 */
export { compileProgram } from "./compile.ts";
export {
  type CodeTarget,
  type CompiledCode,
  type CompileOptions,
  STEP_PC_FLAG,
  type VmCtxOffsets,
} from "./target.ts";
