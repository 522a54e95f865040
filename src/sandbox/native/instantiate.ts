/**
 * Instantiating a program on the native backend: its compilation from the process-wide code
 * cache and a zygote from the process-wide warm pool (reset, with the code already loaded when
 * it last ran the same program).
 * @module
 */
import { type CompiledCode, compileProgram } from "../../compiler/mod.ts";
import { analyzeProgram } from "../../program/analysis.ts";
import type { Program } from "../../program/program.ts";
import { NativeBackend } from "./backend.ts";
import { CodeCache } from "./code_cache.ts";
import { ZYGOTE_CODE_TARGET } from "./code_target.ts";
import { ZygotePool } from "./pool.ts";
import type { Zygote } from "./zygote.ts";

/** Compilations shared by every native sandbox of the process. */
export const NATIVE_CODE_CACHE: CodeCache<CompiledCode> = new CodeCache((program) =>
  compileProgram(program, ZYGOTE_CODE_TARGET)
);

/** Step-mode compilations, for traced sandboxes. */
const STEP_CODE_CACHE: CodeCache<CompiledCode> = new CodeCache((program) =>
  compileProgram(program, ZYGOTE_CODE_TARGET, { step: true })
);

/** Idle zygotes kept for the next sandbox: instantiating is then a reset, not a spawn. */
const POOL_CAPACITY = 8;

let pool: ZygotePool | undefined;

/** The process-wide pool of zygotes behind native sandboxes, created on first use. */
export function nativePool(): ZygotePool {
  pool ??= new ZygotePool({ size: 0, capacity: POOL_CAPACITY });
  return pool;
}

/** The code each pooled zygote holds, so a zygote that ran the program before skips the load. */
const loadedCode = new WeakMap<Zygote, CompiledCode>();

/**
 * A native backend running `program`, compiling it only if no sandbox of the process did; with
 * `onInstruction`, in step mode (every instruction reports to the host: for tracing, not speed).
 */
export function createNativeBackend(
  program: Program,
  onInstruction?: (pc: number) => void,
): NativeBackend {
  const analysis = analyzeProgram(program.blob, program.isa);
  const cache = onInstruction === undefined ? NATIVE_CODE_CACHE : STEP_CODE_CACHE;
  const code = cache.get(program.blob, analysis);
  const zygotes = nativePool();
  // The compilation is the program's identity: under the pool's "same-program" policy a zygote
  // that ran guest code only ever serves the same program again.
  const zygote = zygotes.acquire(code);
  try {
    if (loadedCode.get(zygote) !== code) {
      loadedCode.delete(zygote);
      zygote.loadCode(code.code, code.jumpTable);
      loadedCode.set(zygote, code);
    }
  } catch (error) {
    zygotes.release(zygote);
    throw error;
  }
  return new NativeBackend(zygote, analysis, code, (z) => zygotes.release(z), onInstruction);
}
