/**
 * JAM PVM test vectors as a list of steps (schema v0.5, the Gray Paper 0.8 vectors: `set-reg`,
 * `map`, `write`, `run`, `assert`, plus the cost of every basic block). A v0.4 vector (one run
 * from an initial state to an expected one) is the same thing with a fixed list of steps, so
 * both formats are read into `StepVector` and run by one runner.
 * @module
 */
import type { IsaName } from "../program/isa/index.ts";
import { type ExitKind, REGISTER_COUNT } from "../pvm/mod.ts";
import { type JsonValue, parseJson } from "./json.ts";
import { type MemoryChunk, type PvmVector, VectorFormatError, vectorFromJson } from "./vector.ts";

/** What an `assert` step checks; absent fields are not checked. */
export interface Expectation {
  /** How the last run ended. */
  readonly status: ExitKind;
  /** The 13 registers. */
  readonly regs?: readonly bigint[];
  /** The pc of the instruction that ended the run (or where the gas charge failed). */
  readonly pc?: number;
  /** Gas left. */
  readonly gas?: bigint;
  /** Every non-zero byte of the mapped pages (no other mapped byte may be non-zero). */
  readonly memory?: readonly MemoryChunk[];
  /** Page base of the fault, for `page-fault`. */
  readonly pageFaultAddress?: number;
  /** The `ecalli` immediate, for `host-call`. */
  readonly hostCall?: number;
}

/** One step of a vector. */
export type Step =
  | { readonly kind: "set-reg"; readonly reg: number; readonly value: bigint }
  | {
    readonly kind: "map";
    readonly address: number;
    readonly length: number;
    readonly writable: boolean;
  }
  | { readonly kind: "write"; readonly address: number; readonly contents: Uint8Array }
  | { readonly kind: "run" }
  | { readonly kind: "assert"; readonly expect: Expectation };

/** The cost of one basic block, as a vector lists it. */
export interface BlockGasCost {
  /** Code offset of the block start. */
  readonly pc: number;
  /** Gas charged on entering it. */
  readonly cost: number;
}

/** A vector in step form. */
export interface StepVector {
  /** Test id. */
  readonly name: string;
  /** The raw program blob. */
  readonly program: Uint8Array;
  /** The ISA the vector is written for: `jam-0.7` for v0.4, `jam-0.8` for v0.5. */
  readonly isa: IsaName;
  /** Where the first run starts (registers start at 0, no memory is mapped). */
  readonly initialPc: number;
  /** Gas before the first run. */
  readonly initialGas: bigint;
  /** The cost of every basic block (v0.5), or undefined when the vector lists none. */
  readonly blockGasCosts?: readonly BlockGasCost[];
  /** The steps, in order. */
  readonly steps: readonly Step[];
}

const STATUSES: Readonly<Record<string, ExitKind>> = {
  panic: "panic",
  halt: "halt",
  "page-fault": "page-fault",
  "out-of-gas": "out-of-gas",
  ecalli: "host-call",
};
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

type JsonObject = { [key: string]: JsonValue };

/** Reads one vector file of either schema; `source` (e.g. the file name) appears in errors. */
export function parseAnyVector(text: string, source = "vector"): StepVector {
  const json = parseJson(text);
  const isSteps = typeof json === "object" && json !== null && !Array.isArray(json) &&
    typeof json !== "bigint" && "steps" in json;
  return isSteps ? stepVectorFromJson(json, source) : stepsOf(vectorFromJson(json, source));
}

/** The v0.4 vector `v` as steps: map, write, set the registers, run once, assert everything. */
export function stepsOf(v: PvmVector): StepVector {
  const steps: Step[] = [
    ...v.initialPageMap.map((r) => ({ kind: "map" as const, ...r })),
    ...v.initialMemory.map((c) => ({ kind: "write" as const, ...c })),
    ...v.initialRegs.map((value, reg) => ({ kind: "set-reg" as const, reg, value })),
    { kind: "run" },
    {
      kind: "assert",
      expect: {
        status: v.expectedStatus,
        regs: v.expectedRegs,
        pc: v.expectedPc,
        gas: v.expectedGas,
        memory: v.expectedMemory,
        pageFaultAddress: v.expectedPageFaultAddress,
      },
    },
  ];
  return {
    name: v.name,
    program: v.program,
    isa: "jam-0.7",
    initialPc: v.initialPc,
    initialGas: v.initialGas,
    steps,
  };
}

