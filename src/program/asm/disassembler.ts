/**
 * The disassembler: a program (any container `Program.parse` reads) → assembly text that the
 * assembler turns back into the same bytes. Each instruction is re-encoded before it is printed;
 * whatever the syntax cannot say as an instruction (unknown opcodes, clamped register nibbles,
 * operands cut off by the end of the code, stray bits) is printed as raw `.insn` / `.bytes`.
 * @module
 */
import { jumpTableEntrySizeFor, type RawBlob } from "../blob.ts";
import {
  type ImmediateWidths,
  immediateWidths,
  type Instruction,
  isOpcodeStart,
} from "../decoder.ts";
import { blockGasCosts } from "../analysis.ts";
import { instructionById, type IsaProfile } from "../isa/index.ts";
import { Program } from "../program.ts";
import {
  type EncodeInput,
  encodeInstruction,
  immediateLayout,
  minImmediateWidth,
} from "./encoding.ts";
import { type ForcedWidths, formatAddress, renderInstruction } from "./render.ts";
import { type BranchField, forceStableWidths } from "./stable_widths.ts";

/** Options of `disassemble`. */
export interface DisassembleOptions {
  /**
   * Add a header and, after each instruction, a comment with its pc and bytes (default true).
   * With false the text is bare assembly. Either way it assembles back to the same program.
   */
  readonly annotate?: boolean;
  /** Write the gas cost of every basic block on its label line, as a comment (default false). */
  readonly gas?: boolean;
}

/** What `disassemble` accepts: a program, a raw blob's parts, or bytes in any container. */
export type DisassemblyInput = Program | RawBlob | Uint8Array;

/** One item of the code listing. */
interface Line {
  /** Code offset of the item. */
  readonly pc: number;
  /** Assembly text (for instructions, filled in once the labels and widths are settled). */
  text: string;
  /** The item's bytes (for the annotation). */
  readonly bytes: Uint8Array;
  /** Extra words for the annotation. */
  readonly note?: string;
  /** The instruction and its immediate widths, for lines that are one. */
  readonly instruction?: { readonly ins: Instruction; readonly widths: ImmediateWidths };
}

/**
 * Writes `input` as assembly text; see `DisassembleOptions`. Bytes and blobs decode as
 * `Program.parse` decodes them (a `.polkavm` file's own ISA, else the default `jam-0.7`); pass a
 * `Program` to choose the profile.
 */
export function disassemble(input: DisassemblyInput, options: DisassembleOptions = {}): string {
  const program = input instanceof Program
    ? input
    : input instanceof Uint8Array
    ? Program.parse(input)
    : Program.fromParts({ blob: input });
  const costs = options.gas
    ? new Map(blockGasCosts(program).map((b) => [b.pc, b.cost]))
    : undefined;
  return new Disassembler(program, options.annotate ?? true, costs).run();
}

const COMMENT_COLUMN = 44;

class Disassembler {
  private readonly blob: RawBlob;
  private readonly profile: IsaProfile;
  private readonly labels = new Set<number>();
  /** The program's instructions, decoded once by `Program`. */
  private readonly instructions: readonly Instruction[];
  private readonly out: string[] = [];

  constructor(
    private readonly program: Program,
    private readonly annotate: boolean,
    /** Gas of each block by start pc, when the listing shows it. */
    private readonly costs?: ReadonlyMap<number, number>,
  ) {
    this.blob = program.blob;
    this.profile = program.isa;
    this.instructions = program.decoded.instructions;
  }

  run(): string {
    const lines = this.codeLines();
    this.renderInstructions(lines);
    this.header();
    this.layout();
    this.jumpTable();
    this.out.push(".code");
    this.listing(lines);
    return this.out.join("\n") + "\n";
  }

  /** True when a label can be placed at `pc`: before an item of the listing or at the end. */
  private labelable(pc: number): boolean {
    return pc === 0 || pc === this.blob.code.length || this.isUnitStart(pc);
  }

  private isUnitStart(pc: number): boolean {
    const { code, bitmask } = this.blob;
    return pc >= 0 && pc < code.length && isOpcodeStart(bitmask, code.length, pc);
  }

  private targetName = (target: number): string => {
    if (!this.labelable(target)) return `${target}`;
    this.labels.add(target);
    return `L${target}`;
  };

