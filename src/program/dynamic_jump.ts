/**
 * The dynamic-jump rule (`jump_ind`, `load_imm_jump_ind`), written once for every backend.
 * @module
 */
import { HALT_ADDRESS } from "../pvm/mod.ts";

/** `dynamicJumpTarget` result: the jump halts the program. */
export const JUMP_HALTS = -2;

/** `dynamicJumpTarget` result: the jump panics. */
export const JUMP_PANICS = -1;

/**
 * Where a dynamic jump to `address` goes, through `table`, whose entry k serves address
 * 2(k + 1) and holds the destination (an instruction number, or any numbering a backend
 * chooses) or -1 when the entry is no jump target: `HALT_ADDRESS` halts (`JUMP_HALTS`);
 * address 0, an odd address or one past the table panics (`JUMP_PANICS`); otherwise the entry.
 */
export function dynamicJumpTarget(table: Int32Array, address: number): number {
  if (address === HALT_ADDRESS) return JUMP_HALTS;
  if (address === 0 || address > table.length * 2 || (address & 1) !== 0) return JUMP_PANICS;
  return table[(address >>> 1) - 1];
}
