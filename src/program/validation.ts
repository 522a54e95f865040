/**
 * Whole-blob validation of Gray Paper 0.8 (`deblob`, PVM-0.8.md §3): the code is not empty, the
 * bitmask's padding bits are zero, and the sequential walk from offset 0 meets only set bitmask
 * bits holding valid opcodes until it ends exactly at the end of the code. (The framing — lengths,
 * jump table, nothing after the bitmask — is `parseBlob`'s.)
 * @module
 */
import { isOpcodeStart, skipAt } from "./decoder.ts";
import type { IsaProfile } from "./isa/index.ts";

/** Which rule an invalid blob breaks. */
export type ValidationRule =
  | "empty-code"
  | "bitmask-padding"
  | "no-instruction-at-walk"
  | "invalid-opcode";

/** Why a blob is invalid: the rule and the code offset where the walk found the problem. */
export interface BlobViolation {
  /** The rule broken. */
  readonly rule: ValidationRule;
  /** Code offset (for `bitmask-padding`, the code length). */
  readonly offset: number;
  /** One line for a person. */
  readonly message: string;
}

/** The first rule `code`/`bitmask` break under `profile`, or undefined when the blob is valid. */
export function validateCode(
  blob: { readonly code: Uint8Array; readonly bitmask: Uint8Array },
  profile: IsaProfile,
): BlobViolation | undefined {
  const { code, bitmask } = blob;
  const n = code.length;
  if (n === 0) return { rule: "empty-code", offset: 0, message: "the code is empty" };
  const used = n % 8;
  if (used !== 0 && (bitmask[bitmask.length - 1] >> used) !== 0) {
    return {
      rule: "bitmask-padding",
      offset: n,
      message: "bitmask bits past the end of the code are set",
    };
  }
  for (let i = 0; i < n; i += 1 + skipAt(bitmask, n, i)) {
    if (!isOpcodeStart(bitmask, n, i)) {
      return {
        rule: "no-instruction-at-walk",
        offset: i,
        message: `code offset ${i} follows 25 bytes without an instruction bit`,
      };
    }
    if (profile.decodeTable[code[i]] < 0) {
      return {
        rule: "invalid-opcode",
        offset: i,
        message: `opcode ${code[i]} at code offset ${i} is not an instruction of ${profile.name}`,
      };
    }
  }
  return undefined;
}
