/**
 * `compileProgram`: a program analysis to x86-64 machine code for the zygote, with the native
 * jump table of dynamic jumps and the maps between instruction numbers and native offsets.
 * @module
 */
import type { ProgramAnalysis } from "../program/analysis.ts";
import { generateCode, type GeneratedCode } from "./generator.ts";
import type { CodeTarget, CompiledCode, CompileOptions } from "./target.ts";

const ADDRESS_HALF = 2 ** 32;

/** Compiles every instruction of `analysis` to machine code that runs at `target`. */
export function compileProgram(
  analysis: ProgramAnalysis,
  target: CodeTarget,
  options: CompileOptions = {},
): CompiledCode {
  const generated = generateCode(analysis, target, options.step ?? false);
  const jumpTable = nativeJumpTable(analysis.jumpTargets, generated, target.codeAddress);
  const { blockEntry, instructionEntry, instructionStart, stubStart, stubOwner } = generated;
  return {
    code: generated.code,
    jumpTable,
    blockEntry,
    instructionEntry,
    instructionAt(nativeOffset: number): number {
      if (nativeOffset < 0 || nativeOffset >= generated.code.length) return -1;
      if (nativeOffset >= stubStart[0]) return stubOwner[lastAtOrBefore(stubStart, nativeOffset)];
      const i = lastAtOrBefore(instructionStart, nativeOffset);
      // The gas charge of block i + 1 lies between instruction i's code and its own.
      const next = i + 1 < blockEntry.length ? blockEntry[i + 1] : -1;
      return next >= 0 && nativeOffset >= next ? i + 1 : i;
    },
  };
}

/** Index of the last element of ascending `starts` that is ≤ `offset` (0 if none is). */
function lastAtOrBefore(starts: Int32Array, offset: number): number {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Entry k: the absolute native address of the block entry of jump-table target k. */
function nativeJumpTable(
  jumpTargets: Int32Array,
  generated: GeneratedCode,
  codeAddress: bigint,
): Uint8Array {
  const bytes = new Uint8Array(jumpTargets.length * 8);
  const view = new DataView(bytes.buffer);
  const baseLow = Number(codeAddress % BigInt(ADDRESS_HALF));
  const baseHigh = Number(codeAddress / BigInt(ADDRESS_HALF));
  for (let k = 0; k < jumpTargets.length; k++) {
    const t = jumpTargets[k];
    const offset = t >= 0 ? generated.blockEntry[t] : generated.invalidEntry;
    const low = baseLow + offset;
    view.setUint32(8 * k, low % ADDRESS_HALF, true);
    view.setUint32(8 * k + 4, baseHigh + Math.floor(low / ADDRESS_HALF), true);
  }
  return bytes;
}
