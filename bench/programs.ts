/**
 * The compiled-C benchmark programs of `../shared/bench-programs/` and what a correct run of each
 * ends with (φ7 and gas used, from that folder's README), shared by every benchmark that runs
 * them, so a fast wrong answer cannot pass anywhere.
 * @module
 */
import type { CodeBlob } from "../src/program/analysis.ts";

/** Where the benchmark programs and their C sources live. */
export const BENCH_PROGRAM_DIR: URL = new URL("../../shared/bench-programs/", import.meta.url);

/** One compiled-C benchmark program. */
export interface BenchProgram {
  /** File stem: `<name>.jam07.spi` and `<name>.c`. */
  readonly name: string;
  /** What it stresses. */
  readonly what: string;
  /** φ7 at halt. */
  readonly phi7: bigint;
  /** Gas used (one per instruction under jam-0.7). */
  readonly gasUsed: bigint;
  /**
   * Figures quoted from the README for peers not measured here: M instructions/s of anan-as and
   * PolkaVM's interpreter, and PolkaVM's JIT time ÷ gcc -O2 time on the reference machine.
   */
  readonly quoted: { readonly anan: number; readonly polkavm: number; readonly jitVsGcc: number };
  /** Why anan-as is not run on it by default (too slow for a benchmark run), if so. */
  readonly skipAnan?: string;
}

/** The three programs, in the README's order. */
export const BENCH_PROGRAMS: readonly BenchProgram[] = [
  {
    name: "crc32",
    what: "real C, byte loads + table lookups",
    phi7: 299621408002077471n,
    gasUsed: 222309414n,
    quoted: { anan: 8.7, polkavm: 290, jitVsGcc: 88 / 58 },
    skipAnan: "~25 s",
  },
  {
    name: "matmul",
    what: "real C, 64-bit multiplies",
    phi7: 9725053747418139532n,
    gasUsed: 25291521n,
    quoted: { anan: 8.5, polkavm: 287, jitVsGcc: 6.4 / 4.1 },
  },
  {
    name: "sort",
    what: "real C, branches + recursion",
    phi7: 14296620297689410770n,
    gasUsed: 175408308n,
    quoted: { anan: 8.4, polkavm: 152, jitVsGcc: 171 / 115 },
    skipAnan: "~21 s",
  },
];

/** The PVM blob of `program`. */
export function readBenchProgram(program: BenchProgram): Promise<Uint8Array> {
  return Deno.readFile(new URL(`${program.name}.jam07.spi`, BENCH_PROGRAM_DIR));
}

/** Median of `values` (the upper one of an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Blobs laid end to end (taken round-robin) until the code is at least `minBytes` long: bitmasks
 * and jump tables shifted, so the instruction mix is the parts' own.
 */
export function tiledBlob(parts: readonly CodeBlob[], minBytes: number): CodeBlob {
  const pieces: CodeBlob[] = [];
  let total = 0;
  while (total < minBytes) {
    const part = parts[pieces.length % parts.length];
    pieces.push(part);
    total += part.code.length;
  }
  const code = new Uint8Array(total);
  const bitmask = new Uint8Array(Math.ceil(total / 8));
  const jumpTable: number[] = [];
  let at = 0;
  for (const part of pieces) {
    code.set(part.code, at);
    for (let k = 0; k < part.code.length; k++) {
      if ((part.bitmask[k >> 3] >> (k & 7)) & 1) bitmask[(at + k) >> 3] |= 1 << ((at + k) & 7);
    }
    for (let e = 0; e < part.jumpTable.length; e++) jumpTable.push(part.jumpTable[e] + at);
    at += part.code.length;
  }
  return { code, bitmask, jumpTable };
}