/** Validates an already parsed JSON value as a v0.5 (steps) vector. */
export function stepVectorFromJson(json: JsonValue, source = "vector"): StepVector {
  const fail = (what: string): never => {
    throw new VectorFormatError(`${source}: ${what}`);
  };
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
  const optional = <T>(value: JsonValue | undefined, read: (v: JsonValue) => T): T | undefined =>
    value === undefined ? undefined : read(value);
  const bytes = (value: JsonValue | undefined, what: string): Uint8Array =>
    Uint8Array.from(array(value, what), (b, i) => Number(integer(b, `${what}[${i}]`, 0n, 255n)));

  const expectation = (value: JsonValue, what: string): Expectation => {
    const a = object(value, what);
    const status = typeof a.status === "string" && Object.hasOwn(STATUSES, a.status)
      ? STATUSES[a.status]
      : fail(`${what}.status must be one of ${Object.keys(STATUSES).join(", ")}`);
    return {
      status,
      regs: optional(a.regs, (v) => {
        const list = array(v, `${what}.regs`);
        if (list.length !== REGISTER_COUNT) fail(`${what}.regs must hold ${REGISTER_COUNT} values`);
        return list.map((r, i) => integer(r, `${what}.regs[${i}]`, 0n, U64_MAX));
      }),
      pc: optional(a.pc, (v) => u32(v, `${what}.pc`)),
      gas: optional(a.gas, (v) => integer(v, `${what}.gas`, I64_MIN, I64_MAX)),
      memory: optional(a.memory, (v) =>
        array(v, `${what}.memory`).map((entry, i) => {
          const chunk = object(entry, `${what}.memory[${i}]`);
          return {
            address: u32(chunk.address, `${what}.memory[${i}].address`),
            contents: bytes(chunk.contents, `${what}.memory[${i}].contents`),
          };
        })),
      pageFaultAddress: optional(
        a["page-fault-address"],
        (v) => u32(v, `${what}.page-fault-address`),
      ),
      hostCall: optional(a.hostcall, (v) => u32(v, `${what}.hostcall`)),
    };
  };

  const step = (value: JsonValue, i: number): Step => {
    const entry = object(value, `steps[${i}]`);
    const keys = Object.keys(entry);
    if (keys.length !== 1) fail(`steps[${i}] must have exactly one key`);
    const what = `steps[${i}].${keys[0]}`;
    const body = entry[keys[0]];
    switch (keys[0]) {
      case "run":
        object(body, what);
        return { kind: "run" };
      case "assert":
        return { kind: "assert", expect: expectation(body, what) };
      case "set-reg": {
        const s = object(body, what);
        return {
          kind: "set-reg",
          reg: Number(integer(s.reg, `${what}.reg`, 0n, BigInt(REGISTER_COUNT - 1))),
          value: integer(s.value, `${what}.value`, 0n, U64_MAX),
        };
      }
      case "map": {
        const s = object(body, what);
        const writable = s["is-writable"];
        if (typeof writable !== "boolean") fail(`${what}.is-writable must be boolean`);
        return {
          kind: "map",
          address: u32(s.address, `${what}.address`),
          length: u32(s.length, `${what}.length`),
          writable: writable as boolean,
        };
      }
      case "write": {
        const s = object(body, what);
        return {
          kind: "write",
          address: u32(s.address, `${what}.address`),
          contents: bytes(s.contents, `${what}.contents`),
        };
      }
      default:
        return fail(`steps[${i}]: unknown step '${keys[0]}'`);
    }
  };

  const root = object(json, "the vector");
  const name = typeof root.name === "string" ? root.name : fail("name must be a string");
  return {
    name,
    program: bytes(root.program, "program"),
    isa: "jam-0.8",
    initialPc: u32(root["initial-pc"], "initial-pc"),
    initialGas: integer(root["initial-gas"], "initial-gas", I64_MIN, I64_MAX),
    blockGasCosts: optional(
      root["block-gas-costs"],
      (v) =>
        array(v, "block-gas-costs").map((entry, i) => {
          const e = object(entry, `block-gas-costs[${i}]`);
          return {
            pc: u32(e.pc, `block-gas-costs[${i}].pc`),
            cost: Number(integer(e.cost, `block-gas-costs[${i}].cost`, 0n, I64_MAX)),
          };
        }),
    ),
    steps: array(root.steps, "steps").map(step),
  };
}
