/**
 * The raw program blob (the Gray Paper's `deblob` input, what the conformance vectors' `program`
 * field holds): `E(|j|) ‖ E1(z) ‖ E(|c|) ‖ E_z(j) ‖ c ‖ k`.
 *
 * Jump-table entries are not checked against the code here: the Gray Paper makes a dynamic jump
 * to an entry that is no basic-block start a panic at run time, so such a blob is still valid.
 * @module
 */
import { ByteReader } from "./reader.ts";
import { encodeFixed, encodeVarU64 } from "./varint.ts";

/** Most jump-table entries accepted (PolkaVM's limit too); bounds the table's allocation. */
export const MAX_JUMP_TABLE_ENTRIES: number = 1 << 24;

/**
 * Most entries of a table with 0-byte entries (each reads as pc 0). Such entries take no input
 * bytes, so this bound is what keeps a few input bytes from allocating a 64 MiB table.
 */
export const MAX_ZERO_WIDTH_ENTRIES: number = 1 << 16;

/** Widest jump-table entry, in bytes. */
export const MAX_JUMP_TABLE_ENTRY_SIZE = 4;

/** A parsed raw blob: code, opcode bitmask and jump table. */
export interface RawBlob {
  /** Jump-table entries (code offsets). */
  readonly jumpTable: Uint32Array;
  /** z: bytes per jump-table entry, 0…4. */
  readonly jumpTableEntrySize: number;
  /** The code bytes. */
  readonly code: Uint8Array;
  /** One bit per code byte (least significant first): 1 where an instruction starts; ⌈|c|/8⌉ bytes. */
  readonly bitmask: Uint8Array;
}

/** Bytes the bitmask of `codeLength` code bytes occupies. */
export function bitmaskLength(codeLength: number): number {
  return Math.ceil(codeLength / 8);
}

/**
 * Parses a raw blob that spans all of `bytes` (nothing may follow the bitmask). `baseOffset` is
 * added to the offsets in errors when the blob sits inside a larger container. The returned
 * code and bitmask are views into `bytes`.
 */
export function parseBlob(bytes: Uint8Array, baseOffset = 0): RawBlob {
  const r = new ByteReader(bytes, baseOffset);
  const entryCountAt = r.position;
  const entryCount = r.varU64("jump-table entry count");
  const sizeAt = r.position;
  const entrySize = r.u8("jump-table entry size");
  if (entrySize > MAX_JUMP_TABLE_ENTRY_SIZE) {
    throw r.error(`jump-table entry size is ${entrySize} bytes; at most 4 is allowed`, sizeAt);
  }
  const entryLimit = entrySize === 0 ? MAX_ZERO_WIDTH_ENTRIES : MAX_JUMP_TABLE_ENTRIES;
  if (entryCount > BigInt(entryLimit)) {
    throw r.error(
      `jump table has ${entryCount} entries of ${entrySize} bytes, more than the limit ` +
        `${entryLimit}`,
      entryCountAt,
    );
  }
  const codeLengthAt = r.position;
  const codeLength = r.varU64("code length");
  const tableBytes = Number(entryCount) * entrySize;
  if (tableBytes > r.remaining) {
    throw r.shortError(
      `jump table of ${entryCount} × ${entrySize}-byte entries needs ${tableBytes} bytes but ` +
        `only ${r.remaining} remain`,
      entryCountAt,
    );
  }
  const table = r.take(tableBytes, "jump table");
  if (codeLength > BigInt(r.remaining)) {
    throw r.shortError(
      `code length is ${codeLength} bytes but only ${r.remaining} remain after the jump table`,
      codeLengthAt,
    );
  }
  const jumpTable = new Uint32Array(Number(entryCount));
  for (let i = 0, at = 0; i < jumpTable.length; i++, at += entrySize) {
    let v = 0;
    for (let k = entrySize - 1; k >= 0; k--) v = v * 256 + table[at + k];
    jumpTable[i] = v;
  }
  const code = r.take(Number(codeLength), "code");
  const maskLength = bitmaskLength(code.length);
  if (maskLength > r.remaining) {
    throw r.shortError(
      `opcode bitmask for ${code.length} code bytes needs ${maskLength} bytes but only ` +
        `${r.remaining} remain`,
    );
  }
  const bitmask = r.take(maskLength, "opcode bitmask");
  r.expectEnd("the opcode bitmask");
  return { jumpTable, jumpTableEntrySize: entrySize, code, bitmask };
}

/** Smallest entry size (0…4 bytes) that holds every value of `jumpTable`. */
export function jumpTableEntrySizeFor(jumpTable: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < jumpTable.length; i++) max = Math.max(max, jumpTable[i]);
  let size = 0;
  while (size < MAX_JUMP_TABLE_ENTRY_SIZE && max >= 2 ** (8 * size)) size++;
  return size;
}

/**
 * Encodes a raw blob. The entry size is the smallest that fits unless given. Throws `RangeError`
 * when an entry does not fit the size, an entry is no 32-bit natural, or the bitmask length is
 * not ⌈|c|/8⌉.
 */
export function encodeBlob(blob: {
  jumpTable: ArrayLike<number>;
  code: Uint8Array;
  bitmask: Uint8Array;
  jumpTableEntrySize?: number;
}): Uint8Array {
  const { jumpTable, code, bitmask } = blob;
  const entrySize = blob.jumpTableEntrySize ?? jumpTableEntrySizeFor(jumpTable);
  if (!Number.isInteger(entrySize) || entrySize < 0 || entrySize > MAX_JUMP_TABLE_ENTRY_SIZE) {
    throw new RangeError(`jump-table entry size must be 0…4, not ${entrySize}`);
  }
  if (bitmask.length !== bitmaskLength(code.length)) {
    throw new RangeError(
      `bitmask must be ${bitmaskLength(code.length)} bytes for ${code.length} code bytes, ` +
        `not ${bitmask.length}`,
    );
  }
  const parts: Uint8Array[] = [
    encodeVarU64(jumpTable.length),
    Uint8Array.of(entrySize),
    encodeVarU64(code.length),
  ];
  for (let i = 0; i < jumpTable.length; i++) {
    const entry = jumpTable[i];
    if (!Number.isInteger(entry) || entry < 0 || entry > 0xffffffff) {
      throw new RangeError(`jump-table entry ${i} (${entry}) is not a 32-bit natural`);
    }
    parts.push(encodeFixed(entry, entrySize));
  }
  parts.push(code, bitmask);
  return concatBytes(parts);
}

/** Joins byte arrays into one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
