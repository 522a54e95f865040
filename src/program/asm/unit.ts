/**
 * The assembler's model of one source file, filled in passes: what collection finds (code items,
 * data items, symbols, settings), then what layout decides (jump-table indices, code offsets).
 * @module
 */
import type { SourcePosition } from "./errors.ts";
import type { DirectiveArg, DirectiveStatement, Expr, InstructionStatement } from "./parser.ts";

/** Sections of a source file. */
export type Section = "code" | DataSection;

/** Sections that hold bytes rather than instructions. */
export type DataSection = "ro_data" | "rw_data" | "metadata";

/** Where a label points: a code offset or a data address. */
export interface LabelValue {
  /** The section the label is in. */
  readonly section: Section;
  /** Code offset (for `code`) or guest address (for data sections). */
  readonly value: number;
}

/** What a name stands for: a code label, a data label, or an `.equ` constant. */
export type SymbolDef =
  | { readonly kind: "code"; readonly item: number; readonly pos: SourcePosition }
  | {
    readonly kind: "data";
    readonly section: "ro_data" | "rw_data";
    readonly offset: number;
    readonly pos: SourcePosition;
  }
  | { readonly kind: "const"; readonly expr: Expr; readonly pos: SourcePosition };

/** An instruction and its operands as layout settles them. */
export interface InstructionItem {
  /** Discriminant. */
  readonly kind: "instruction";
  /** The statement. */
  readonly stmt: InstructionStatement;
  /** First immediate (int32) or branch target. */
  x: number;
  /** Second immediate (int32) or branch target. */
  y: number;
  /** The 64-bit immediate of `load_imm_64`. */
  wide: bigint;
  /** Bytes of the first immediate or branch offset. */
  xWidth: number;
  /** Bytes of the second immediate or branch offset. */
  yWidth: number;
  /** Encoded length in bytes. */
  length: number;
}

/** Raw bytes in `.code` (`.bytes`, or `.insn`, whose first byte starts an instruction). */
export interface BytesItem {
  /** Discriminant. */
  readonly kind: "bytes";
  /** The byte values and strings. */
  readonly args: readonly DirectiveArg[];
  /** Whether the bitmask marks the first byte as an instruction start. */
  readonly opcodeStart: boolean;
  /** Length in bytes. */
  readonly length: number;
}

/** One thing placed in `.code`. */
export type CodeItem = InstructionItem | BytesItem;

/** A data directive placed in a data section. */
export interface DataItem {
  /** The directive. */
  readonly directive: DirectiveStatement;
  /** Offset in its section. */
  readonly offset: number;
  /** Bytes it takes. */
  readonly size: number;
}

/** Everything the assembler knows about one source file. */
export interface SourceUnit {
  /** `.code` items in order. */
  readonly code: CodeItem[];
  /** Data items of each data section, in order. */
  readonly data: Record<DataSection, DataItem[]>;
  /** Bytes in each data section so far. */
  readonly sizes: Record<DataSection, number>;
  /** Every defined name. */
  readonly symbols: Map<string, SymbolDef>;
  /** The one-time settings (`.heap_pages`, `.stack_size`, …) by name. */
  readonly settings: Map<string, DirectiveStatement>;
  /** The explicit `.jump_table` entries, in order. */
  readonly jumpTableArgs: DirectiveArg[];
  /** Jump-table entry of each label used as `&label` or listed in `.jump_table`. */
  readonly jumpTableIndex: Map<string, number>;
  /** Where each label that only `&label` puts in the jump table is first used. */
  readonly jumpAddressUses: Map<string, SourcePosition>;
  /** Labels in jump-table order (explicit entries first; "" for an entry that is no label). */
  jumpTableOrder: string[];
  /** Code offset of each code item, and the code length last (set by layout). */
  pcs: number[];
  /** The first directive that needs a standard program, if any. */
  firstLayout: DirectiveStatement | undefined;
  /** The `.metadata` directive that makes the output service code, if any. */
  metadataStart: DirectiveStatement | undefined;
}

/** An empty unit. */
export function emptyUnit(): SourceUnit {
  return {
    code: [],
    data: { ro_data: [], rw_data: [], metadata: [] },
    sizes: { ro_data: 0, rw_data: 0, metadata: 0 },
    symbols: new Map(),
    settings: new Map(),
    jumpTableArgs: [],
    jumpTableIndex: new Map(),
    jumpAddressUses: new Map(),
    jumpTableOrder: [],
    pcs: [],
    firstLayout: undefined,
    metadataStart: undefined,
  };
}
