/**
 * Builds jam-0.7 code from instructions with symbolic branch targets and jump-table entries:
 * immediates take the width each instruction asks for (so short, sign-extended encodings occur),
 * targets are resolved once every instruction has its pc.
 * @module
 */
import {
  encodedLength,
  encodeInstruction,
  immediateLayout,
} from "../../src/program/asm/encoding.ts";
import { instructionById, type IsaProfile } from "../../src/program/isa/index.ts";

/** A target: a label name, or an absolute pc. */
export type Target = string | number;

/** One instruction to emit; register and immediate fields its format does not use are ignored. */
export interface CodeItem {
  /** Instruction id. */
  readonly op: number;
  /** Register A. */
  readonly a?: number;
  /** Register B. */
  readonly b?: number;
  /** Register D. */
  readonly d?: number;
  /** Immediate x (or the branch target of `off` and `reg_reg_off` formats). */
  readonly x?: number | Target;
  /** Immediate y (or the branch target of `reg_imm_off`). */
  readonly y?: number | Target;
  /** The 64-bit immediate of `load_imm_64`. */
  readonly wide?: bigint;
  /** Bytes for immediate x (targets always take 4). */
  readonly xWidth?: number;
  /** Bytes for immediate y (targets always take 4). */
  readonly yWidth?: number;
}

/** Code, bitmask and jump table, ready for `encodeBlob`. */
export interface BuiltCode {
  /** Code bytes. */
  readonly code: Uint8Array;
  /** One bit per code byte, set at each opcode. */
  readonly bitmask: Uint8Array;
  /** Jump-table entries (code offsets). */
  readonly jumpTable: number[];
  /** The pc of every label. */
  readonly labels: ReadonlyMap<string, number>;
}

/** Accumulates instructions and labels; `build` lays them out and encodes them. */
export class CodeBuilder {
  readonly #items: CodeItem[] = [];
  readonly #labelsAt = new Map<string, number>();

  /** Marks the position of the next instruction as `name`. */
  label(name: string): this {
    this.#labelsAt.set(name, this.#items.length);
    return this;
  }

  /** Appends an instruction. */
  emit(item: CodeItem): this {
    this.#items.push(item);
    return this;
  }

  /** Number of instructions so far. */
  get length(): number {
    return this.#items.length;
  }

  /** Lays out and encodes everything; jump-table entries may name labels. */
  build(profile: IsaProfile, jumpTable: readonly Target[]): BuiltCode {
    const pcs: number[] = [];
    let pc = 0;
    for (const item of this.#items) {
      pcs.push(pc);
      const layout = immediateLayout(instructionById(item.op)!.format);
      pc += encodedLength(
        instructionById(item.op)!.format,
        layout.x === "target" ? 4 : item.xWidth ?? 4,
        layout.y === "target" ? 4 : item.yWidth ?? 4,
      );
    }
    const labels = new Map<string, number>();
    for (const [name, index] of this.#labelsAt) {
      labels.set(name, index < pcs.length ? pcs[index] : pc);
    }
    const resolve = (target: number | Target | undefined): number => {
      if (typeof target === "number") return target;
      if (target === undefined) return 0;
      const at = labels.get(target);
      if (at === undefined) throw new Error(`unknown label ${target}`);
      return at;
    };
    const code = new Uint8Array(pc);
    const bitmask = new Uint8Array(Math.ceil(pc / 8));
    this.#items.forEach((item, i) => {
      const layout = immediateLayout(instructionById(item.op)!.format);
      const bytes = encodeInstruction(
        {
          op: item.op,
          a: item.a ?? 0,
          b: item.b ?? 0,
          d: item.d ?? 0,
          x: resolve(item.x),
          y: resolve(item.y),
          wide: item.wide ?? 0n,
          xWidth: layout.x === "target" ? 4 : item.xWidth ?? 4,
          yWidth: layout.y === "target" ? 4 : item.yWidth ?? 4,
        },
        pcs[i],
        profile,
      );
      code.set(bytes, pcs[i]);
      bitmask[pcs[i] >> 3] |= 1 << (pcs[i] & 7);
    });
    return { code, bitmask, jumpTable: jumpTable.map(resolve), labels };
  }
}
