/**
 * Instruction tracing for `pvmbox run --trace`: one line per executed instruction with its pc,
 * its assembly text and the registers it changed.
 * @module
 */
import { decodeAt } from "../program/decoder.ts";
import { instructionById } from "../program/isa/index.ts";
import { minImmediateWidth } from "../program/asm/encoding.ts";
import { renderInstruction } from "../program/asm/render.ts";
import { operandSlots, REGISTER_NAMES } from "../program/asm/syntax.ts";
import type { Program } from "../program/program.ts";
import { type Exit, REGISTER_COUNT } from "../pvm/mod.ts";

/** A register value: decimal below 2^16, hex above. */
export function formatRegister(value: bigint): string {
  return value < 0x10000n ? value.toString() : `0x${value.toString(16)}`;
}

/** The assembly text of the instruction at `pc`, with branch targets as code offsets. */
export function instructionText(program: Program, pc: number): string {
  const ins = decodeAt(program.blob.code, program.blob.bitmask, pc, program.isa);
  if (ins.invalid) return pc >= program.blob.code.length ? "trap (past the end)" : "trap (invalid)";
  const slots = operandSlots(instructionById(ins.op)!);
  const storedX = slots.includes("tx") ? ins.x - pc : ins.x;
  const storedY = slots.includes("ty") ? ins.y - pc : ins.y;
  const widths = { x: minImmediateWidth(storedX), y: minImmediateWidth(storedY) };
  return renderInstruction(ins, widths, (target) => `${target}`);
}

/** Which instructions a trace shows and how many lines it prints at most. */
export interface TraceOptions {
  /** At most this many lines; then one line says the trace stopped. Default: no limit. */
  readonly limit?: number;
  /** Only instructions whose pc passes; register changes add up between shown lines. */
  readonly showPc?: (pc: number) => boolean;
}

/**
 * Parses a `--trace-pc` value: pcs and inclusive ranges separated by commas (`12,40-80`), as a
 * predicate; undefined when `value` is malformed.
 */
export function parsePcRanges(value: string): ((pc: number) => boolean) | undefined {
  const ranges: [number, number][] = [];
  for (const part of value.split(",")) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (match === null) return undefined;
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (high < low) return undefined;
    ranges.push([low, high]);
  }
  return (pc) => ranges.some(([low, high]) => pc >= low && pc <= high);
}

/** Writes trace lines for one sandbox; feed it `onInstruction` calls and each exit. */
export class Tracer {
  readonly #program: Program;
  readonly #read: (index: number) => bigint;
  readonly #write: (line: string) => void;
  readonly #options: TraceOptions;
  readonly #text = new Map<number, string>();
  readonly #last = new BigUint64Array(REGISTER_COUNT);
  #lines = 0;

  /** `read` gives live register values; `write` prints one line. Call `resync()` before use. */
  constructor(
    program: Program,
    read: (index: number) => bigint,
    write: (line: string) => void,
    options: TraceOptions = {},
  ) {
    this.#program = program;
    this.#read = read;
    this.#write = write;
    this.#options = options;
  }

  /** Takes the current registers as the baseline: before the first run, after host changes. */
  resync(): void {
    for (let i = 0; i < REGISTER_COUNT; i++) this.#last[i] = this.#read(i);
  }

  /** Records the instruction at `pc`, which has just executed. */
  executed(pc: number): void {
    this.#line(pc, "");
  }

  /** Records the exit of a run: the instruction that ended it, and why. */
  exited(exit: Exit): void {
    switch (exit.kind) {
      case "host-call": // the ecalli was already reported as executed
        return;
      case "halt":
        return this.#line(exit.pc, "→ halt");
      case "panic":
        return this.#line(exit.pc, "→ panic");
      case "page-fault":
        return this.#line(exit.pc, `→ page fault at 0x${exit.address.toString(16)} (not run)`);
      case "out-of-gas":
        return this.#line(exit.pc, "→ out of gas at this block (not run)");
    }
  }

  #line(pc: number, note: string): void {
    if (this.#options.showPc !== undefined && !this.#options.showPc(pc)) return;
    const limit = this.#options.limit ?? Infinity;
    if (this.#lines >= limit) {
      if (this.#lines++ === limit) this.#write(`… trace stopped after ${limit} lines`);
      return;
    }
    this.#lines++;
    let text = this.#text.get(pc);
    if (text === undefined) {
      text = instructionText(this.#program, pc);
      this.#text.set(pc, text);
    }
    const changes: string[] = [];
    for (let i = 0; i < REGISTER_COUNT; i++) {
      const value = this.#read(i);
      if (value === this.#last[i]) continue;
      this.#last[i] = value;
      changes.push(`${REGISTER_NAMES[i]}=${formatRegister(value)}`);
    }
    const tail = [changes.join(" "), note].filter((s) => s !== "").join("  ");
    this.#write(`${String(pc).padStart(8)}  ${text.padEnd(36)}${tail}`.trimEnd());
  }
}
