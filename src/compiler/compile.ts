/**
 * `compileProgram`: a program analysis to x86-64 machine code for the zygote, with the native
 * jump table of dynamic jumps and the maps between instruction numbers and native offsets.
 * @module
 */
import type { ProgramAnalysis } from "../program/analysis.ts";
import { CodeGenerator, type GeneratedCode } from "./generator.ts";
import type { CodeTarget, CompiledCode } from "./target.ts";

const ADDRESS_HALF = 2 ** 32;

/** Compiles every instruction of `analysis` to machine code that runs at `target`. */
export function compileProgram(analysis: ProgramAnalysis, target: CodeTarget): CompiledCode {
  const generated = new CodeGenerator(analysis, target).generate();
  const jumpTable = nativeJumpTable(analysis.jumpTargets, generated, target.codeAddress);
  const { regionStart, regionOwner } = generated;
  return {
    code: generated.code,
    jumpTable,
    blockEntry: generated.blockEntry,
    instructionEntry: generated.instructionEntry,
    instructionAt(nativeOffset: number): number {
      if (nativeOffset < 0 || nativeOffset >= generated.code.length) return -1;
      // The last region that starts at or before the offset.
      let lo = 0, hi = regionStart.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (regionStart[mid] <= nativeOffset) lo = mid;
        else hi = mid - 1;
      }
      return regionOwner[lo];
    },
  };
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
