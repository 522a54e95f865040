/**
 * Whole-blob validation of Gray Paper 0.8 (`deblob`, PVM-0.8.md §3): the code is not empty, the
 * bitmask's padding bits are zero, and the sequential walk from offset 0 meets only set bitmask
 * bits holding valid opcodes until it ends exactly at the end of the code. (The framing — lengths,
 * jump table, nothing after the bitmask — is `parseBlob`'s.)
 * @module
 */
import { isOpcodeStart, MAX_SKIP, nextOpcodeStart } from "./decoder.ts";
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
  const framing = framingViolation(blob);
  if (framing !== undefined) return framing;
  const { code, bitmask } = blob;
  const n = code.length;
  // From opcode to opcode: each must be followed by the next within 1 + 24 bytes.
  for (let i = 0; i < n;) {
    if (!isOpcodeStart(bitmask, n, i) || profile.decodeTable[code[i]] < 0) {
      return walkViolationAt(blob, i, profile);
    }
    const next = nextOpcodeStart(bitmask, n, i + 1);
    i = next - i - 1 > MAX_SKIP ? i + 1 + MAX_SKIP : next;
  }
  return undefined;
}

/** The rule the code's length or the bitmask's padding breaks, if any (checked before the walk). */
export function framingViolation(
  blob: { readonly code: Uint8Array; readonly bitmask: Uint8Array },
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
  return undefined;
}

/**
 * Why the walk stops at code offset `at`, a position it reached with no instruction bit or with
 * an opcode that is no instruction of `profile`.
 */
export function walkViolationAt(
  blob: { readonly code: Uint8Array; readonly bitmask: Uint8Array },
  at: number,
  profile: IsaProfile,
): BlobViolation {
  const { code, bitmask } = blob;
  if (!isOpcodeStart(bitmask, code.length, at)) {
    return {
      rule: "no-instruction-at-walk",
      offset: at,
      message: `code offset ${at} follows 25 bytes without an instruction bit`,
    };
  }
  return {
    rule: "invalid-opcode",
    offset: at,
    message: `opcode ${code[at]} at code offset ${at} is not an instruction of ${profile.name}`,
  };
}
