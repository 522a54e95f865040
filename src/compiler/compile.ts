/**
 * `compileProgram`: a program analysis to x86-64 machine code for the zygote, with the native
 * jump table of dynamic jumps and the maps between instruction numbers and native offsets.
 * @module
 */
import type { ProgramAnalysis } from "../program/analysis.ts";
import type { InstructionEntries } from "./entries.ts";
import { generateCode } from "./generator.ts";
import type { CodeTarget, CompiledCode, CompileOptions } from "./target.ts";

const ADDRESS_HALF = 2 ** 32;

/** Compiles every instruction of `analysis` to machine code that runs at `target`. */
export function compileProgram(
  analysis: ProgramAnalysis,
  target: CodeTarget,
  options: CompileOptions = {},
): CompiledCode {
  const generated = generateCode(analysis, target, options.step ?? false);
  const { code, entries, stubStart, stubOwner } = generated;
  const blockStart = analysis.blockStart, n = analysis.count;
  const blockEntry = (i: number): number => blockStart[i] === 1 ? entries.blockEntry(i) : -1;
  /** Built at the first lookup: only faults need it, and most programs never fault. */
  let starts: Int32Array | undefined;
  return {
    code,
    jumpTable: nativeJumpTable(generated.tableEntries, target.codeAddress),
    blockEntry,
    instructionEntry: (i) => entries.entry(i),
    instructionAt(nativeOffset: number): number {
      if (nativeOffset < 0 || nativeOffset >= code.length) return -1;
      if (nativeOffset >= stubStart[0]) return stubOwner[lastAtOrBefore(stubStart, nativeOffset)];
      starts ??= instructionStarts(n, entries, blockEntry, stubStart[0]);
      const i = lastAtOrBefore(starts, nativeOffset);
      // The gas charge of block i + 1 lies between instruction i's code and its own.
      const next = i + 1 < n ? blockEntry(i + 1) : -1;
      return next >= 0 && nativeOffset >= next ? i + 1 : i;
    },
  };
}

/**
 * Per instruction, where its code begins in the instruction stream (which ends at
 * `streamEnd`), ascending: its entry, or for the second instruction of a fused pair (entered in
 * a stub) where the pair ends, that is where the next instruction's block entry or code begins,
 * or the stubs after the last one.
 */
function instructionStarts(
  n: number,
  entries: InstructionEntries,
  blockEntry: (i: number) => number,
  streamEnd: number,
): Int32Array {
  const starts = new Int32Array(n);
  for (let i = n - 1; i >= 0; i--) {
    if (entries.inStream(i)) starts[i] = entries.entry(i);
    else if (i + 1 === n) starts[i] = streamEnd;
    else starts[i] = blockEntry(i + 1) >= 0 ? blockEntry(i + 1) : starts[i + 1];
  }
  return starts;
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

/** Entry k: the absolute native address of code offset `offsets[k]`. */
function nativeJumpTable(offsets: Int32Array, codeAddress: bigint): Uint8Array {
  const bytes = new Uint8Array(offsets.length * 8);
  const baseLow = Number(codeAddress % BigInt(ADDRESS_HALF));
  const baseHigh = Number(codeAddress / BigInt(ADDRESS_HALF));
  for (let k = 0; k < offsets.length; k++) {
    const low = baseLow + offsets[k];
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
