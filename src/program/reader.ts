/**
 * A bounds-checked cursor over untrusted bytes. Every read checks the remaining input first, so
 * a length field can never make the parser allocate or slice past the end; every failure is a
 * `ProgramError` at the absolute offset of the field that was being read.
 * @module
 */
import { ProgramError } from "../pvm/mod.ts";
import { decodeFixed, decodeFixedBig, decodeVarU64 } from "./varint.ts";

/** Reads the fields of a binary format front to back. */
export class ByteReader {
  /** The input being read. */
  readonly bytes: Uint8Array;
  /** Added to positions in errors, so nested formats report offsets in the outer input. */
  readonly baseOffset: number;
  /** Index of the next byte to read. */
  position = 0;

  /** Starts reading `bytes` at position 0; errors report `baseOffset + position`. */
  constructor(bytes: Uint8Array, baseOffset = 0) {
    this.bytes = bytes;
    this.baseOffset = baseOffset;
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.length - this.position;
  }

  /** Absolute offset of the cursor (for error messages). */
  get offset(): number {
    return this.baseOffset + this.position;
  }

  /** A `ProgramError` at absolute offset `baseOffset + at` (the cursor by default). */
  error(reason: string, at: number = this.position): ProgramError {
    return new ProgramError(this.baseOffset + at, reason);
  }

  /** A `ProgramError` for bytes that ran out (`reason`), at `at` (the cursor by default). */
  shortError(reason: string, at: number = this.position): ProgramError {
    return new ProgramError(this.baseOffset + at, reason, this.baseOffset + this.bytes.length);
  }

  /** Throws unless `n` more bytes are available for `what`. */
  need(n: number, what: string): void {
    if (n > this.remaining) {
      throw this.shortError(`${what} needs ${n} bytes but only ${this.remaining} remain`);
    }
  }

  /** Reads one byte. */
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.position++];
  }

  /** Reads an `n`-byte (0…6) little-endian number (`E_n`). */
  fixed(n: number, what: string): number {
    this.need(n, what);
    const v = decodeFixed(this.bytes, this.position, n);
    this.position += n;
    return v;
  }

  /** Reads an 8-byte little-endian number. */
  u64(what: string): bigint {
    this.need(8, what);
    const v = decodeFixedBig(this.bytes, this.position, 8);
    this.position += 8;
    return v;
  }

  /** Reads a Gray Paper variable-length number (`E`) as a bigint. */
  varU64(what: string): bigint {
    const at = this.position;
    try {
      const { value, length } = decodeVarU64(this.bytes, at);
      this.position += length;
      return value;
    } catch (error) {
      if (error instanceof ProgramError) throw this.error(`${what}: ${error.reason}`, at);
      throw error;
    }
  }

  /**
   * Reads an `E`-encoded count of `unit`s of at least `unitSize` (≥ 1) bytes each that must fit
   * in the bytes left after it, so no later read or allocation can exceed the input.
   */
  varLength(what: string, unitSize = 1, unit = "bytes"): number {
    const at = this.position;
    const value = this.varU64(what);
    if (value > BigInt(Math.floor(this.remaining / unitSize))) {
      throw this.shortError(
        `${what} is ${value} ${unit} but only ${this.remaining} bytes remain after it`,
        at,
      );
    }
    return Number(value);
  }

  /** Returns the next `n` bytes as a view (no copy) and moves past them. */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.position, this.position + n);
    this.position += n;
    return out;
  }

  /** Throws if any bytes are left: the format ends here. */
  expectEnd(what: string): void {
    if (this.remaining > 0) {
      throw this.error(`${this.remaining} unexpected trailing byte(s) after ${what}`);
    }
  }
}