  private codeLines(): Line[] {
    const { code } = this.blob;
    const lines: Line[] = [];
    const first = this.instructions[0]?.pc ?? code.length;
    if (first > 0) {
      lines.push(rawLine(0, code.subarray(0, first), "bytes", "not instructions (bitmask 0)"));
    }
    this.instructions.forEach((ins, k) => {
      const end = this.instructions[k + 1]?.pc ?? code.length;
      lines.push(...this.unitLines(ins, code.subarray(ins.pc, end)));
    });
    return lines;
  }

  /** Lines for the instruction at `ins.pc` whose bytes up to the next opcode are `unit`. */
  private unitLines(ins: Instruction, unit: Uint8Array): Line[] {
    const pc = ins.pc;
    if (ins.invalid) return [rawLine(pc, unit, "insn", "not an instruction: traps")];
    const format = instructionById(ins.op)!.format;
    const widths = immediateWidths(this.blob.code, pc, format, ins.length - 1);
    const input: EncodeInput = { ...ins, xWidth: widths.x, yWidth: widths.y };
    const encoded = encodeInstruction(input, pc, this.profile);
    const matches = encoded.length <= unit.length &&
      encoded.every((byte, k) => byte === unit[k]);
    if (!matches) {
      const meaning = renderInstruction(ins, widths, (t) => `${t}`);
      return [rawLine(pc, unit, "insn", `decodes as: ${meaning}`)];
    }
    const bytes = unit.subarray(0, encoded.length);
    const lines: Line[] = [{ pc, text: "", bytes, instruction: { ins, widths } }];
    if (encoded.length < unit.length) {
      const rest = unit.subarray(encoded.length);
      lines.push(rawLine(pc + encoded.length, rest, "bytes", "ignored operand bytes"));
    }
    return lines;
  }

  /** Writes the instruction lines, with `:width` where the assembler needs it to keep the layout. */
  private renderInstructions(lines: Line[]): void {
    const itemAt = new Map<number, number>();
    lines.forEach((line, k) => itemAt.set(line.pc, k));
    itemAt.set(this.blob.code.length, lines.length);
    const fields: (BranchField & { key: "x" | "y" })[] = [];
    lines.forEach((line, k) => {
      if (line.instruction === undefined) return;
      const { ins, widths } = line.instruction;
      const layout = immediateLayout(instructionById(ins.op)!.format);
      for (const key of ["x", "y"] as const) {
        if (layout[key] !== "target") continue;
        const target = ins[key];
        fields.push({
          key,
          item: k,
          target,
          targetItem: this.labelable(target) ? itemAt.get(target) : undefined,
          width: widths[key],
          forced: widths[key] !== minImmediateWidth(target - ins.pc),
        });
      }
    });
    forceStableWidths(lines.map((line) => line.bytes.length), fields);
    const forced = new Map<number, ForcedWidths>();
    for (const f of fields) forced.set(f.item, { ...forced.get(f.item), [f.key]: f.forced });
    lines.forEach((line, k) => {
      if (line.instruction === undefined) return;
      const { ins, widths } = line.instruction;
      line.text = renderInstruction(ins, widths, this.targetName, forced.get(k));
    });
  }

  private header(): void {
    if (!this.annotate) return;
    const p = this.program;
    this.out.push(
      `; pvmbox disassembly (${p.isa.name}) of a ${containerName(p)}`,
      `; ${count(this.blob.code.length, "byte")} of code, ` +
        `${count(this.instructions.length, "instruction")}, ` +
        `${count(p.basicBlockCount, "basic block")}, ` +
        `${count(this.blob.jumpTable.length, "jump-table entry", "jump-table entries")}`,
    );
    if (p.container === "polkavm") {
      this.out.push(`; (reassembles as a standard program with the same code and memory)`);
    }
    const m = p.metadataInfo;
    if (m !== undefined) {
      const about = `${m.name} ${m.version}, ${m.licence}, by ${m.authors.join(", ")}`;
      this.out.push(`; metadata: ${oneLine(about)}`);
    }
    for (const e of p.exports) this.out.push(`; export '${oneLine(e.name)}' at pc ${e.pc}`);
    this.out.push("");
  }

  private layout(): void {
    const memory = this.program.memory;
    if (memory === undefined) return;
    if (this.program.container === "service") {
      this.out.push(".metadata");
      for (const line of dataLines(this.program.metadata ?? new Uint8Array())) {
        this.out.push(`    ${line}`);
      }
    }
    this.out.push(
      `.heap_pages ${memory.heapPages}`,
      `.stack_size ${formatAddress(memory.stackSize)}`,
    );
    this.data("ro_data", memory.roData);
    this.data("rw_data", memory.rwData);
    this.out.push("");
  }

