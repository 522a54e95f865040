/**
 * The Gray Paper's serialization of naturals: the variable-length codec `E` (1–9 bytes, prefix
 * coded) and the fixed-width little-endian codecs `E_n`.
 *
 * `E(x)` for x < 2^56 is one prefix byte whose count of leading one bits l says how many
 * little-endian bytes follow, holding x mod 2^(8l); the prefix byte's remaining bits carry
 * ⌊x / 2^(8l)⌋. Values from 2^56 up to 2^64 − 1 are the byte 0xFF followed by 8 bytes.
 * @module
 */
import { ProgramError } from "../pvm/mod.ts";

/** The largest value `E` can encode: 2^64 − 1. */
export const MAX_U64: bigint = (1n << 64n) - 1n;

/** The longest encoding `E` produces, in bytes. */
export const MAX_VARINT_LENGTH = 9;

function toU64(value: bigint | number): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`cannot encode ${value}: not a safe integer`);
  }
  const v = BigInt(value);
  if (v < 0n || v > MAX_U64) throw new RangeError(`cannot encode ${v}: outside 0 … 2^64 − 1`);
  return v;
}

/** Encodes a natural below 2^64 with the Gray Paper's variable-length codec `E`. */
export function encodeVarU64(value: bigint | number): Uint8Array {
  const v = toU64(value);
  let l = 0;
  while (l < 8 && v >= 1n << BigInt(7 * (l + 1))) l++;
  if (l === 8) {
    const out = new Uint8Array(9);
    out[0] = 0xff;
    out.set(encodeFixed(v, 8), 1);
    return out;
  }
  const out = new Uint8Array(1 + l);
  const high = Number(v >> BigInt(8 * l));
  out[0] = (0x100 - (0x100 >> l)) + high;
  out.set(encodeFixed(v & ((1n << BigInt(8 * l)) - 1n), l), 1);
  return out;
}

/** Number of bytes `encodeVarU64(value)` produces. */
export function varU64Length(value: bigint | number): number {
  const v = toU64(value);
  let l = 0;
  while (l < 8 && v >= 1n << BigInt(7 * (l + 1))) l++;
  return l + 1;
}

/** Bytes (1…9) an `E` encoding occupies, from its first byte: one plus its leading one bits. */
export function varU64EncodedLength(first: number): number {
  let l = 0;
  while (l < 8 && (first & (0x80 >> l)) !== 0) l++;
  return 1 + l;
}

/**
 * Decodes one `E`-encoded natural at `offset`. Non-canonical encodings (a longer form than
 * needed) are accepted: their value is unambiguous. Throws `ProgramError` when the input ends
 * inside the encoding.
 */
export function decodeVarU64(bytes: Uint8Array, offset: number): { value: bigint; length: number } {
  if (offset >= bytes.length) {
    throw new ProgramError(offset, "input ends where a variable-length number should start");
  }
  const first = bytes[offset];
  const l = varU64EncodedLength(first) - 1;
  if (offset + 1 + l > bytes.length) {
    throw new ProgramError(
      offset,
      `variable-length number needs ${1 + l} bytes but only ${bytes.length - offset} remain`,
    );
  }
  const low = decodeFixedBig(bytes, offset + 1, l);
  const high = l === 8 ? 0n : BigInt(first & ((1 << (7 - l)) - 1));
  return { value: (high << BigInt(8 * l)) | low, length: 1 + l };
}

/** Encodes `value` as `n` little-endian bytes (`E_n`); throws `RangeError` if it does not fit. */
export function encodeFixed(value: bigint | number, n: number): Uint8Array {
  let v = toU64(value);
  if (n < 8 && v >= 1n << BigInt(8 * n)) {
    throw new RangeError(`cannot encode ${v} in ${n} bytes`);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/**
 * Reads `n` (0…6) little-endian bytes at `offset` as a number. The caller checks the bounds;
 * bytes past the end read as 0.
 */
export function decodeFixed(bytes: Uint8Array, offset: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + (bytes[offset + i] ?? 0);
  return v;
}

/** Reads `n` (0…8) little-endian bytes at `offset` as a bigint; bytes past the end read as 0. */
export function decodeFixedBig(bytes: Uint8Array, offset: number, n: number): bigint {
  if (n <= 6) return BigInt(decodeFixed(bytes, offset, n));
  return (BigInt(decodeFixed(bytes, offset + 4, n - 4)) << 32n) |
    BigInt(decodeFixed(bytes, offset, 4));
}
