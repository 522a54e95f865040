/**
 * JAM service code: `E(|m|) ‖ m ‖ standard program`, where m is free-form metadata. JIP-6 gives
 * m a conventional layout — `[0] ‖ name ‖ version ‖ licence ‖ E(|authors|) ‖ authors`, each
 * string `E(|s|) ‖ UTF-8 bytes`, anything after ignored — which `decodeServiceMetadata` reads.
 * @module
 */
import { concatBytes } from "./blob.ts";
import { ProgramError } from "../pvm/mod.ts";
import { ByteReader } from "./reader.ts";
import {
  encodeStandardProgram,
  hasStandardFraming,
  parseStandardProgram,
  type StandardProgram,
} from "./standard.ts";
import { decodeVarU64, encodeVarU64, varU64EncodedLength } from "./varint.ts";

/** A parsed service code blob: the metadata bytes and the standard program after them. */
export interface ServiceCode {
  /** The metadata m, as stored. */
  readonly metadata: Uint8Array;
  /** The standard program that follows the metadata. */
  readonly program: StandardProgram;
}

/** Metadata in the JIP-6 conventional layout. */
export interface ServiceMetadata {
  /** Program name. */
  readonly name: string;
  /** Program version. */
  readonly version: string;
  /** Licence. */
  readonly licence: string;
  /** Authors. */
  readonly authors: readonly string[];
}

/** Parses service code spanning all of `bytes`; `baseOffset` shifts the offsets in errors. */
export function parseServiceCode(bytes: Uint8Array, baseOffset = 0): ServiceCode {
  const r = new ByteReader(bytes, baseOffset);
  const metadata = r.take(r.varLength("metadata length"), "metadata");
  const programAt = r.offset;
  const program = parseStandardProgram(r.take(r.remaining, "standard program"), programAt);
  return { metadata, program };
}

/**
 * True when `bytes` have service code's framing: the metadata length fits, and a standard
 * program's framing follows the metadata. Every input `parseServiceCode` accepts has it, so
 * autodetection can rule the container out cheaply.
 */
export function hasServiceFraming(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || varU64EncodedLength(bytes[0]) > bytes.length) return false;
  const { value, length } = decodeVarU64(bytes, 0);
  if (value > BigInt(bytes.length - length)) return false;
  return hasStandardFraming(bytes, length + Number(value));
}

/** Encodes service code from metadata bytes and a standard program (encoded or parts). */
export function encodeServiceCode(
  metadata: Uint8Array,
  program: Uint8Array | Parameters<typeof encodeStandardProgram>[0],
): Uint8Array {
  const body = program instanceof Uint8Array ? program : encodeStandardProgram(program);
  return concatBytes([encodeVarU64(metadata.length), metadata, body]);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function readString(r: ByteReader, what: string): string {
  const length = r.varLength(`${what} length`);
  const at = r.position;
  try {
    return utf8.decode(r.take(length, what));
  } catch (error) {
    if (error instanceof ProgramError) throw error;
    throw r.error(`${what} is not valid UTF-8`, at);
  }
}

/**
 * Reads metadata in the JIP-6 layout; throws `ProgramError` when the bytes do not follow it
 * (metadata is free-form, so callers treat that as "not conventional", not as a bad program).
 */
export function decodeServiceMetadata(metadata: Uint8Array, baseOffset = 0): ServiceMetadata {
  const r = new ByteReader(metadata, baseOffset);
  const tag = r.u8("metadata format tag");
  if (tag !== 0) throw r.error(`metadata format tag is ${tag}, not 0`, 0);
  const name = readString(r, "program name");
  const version = readString(r, "version");
  const licence = readString(r, "licence");
  const count = r.varLength("author count", 1, "authors");
  const authors: string[] = [];
  for (let i = 0; i < count; i++) authors.push(readString(r, `author ${i + 1}`));
  return { name, version, licence, authors };
}

/** Encodes metadata in the JIP-6 layout. */
export function encodeServiceMetadata(m: ServiceMetadata): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [Uint8Array.of(0)];
  const pushString = (s: string) => {
    const bytes = encoder.encode(s);
    parts.push(encodeVarU64(bytes.length), bytes);
  };
  pushString(m.name);
  pushString(m.version);
  pushString(m.licence);
  parts.push(encodeVarU64(m.authors.length));
  for (const author of m.authors) pushString(author);
  return concatBytes(parts);
}