  private data(section: string, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.out.push(`.${section}`);
    for (const line of dataLines(bytes)) this.out.push(`    ${line}`);
  }

  private jumpTable(): void {
    const { jumpTable, jumpTableEntrySize } = this.blob;
    if (jumpTableEntrySize !== jumpTableEntrySizeFor(jumpTable)) {
      this.out.push(`.jump_table_entry_size ${jumpTableEntrySize}`);
    }
    const names = Array.from(jumpTable, (target) => this.targetName(target));
    for (let i = 0; i < names.length; i += 8) {
      this.out.push(`.jump_table ${names.slice(i, i + 8).join(", ")}`);
    }
    const padding = bitmaskPadding(this.blob);
    if (padding !== 0) this.out.push(`.bitmask_padding 0x${padding.toString(16)}`);
    if (names.length > 0 || padding !== 0) this.out.push("");
  }

  private listing(lines: Line[]): void {
    const pcWidth = String(this.blob.code.length).length;
    const placed = new Set<number>();
    for (const line of lines) {
      const blockStart = this.program.isBlockStart(line.pc);
      const cost = this.costs?.get(line.pc);
      const gas = cost === undefined ? "" : `; gas ${cost}`;
      if (blockStart || this.labels.has(line.pc)) {
        placed.add(line.pc);
        if (blockStart && line.pc !== 0) this.out.push("");
        this.out.push(
          gas === "" ? `L${line.pc}:` : `${`L${line.pc}:`.padEnd(COMMENT_COLUMN)}${gas}`,
        );
      } else if (gas !== "") {
        this.out.push(`${"".padEnd(COMMENT_COLUMN)}${gas}`);
      }
      const text = `    ${line.text}`;
      if (!this.annotate) {
        this.out.push(text);
        continue;
      }
      const hex = Array.from(line.bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
      const note = line.note === undefined ? "" : `  (${line.note})`;
      const comment = `; ${String(line.pc).padStart(pcWidth)}: ${hex}${note}`;
      this.out.push(`${text.padEnd(COMMENT_COLUMN - 1)} ${comment}`);
    }
    const end = this.blob.code.length;
    if (this.labels.has(end) && !placed.has(end)) this.out.push(`L${end}:`);
  }
}

/** Text that is safe inside a line comment: line breaks become spaces. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

function containerName(p: Program): string {
  switch (p.container) {
    case "raw":
      return "raw blob";
    case "standard":
      return "JAM standard program";
    case "service":
      return "JAM service code blob";
    case "polkavm":
      return ".polkavm program";
  }
}

function rawLine(pc: number, bytes: Uint8Array, directive: "insn" | "bytes", note: string): Line {
  const list = Array.from(bytes, (b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ");
  return { pc, text: `.${directive} ${list}`, bytes, note };
}

/** Bits of the last bitmask byte that lie past the end of the code. */
function bitmaskPadding(blob: RawBlob): number {
  const used = blob.code.length % 8;
  if (used === 0 || blob.bitmask.length === 0) return 0;
  return blob.bitmask[blob.bitmask.length - 1] & ~((1 << used) - 1) & 0xff;
}

const PRINTABLE = /^[\x20-\x7e]$/;

/** Data as directives: `.zero` for long zero runs, `.string` for text, `.bytes` otherwise. */
function dataLines(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  let pending: number[] = [];
  const flush = (): void => {
    for (let i = 0; i < pending.length; i += 16) {
      const chunk = pending.slice(i, i + 16);
      lines.push(`.bytes ${chunk.map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ")}`);
    }
    pending = [];
  };
  let i = 0;
  while (i < bytes.length) {
    const zeros = runLength(bytes, i, (b) => b === 0);
    const text = runLength(bytes, i, (b) => PRINTABLE.test(String.fromCharCode(b)));
    if (zeros >= 8) {
      flush();
      lines.push(`.zero ${zeros}`);
      i += zeros;
    } else if (text >= 6) {
      flush();
      const chunk = String.fromCharCode(...bytes.subarray(i, i + Math.min(text, 64)));
      lines.push(`.string "${chunk.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`);
      i += Math.min(text, 64);
    } else {
      pending.push(bytes[i++]);
    }
  }
  flush();
  return lines;
}

function runLength(bytes: Uint8Array, from: number, test: (b: number) => boolean): number {
  let n = 0;
  while (from + n < bytes.length && test(bytes[from + n])) n++;
  return n;
}
