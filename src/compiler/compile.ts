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
  const baseLow = Number(codeAddress % BigInt(ADDRESS_HALF));
  const baseHigh = Number(codeAddress / BigInt(ADDRESS_HALF));
  for (let k = 0; k < jumpTargets.length; k++) {
    const t = jumpTargets[k];
    const low = baseLow + (t >= 0 ? generated.blockEntry[t] : generated.invalidEntry);
    littleEndian32(bytes, 8 * k, low);
    littleEndian32(bytes, 8 * k + 4, baseHigh + (low >= ADDRESS_HALF ? 1 : 0));
  }
  return bytes;
}

/** Writes the low 32 bits of `value` at `at`, least significant byte first. */
function littleEndian32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value;
  bytes[at + 1] = value >>> 8;
  bytes[at + 2] = value >>> 16;
  bytes[at + 3] = value >>> 24;
}
