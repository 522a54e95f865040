/**
 * A tiny instruction encoder for the interpreter tests: each helper emits one instruction with
 * full-width (4-byte) immediates, and labels resolve branch offsets in a second pass.
 */
import { jumpTableEntrySizeFor } from "../src/program/blob.ts";
import { Op } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";

/** A program ready for `new Interpreter(...)`. */
export interface TestBlob {
  code: Uint8Array;
  bitmask: Uint8Array;
  jumpTable: number[];
}

type Encoder = (pc: number, labelPc: (name: string) => number) => number[];

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Builds code from instructions and labels; `build()` returns the blob. */
export class Asm {
  readonly #items: { pc: number; encode: Encoder }[] = [];
  readonly #labels = new Map<string, number>();
  #pc = 0;

  /** Marks the current pc as `name`. */
  label(name: string): this {
    this.#labels.set(name, this.#pc);
    return this;
  }

  /** The pc the next instruction will have. */
  get pc(): number {
    return this.#pc;
  }

  #emit(length: number, encode: Encoder): this {
    this.#items.push({ pc: this.#pc, encode });
    this.#pc += length;
    return this;
  }

  /** An instruction without operands (trap, fallthrough). */
  none(op: number): this {
    return this.#emit(1, () => [op]);
  }

  /** `ecalli id`. */
  ecalli(id: number): this {
    return this.#emit(5, () => [Op.ecalli, ...le32(id)]);
  }

  /** `load_imm_64 A, value`. */
  loadImm64(a: number, value: bigint): this {
    const bytes: number[] = [];
    for (let k = 0n; k < 8n; k++) bytes.push(Number((value >> (8n * k)) & 0xffn));
    return this.#emit(10, () => [Op.load_imm_64, a, ...bytes]);
  }

  /** reg_imm: `op A, imm`. */
  regImm(op: number, a: number, imm: number): this {
    return this.#emit(6, () => [op, a, ...le32(imm)]);
  }

  /** reg_reg: `op D, A`. */
  regReg(op: number, d: number, a: number): this {
    return this.#emit(2, () => [op, d | (a << 4)]);
  }

  /** reg_reg_imm: `op A, B, imm`. */
  regRegImm(op: number, a: number, b: number, imm: number): this {
    return this.#emit(6, () => [op, a | (b << 4), ...le32(imm)]);
  }

  /** reg3: `op D, A, B`. */
  reg3(op: number, d: number, a: number, b: number): this {
    return this.#emit(3, () => [op, a | (b << 4), d]);
  }

  /** imm_imm: `op x, y` (store_imm_*). */
  immImm(op: number, x: number, y: number): this {
    return this.#emit(10, () => [op, 4, ...le32(x), ...le32(y)]);
  }

  /** reg_imm_imm: `op A, x, y` (store_imm_ind_*). */
  regImmImm(op: number, a: number, x: number, y: number): this {
    return this.#emit(10, () => [op, a | (4 << 4), ...le32(x), ...le32(y)]);
  }

  /** `jump label`. */
  jump(label: string): this {
    return this.#emit(5, (pc, at) => [Op.jump, ...le32(at(label) - pc)]);
  }

  /** reg_imm_off: `op A, imm, label` (branch_*_imm, load_imm_jump). */
  regImmOff(op: number, a: number, imm: number, label: string): this {
    return this.#emit(10, (pc, at) => [op, a | (4 << 4), ...le32(imm), ...le32(at(label) - pc)]);
  }

  /** reg_reg_off: `op A, B, label` (branch_*). */
  regRegOff(op: number, a: number, b: number, label: string): this {
    return this.#emit(6, (pc, at) => [op, a | (b << 4), ...le32(at(label) - pc)]);
  }

  /** reg_reg_imm_imm: `op A, B, x, y` (load_imm_jump_ind). */
  regRegImmImm(op: number, a: number, b: number, x: number, y: number): this {
    return this.#emit(11, () => [op, a | (b << 4), 4, ...le32(x), ...le32(y)]);
  }

  /** Encodes everything; `jumpTable` lists label names or raw offsets. */
  build(jumpTable: (string | number)[] = []): TestBlob {
    const at = (name: string): number => {
      const pc = this.#labels.get(name);
      if (pc === undefined) throw new Error(`unknown label ${name}`);
      return pc;
    };
    const code = new Uint8Array(this.#pc);
    const bitmask = new Uint8Array(Math.ceil(this.#pc / 8));
    for (const item of this.#items) {
      code.set(item.encode(item.pc, at), item.pc);
      bitmask[item.pc >> 3] |= 1 << (item.pc & 7);
    }
    return {
      code,
      bitmask,
      jumpTable: jumpTable.map((e) => typeof e === "number" ? e : at(e)),
    };
  }
}

/** `blob` as a raw-blob `Program`, for backends that take programs. */
export function programOf(blob: TestBlob): Program {
  return Program.fromParts({
    blob: {
      code: blob.code,
      bitmask: blob.bitmask,
      jumpTable: Uint32Array.from(blob.jumpTable),
      jumpTableEntrySize: jumpTableEntrySizeFor(blob.jumpTable),
    },
  });
}
