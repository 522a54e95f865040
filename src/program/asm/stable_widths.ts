/**
 * Which branch offsets of a listing need an explicit `:width` so that the assembler lays the
 * code out exactly as the original. The assembler grows unwritten offset widths from 0 until
 * every branch reaches (the least such layout); an original whose branches span each other right
 * at a width threshold can be another, longer layout in which every width is still the shortest
 * for its own distance. Writing the widths of the branches that differ pins the original.
 * @module
 */
import { minImmediateWidth } from "./encoding.ts";

/** One branch offset in a listing. */
export interface BranchField {
  /** Index of the listing item that holds the branch. */
  readonly item: number;
  /** The target in the original code. */
  readonly target: number;
  /** Index of the item the target's label is placed before (the item count for the end), or
   * undefined when the target is written as a plain code offset (which does not move). */
  readonly targetItem: number | undefined;
  /** Bytes of the offset in the original. */
  readonly width: number;
  /** True when the listing writes the width; set here where it must. */
  forced: boolean;
}

/**
 * Sets `forced` on every field the assembler would otherwise encode with another width.
 * `lengths` are the original byte lengths of the listing's items.
 */
export function forceStableWidths(lengths: readonly number[], fields: BranchField[]): void {
  const base = [...lengths];
  for (const f of fields) base[f.item] -= f.width;
  for (let stable = false; !stable;) {
    const widths = fields.map((f) => (f.forced ? f.width : 0));
    const extra = new Array<number>(lengths.length).fill(0);
    fields.forEach((f, i) => (extra[f.item] += widths[i]));
    const pcs = new Array<number>(lengths.length + 1);
    for (let changed = true; changed;) {
      changed = false;
      pcs[0] = 0;
      for (let k = 0; k < lengths.length; k++) pcs[k + 1] = pcs[k] + base[k] + extra[k];
      fields.forEach((f, i) => {
        if (f.forced) return;
        const target = f.targetItem === undefined ? f.target : pcs[f.targetItem];
        const needed = minImmediateWidth(target - pcs[f.item]);
        if (needed <= widths[i]) return;
        extra[f.item] += needed - widths[i];
        widths[i] = needed;
        changed = true;
      });
    }
    stable = true;
    fields.forEach((f, i) => {
      if (f.forced || widths[i] === f.width) return;
      f.forced = true;
      stable = false;
    });
  }
}
