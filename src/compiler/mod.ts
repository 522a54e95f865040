/**
 * The PVM to x86-64 compiler of the native backend.
 * @module
 */
export { compileProgram } from "./compile.ts";
export type { CodeTarget, CompiledCode, VmCtxOffsets } from "./target.ts";
