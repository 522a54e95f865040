/**
 * Typed readers for the fields of a conformance vector's JSON, shared by the v0.4 and v0.5
 * formats: each checks one value's shape and range and reports the field's path on failure.
 * @module
 */
import { REGISTER_COUNT } from "../pvm/mod.ts";
import type { JsonValue } from "./json.ts";

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Largest unsigned 64-bit value (a register). */
export const U64_MAX: bigint = (1n << 64n) - 1n;
/** Smallest signed 64-bit value (gas). */
export const I64_MIN: bigint = -(1n << 63n);
/** Largest signed 64-bit value (gas). */
export const I64_MAX: bigint = (1n << 63n) - 1n;

/** A run of bytes at a guest address. */
export interface MemoryChunk {
  /** Guest address of the first byte. */
  readonly address: number;
  /** The bytes. */
  readonly contents: Uint8Array;
}

/** The readers `jsonFields` returns; `what` names the field in error messages. */
export interface JsonFields {
  /** Reports a malformed field; never returns. */
  fail(what: string): never;
  /** A JSON object. */
  object(value: JsonValue | undefined, what: string): JsonObject;
  /** A JSON array. */
  array(value: JsonValue | undefined, what: string): JsonValue[];
  /** An integer in `[min, max]`. */
  integer(value: JsonValue | undefined, what: string, min: bigint, max: bigint): bigint;
  /** An unsigned 32-bit integer. */
  u32(value: JsonValue | undefined, what: string): number;
  /** An array of bytes. */
  bytes(value: JsonValue | undefined, what: string): Uint8Array;
  /** The 13 registers, each an unsigned 64-bit integer. */
  registers(value: JsonValue | undefined, what: string): bigint[];
  /** An array of `{ address, contents }` chunks. */
  chunks(value: JsonValue | undefined, what: string): MemoryChunk[];
  /** `read(value)`, or undefined when the field is absent. */
  optional<T>(value: JsonValue | undefined, read: (value: JsonValue) => T): T | undefined;
}

/** Field readers that report failures through `fail` (which throws). */
export function jsonFields(fail: (what: string) => never): JsonFields {
  const object = (value: JsonValue | undefined, what: string): JsonObject =>
    typeof value === "object" && value !== null && !Array.isArray(value) &&
      typeof value !== "bigint"
      ? value
      : fail(`${what} must be an object`);
  const array = (value: JsonValue | undefined, what: string): JsonValue[] =>
    Array.isArray(value) ? value : fail(`${what} must be an array`);
  const integer = (value: JsonValue | undefined, what: string, min: bigint, max: bigint) => {
    if (typeof value !== "bigint" && !(typeof value === "number" && Number.isInteger(value))) {
      return fail(`${what} must be an integer`);
    }
    const big = BigInt(value);
    if (big < min || big > max) fail(`${what} = ${big} is out of range`);
    return big;
  };
  const u32 = (value: JsonValue | undefined, what: string): number =>
    Number(integer(value, what, 0n, 0xffffffffn));
  const bytes = (value: JsonValue | undefined, what: string): Uint8Array =>
    Uint8Array.from(array(value, what), (b, i) => Number(integer(b, `${what}[${i}]`, 0n, 255n)));
  return {
    fail,
    object,
    array,
    integer,
    u32,
    bytes,
    registers(value, what) {
      const list = array(value, what);
      if (list.length !== REGISTER_COUNT) fail(`${what} must hold ${REGISTER_COUNT} values`);
      return list.map((r, i) => integer(r, `${what}[${i}]`, 0n, U64_MAX));
    },
    chunks(value, what) {
      return array(value, what).map((entry, i) => {
        const chunk = object(entry, `${what}[${i}]`);
        return {
          address: u32(chunk.address, `${what}[${i}].address`),
          contents: bytes(chunk.contents, `${what}[${i}].contents`),
        };
      });
    },
    optional: (value, read) => value === undefined ? undefined : read(value),
  };
}
