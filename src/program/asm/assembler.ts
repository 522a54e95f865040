/**
 * The assembler: source text → raw blob, or JAM standard program when the source lays out data,
 * heap or stack (or when asked to). Branch offsets get the shortest encoding that reaches, found
 * by growing widths until the layout is stable. This module runs the passes — collection
 * (`collect.ts`), code layout (`layout.ts`), code and data emission (`emit_code.ts`, `data.ts`),
 * all evaluating through `evaluate.ts` — and writes the container.
 * @module
 */
import { encodeBlob, jumpTableEntrySizeFor } from "../blob.ts";
import { DEFAULT_PROFILE, type IsaProfile } from "../isa/index.ts";
import { encodeServiceCode } from "../service.ts";
import { encodeStandardProgram } from "../standard.ts";
import { collect } from "./collect.ts";
import { encodeData } from "./data.ts";
import {
  applyBitmaskPadding,
  type AssemblyWarning,
  blockStartWarnings,
  encodeCode,
  jumpTableOffsets,
} from "./emit_code.ts";
import { errorAt } from "./errors.ts";
import { Evaluator } from "./evaluate.ts";
import { labelValues, layOutCode, planJumpTable, prepareInstructions } from "./layout.ts";
import type { LabelValue, SourceUnit } from "./unit.ts";

export type { AssemblyWarning } from "./emit_code.ts";
export type { DataSection, LabelValue, Section } from "./unit.ts";

/** Which container the assembler writes. */
export type OutputKind = "raw" | "standard" | "service";

/** Options of `assemble`. */
export interface AssembleOptions {
  /**
   * Force the output container. By default: service code when `.metadata` is present, else a
   * standard program when data or layout directives are, else a raw blob.
   */
  readonly kind?: OutputKind;
  /** Instruction set to encode for (the default profile, `jam-0.7`, when omitted). */
  readonly profile?: IsaProfile;
}

/** The assembler's output with the facts a caller may want besides the bytes. */
export interface AssemblyOutput {
  /** The encoded program. */
  readonly bytes: Uint8Array;
  /** The container written. */
  readonly kind: OutputKind;
  /** Every label with its final value. */
  readonly labels: ReadonlyMap<string, LabelValue>;
  /** Jump-table entries (code offsets), in order. */
  readonly jumpTable: readonly number[];
  /** Legal but probably unintended things, e.g. a branch to a label that starts no block. */
  readonly warnings: readonly AssemblyWarning[];
}

const DEFAULT_STACK_SIZE = 0x10000;

/**
 * Assembles `source`; throws `AssemblyError` (with line and column) on any problem.
 *
 * @example A raw blob, then a JAM standard program
 * ```ts
 * import { assemble } from "@pvmbox/pvmbox/asm";
 *
 * const raw = assemble("    load_imm a0, 7\n    trap\n");
 * const standard = assemble(".stack_size 4096\n    load_imm a0, 7\n    jump_ind ra, 0\n");
 * console.log(raw.length, standard.length);
 * ```
 */
export function assemble(source: string, options: AssembleOptions = {}): Uint8Array {
  return assembleDetailed(source, options).bytes;
}

/** Assembles `source` and also returns labels, jump table and output kind. */
export function assembleDetailed(source: string, options: AssembleOptions = {}): AssemblyOutput {
  const profile = options.profile ?? DEFAULT_PROFILE;
  const unit = collect(source, profile);
  const kind = outputKind(unit, options.kind);
  const ev = new Evaluator(unit);
  planJumpTable(unit);
  prepareInstructions(unit, ev);
  layOutCode(unit, ev);
  const { code, bitmask } = encodeCode(unit, ev, profile);
  const jumpTable = jumpTableOffsets(unit, ev);
  const entrySizeStmt = unit.settings.get("jump_table_entry_size");
  const minimalEntrySize = jumpTableEntrySizeFor(jumpTable);
  const entrySize = entrySizeStmt === undefined
    ? minimalEntrySize
    : ev.settingValue("jump_table_entry_size", minimalEntrySize, 4);
  applyBitmaskPadding(unit, ev, bitmask, code.length);
  const blob = encodeBlob({ jumpTable, code, bitmask, jumpTableEntrySize: entrySize });
  const bytes = kind === "raw"
    ? blob
    : kind === "standard"
    ? standardProgram(unit, ev, blob)
    : encodeServiceCode(encodeData(unit, "metadata", ev), standardProgram(unit, ev, blob));
  const warnings = blockStartWarnings(unit, profile, code, bitmask, jumpTable);
  return { bytes, kind, labels: labelValues(unit, ev), jumpTable, warnings };
}

/** The container to write: `forced`, or the one the source needs; throws when they clash. */
function outputKind(unit: SourceUnit, forced: OutputKind | undefined): OutputKind {
  const kind = forced ??
    (unit.metadataStart ? "service" : unit.firstLayout !== undefined ? "standard" : "raw");
  if (kind === "raw" && unit.firstLayout !== undefined) {
    throw errorAt(
      unit.firstLayout.pos,
      `.${unit.firstLayout.name} needs a standard program, but a raw blob was asked for`,
    );
  }
  if (kind !== "service" && unit.metadataStart !== undefined) {
    throw errorAt(unit.metadataStart.pos, `.metadata needs service code, not a ${kind} program`);
  }
  return kind;
}

function standardProgram(unit: SourceUnit, ev: Evaluator, blob: Uint8Array): Uint8Array {
  const parts = {
    roData: encodeData(unit, "ro_data", ev),
    rwData: encodeData(unit, "rw_data", ev),
    heapPages: ev.settingValue("heap_pages", 0, 0xffff),
    stackSize: ev.settingValue("stack_size", 0, 0xffffff, DEFAULT_STACK_SIZE),
    blob,
  };
  try {
    return encodeStandardProgram(parts);
  } catch (e) {
    // Only the data sizes are unchecked so far (each must stay below 2^24 bytes).
    if (e instanceof RangeError) {
      throw errorAt(unit.firstLayout?.pos ?? { line: 1, column: 1 }, e.message);
    }
    throw e;
  }
}
