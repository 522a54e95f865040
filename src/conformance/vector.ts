/**
 * JAM PVM test vectors (schema v0.4): reading and validating one vector file into typed values
 * with registers and gas as exact `bigint`s.
 * @module
 */
import { type JsonValue, parseJson } from "./json.ts";
import { I64_MAX, I64_MIN, jsonFields, type MemoryChunk } from "./json_fields.ts";
import type { ExitKind } from "../pvm/mod.ts";

export type { MemoryChunk } from "./json_fields.ts";

/** An accessible region of the initial memory (zero-filled). */
export interface PageMapEntry {
  /** First address (page aligned in practice). */
  readonly address: number;
  /** Length in bytes. */
  readonly length: number;
  /** True for read-write, false for read-only. */
  readonly writable: boolean;
}

/** The machine state a vector starts from and must end in. */
export interface PvmVector {
  /** Test id. */
  readonly name: string;
  /** The raw program blob. */
  readonly program: Uint8Array;
  /** The 13 registers before the run. */
  readonly initialRegs: readonly bigint[];
  /** Start pc. */
  readonly initialPc: number;
  /** Start gas. */
  readonly initialGas: bigint;
  /** Accessible regions; everything else is inaccessible. */
  readonly initialPageMap: readonly PageMapEntry[];
  /** Non-zero initial memory contents. */
  readonly initialMemory: readonly MemoryChunk[];
  /** How the run must end (the schema uses `panic`, `halt` and `page-fault`). */
  readonly expectedStatus: ExitKind;
  /** The 13 registers after the run. */
  readonly expectedRegs: readonly bigint[];
  /** The pc of the instruction that ended the run. */
  readonly expectedPc: number;
  /** Gas left after the run. */
  readonly expectedGas: bigint;
  /** Every non-zero byte of accessible memory after the run. */
  readonly expectedMemory: readonly MemoryChunk[];
  /** Page base of the fault, only for `page-fault`. */
  readonly expectedPageFaultAddress?: number;
}

/** Raised when a vector file does not follow the schema; names the file and field. */
export class VectorFormatError extends Error {
  /** Creates an error saying which field of which vector is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "VectorFormatError";
  }
}

const STATUSES: readonly ExitKind[] = ["halt", "panic", "page-fault", "out-of-gas", "host-call"];

/** Parses the text of one vector file. `source` (e.g. the file name) appears in errors. */
export function parseVector(text: string, source = "vector"): PvmVector {
  return vectorFromJson(parseJson(text), source);
}

/** Validates an already parsed JSON value as a vector. */
export function vectorFromJson(json: JsonValue, source = "vector"): PvmVector {
  const fail = (what: string): never => {
    throw new VectorFormatError(`${source}: ${what}`);
  };
  const { object, array, integer, u32, bytes, registers, chunks } = jsonFields(fail);

  const root = object(json, "the vector");
  const name = typeof root.name === "string" ? root.name : fail("name must be a string");
  const status = root["expected-status"];
  if (typeof status !== "string" || !STATUSES.includes(status as ExitKind)) {
    fail(`expected-status must be one of ${STATUSES.join(", ")}`);
  }
  const expectedStatus = status as ExitKind;
  const faultAddress = root["expected-page-fault-address"];
  if (expectedStatus === "page-fault" && faultAddress === undefined) {
    fail("a page-fault vector needs expected-page-fault-address");
  }
  return {
    name,
    program: bytes(root.program, "program"),
    initialRegs: registers(root["initial-regs"], "initial-regs"),
    initialPc: u32(root["initial-pc"], "initial-pc"),
    initialGas: integer(root["initial-gas"], "initial-gas", I64_MIN, I64_MAX),
    initialPageMap: array(root["initial-page-map"], "initial-page-map").map((entry, i) => {
      const region = object(entry, `initial-page-map[${i}]`);
      const writable = region["is-writable"];
      if (typeof writable !== "boolean") fail(`initial-page-map[${i}].is-writable must be boolean`);
      return {
        address: u32(region.address, `initial-page-map[${i}].address`),
        length: u32(region.length, `initial-page-map[${i}].length`),
        writable: writable as boolean,
      };
    }),
    initialMemory: chunks(root["initial-memory"], "initial-memory"),
    expectedStatus,
    expectedRegs: registers(root["expected-regs"], "expected-regs"),
    expectedPc: u32(root["expected-pc"], "expected-pc"),
    expectedGas: integer(root["expected-gas"], "expected-gas", I64_MIN, I64_MAX),
    expectedMemory: chunks(root["expected-memory"], "expected-memory"),
    ...(faultAddress === undefined ? {} : {
      expectedPageFaultAddress: u32(faultAddress, "expected-page-fault-address"),
    }),
  };
}
