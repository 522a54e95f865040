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
import { I64_MAX, I64_MIN, jsonFields, U64_MAX } from "./json_fields.ts";
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
  const { object, array, integer, u32, bytes, registers, chunks, optional } = jsonFields(fail);

  const expectation = (value: JsonValue, what: string): Expectation => {
    const a = object(value, what);
    const status = typeof a.status === "string" && Object.hasOwn(STATUSES, a.status)
      ? STATUSES[a.status]
      : fail(`${what}.status must be one of ${Object.keys(STATUSES).join(", ")}`);
    return {
      status,
      regs: optional(a.regs, (v) => registers(v, `${what}.regs`)),
      pc: optional(a.pc, (v) => u32(v, `${what}.pc`)),
      gas: optional(a.gas, (v) => integer(v, `${what}.gas`, I64_MIN, I64_MAX)),
      memory: optional(a.memory, (v) => chunks(v, `${what}.memory`)),
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
