/**
 * Fusion of adjacent PVM instructions: pairs in one basic block that x86-64 does in fewer
 * instructions than the two lowered apart. A pair fuses only when its second instruction can
 * neither fault nor exit, so every exit inside the fused code belongs to the first one and
 * finds the guest registers as the interpreter would. The code generator keeps entry at the
 * second instruction exact with an out-of-line copy of it that jumps back after the pair.
 * @module
 */
import { Op } from "../program/isa/index.ts";
import type { ProgramAnalysis } from "../program/analysis.ts";
import type { X64 } from "./x64/assembler.ts";

/** The fused pairs (`none`: instruction i is lowered on its own). */
export const Fusion = {
  none: 0,
  /**
   * `shlo_l_imm_64 r, s, k` (k = 1…3), then `add_64 r, r, base` (or `base, r`): one
   * `lea r, [base + s << k]`, as in a table lookup.
   */
  scaledAdd: 1,
  /**
   * `shlo_l_imm_64 r, s, k` then `shlo_r_imm_64 r, r, k` (or `shar_r_imm_64`) for k = 32, 48
   * or 56: zero- (or sign-) extending the low 32, 16 or 8 bits of s, one `mov`/`movzx`/`movsx`.
   */
  extension: 2,
} as const;

/** Largest shift an x86 address scales its index by (× 8). */
const MAX_SCALE_LOG2 = 3;

/** The fused pair that instruction `i` starts with the next one, or `Fusion.none`. */
export function fusionAt(p: ProgramAnalysis, i: number): number {
  // Every pair starts with a left shift: one test for most instructions.
  const op = p.op;
  if (op[i] !== Op.shlo_l_imm_64 || i + 1 >= p.count || p.blockStart[i + 1] === 1) {
    return Fusion.none;
  }
  const { ra, rb, rd } = p;
  if (op[i + 1] === Op.add_64) {
    const r = ra[i], k = p.x[i] & 63;
    // Exactly one operand of the add is r (r + r is no scaled index plus a base).
    if (
      k >= 1 && k <= MAX_SCALE_LOG2 && rd[i + 1] === r && (ra[i + 1] === r) !== (rb[i + 1] === r)
    ) {
      return Fusion.scaledAdd;
    }
  }
  if (
    (op[i + 1] === Op.shlo_r_imm_64 || op[i + 1] === Op.shar_r_imm_64) &&
    ra[i + 1] === ra[i] && rb[i + 1] === ra[i] && EXTENDED_WIDTH[p.x[i] & 63] !== undefined &&
    (p.x[i] & 63) === (p.x[i + 1] & 63)
  ) return Fusion.extension;
  return Fusion.none;
}

/** Bits kept by a shift pair that extends (shift count → width of the kept low part). */
const EXTENDED_WIDTH: Readonly<Record<number, 8 | 16 | 32>> = { 32: 32, 48: 16, 56: 8 };

/**
 * Emits the fused pair `kind` of instructions i and i + 1 (as `fusionAt` found it); `guest`
 * maps PVM registers to x86 ones.
 */
export function emitFused(
  asm: X64,
  p: ProgramAnalysis,
  guest: Int8Array,
  kind: number,
  i: number,
): void {
  switch (kind) {
    case Fusion.scaledAdd: {
      const r = p.ra[i], base = p.ra[i + 1] === r ? p.rb[i + 1] : p.ra[i + 1];
      return asm.leaRR(true, guest[r], guest[base], guest[p.rb[i]], p.x[i] & 63);
    }
    case Fusion.extension: {
      const r = guest[p.ra[i]], s = guest[p.rb[i]];
      const signed = p.op[i + 1] === Op.shar_r_imm_64;
      switch (EXTENDED_WIDTH[p.x[i] & 63]) {
        case 32:
          return signed ? asm.movsxd(r, s) : asm.movRR(false, r, s);
        case 16:
          return signed ? asm.movsx16(r, s) : asm.movzx16(r, s);
        default:
          return signed ? asm.movsx8(r, s) : asm.movzx8(r, s);
      }
    }
    default:
      throw new Error(`unknown fusion ${kind}`);
  }
}
