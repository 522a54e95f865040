/**
 * The JAM standard program `Y(p)`: `E3(|o|) ‖ E3(|w|) ‖ E2(z) ‖ E3(s) ‖ o ‖ w ‖ E4(|c|) ‖ c` —
 * read-only data o, read-write data w, z extra heap pages, stack size s, then the raw blob c.
 * @module
 */
import { concatBytes, encodeBlob, parseBlob, type RawBlob } from "./blob.ts";
import { ByteReader } from "./reader.ts";
import { decodeFixed, encodeFixed } from "./varint.ts";

/** A parsed standard program: the initial memory description and the raw blob. */
export interface StandardProgram {
  /** Read-only data o, mapped at 0x10000. */
  readonly roData: Uint8Array;
  /** Read-write data w, mapped after the read-only zone. */
  readonly rwData: Uint8Array;
  /** z: extra zeroed heap pages after the read-write data. */
  readonly heapPages: number;
  /** s: stack size in bytes. */
  readonly stackSize: number;
  /** The code, bitmask and jump table. */
  readonly blob: RawBlob;
}

/**
 * Parses a standard program spanning all of `bytes`; `baseOffset` shifts the offsets in errors.
 * The data and code are views into `bytes`.
 */
export function parseStandardProgram(bytes: Uint8Array, baseOffset = 0): StandardProgram {
  const r = new ByteReader(bytes, baseOffset);
  const roLength = r.fixed(3, "read-only data length");
  const rwLength = r.fixed(3, "read-write data length");
  const heapPages = r.fixed(2, "heap page count");
  const stackSize = r.fixed(3, "stack size");
  const roData = r.take(roLength, "read-only data");
  const rwData = r.take(rwLength, "read-write data");
  const blobLengthAt = r.position;
  const blobLength = r.fixed(4, "code blob length");
  if (blobLength !== r.remaining) {
    const reason = `code blob length is ${blobLength} bytes but ${r.remaining} bytes follow it`;
    throw blobLength > r.remaining
      ? r.shortError(reason, blobLengthAt)
      : r.error(reason, blobLengthAt);
  }
  const blobAt = r.offset;
  const blob = parseBlob(r.take(blobLength, "code blob"), blobAt);
  return { roData, rwData, heapPages, stackSize, blob };
}

/** Bytes of the fixed-width header fields: |o|, |w|, z and s. */
const HEADER_BYTES = 3 + 3 + 2 + 3;

/**
 * True when the bytes from `start` on have a standard program's framing: the header and data
 * fit, and the code blob length field says exactly how many bytes follow it. Every input
 * `parseStandardProgram` accepts has it, so autodetection can rule the container out cheaply.
 */
export function hasStandardFraming(bytes: Uint8Array, start = 0): boolean {
  const length = bytes.length - start;
  if (length < HEADER_BYTES) return false;
  const blobLengthAt = HEADER_BYTES + decodeFixed(bytes, start, 3) +
    decodeFixed(bytes, start + 3, 3);
  if (blobLengthAt + 4 > length) return false;
  return decodeFixed(bytes, start + blobLengthAt, 4) === length - blobLengthAt - 4;
}

function checkField(name: string, value: number, bytes: number): void {
  const max = 2 ** (8 * bytes) - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer in 0…${max}, not ${value}`);
  }
}

/**
 * Encodes a standard program. `blob` is either an encoded raw blob or a parsed one. Throws
 * `RangeError` when a size does not fit its field.
 */
export function encodeStandardProgram(p: {
  roData: Uint8Array;
  rwData: Uint8Array;
  heapPages: number;
  stackSize: number;
  blob: Uint8Array | RawBlob;
}): Uint8Array {
  const blob = p.blob instanceof Uint8Array ? p.blob : encodeBlob(p.blob);
  checkField("read-only data length", p.roData.length, 3);
  checkField("read-write data length", p.rwData.length, 3);
  checkField("heap page count", p.heapPages, 2);
  checkField("stack size", p.stackSize, 3);
  checkField("code blob length", blob.length, 4);
  return concatBytes([
    encodeFixed(p.roData.length, 3),
    encodeFixed(p.rwData.length, 3),
    encodeFixed(p.heapPages, 2),
    encodeFixed(p.stackSize, 3),
    p.roData,
    p.rwData,
    encodeFixed(blob.length, 4),
    blob,
  ]);
}
