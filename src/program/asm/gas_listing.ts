/**
 * Why a basic block costs what it does, for people: the pipeline timeline of the Gray Paper 0.8
 * gas model for the block charged at a pc, each instruction written in pvmbox assembly.
 * @module
 */
import { analyzeProgram, instructionAtPc } from "../analysis.ts";
import { decodeAt, immediateWidths, type Instruction } from "../decoder.ts";
import { instructionById } from "../isa/index.ts";
import type { Program } from "../program.ts";
import { renderInstruction } from "./render.ts";

/** The decoded block execution is charged for when it reaches `pc`, or undefined when none. */
export function chargedBlockAt(program: Program, pc: number): Instruction[] | undefined {
  const { code, bitmask } = program.blob;
  const analysis = analyzeProgram(program.blob, program.isa);
  let i = instructionAtPc(analysis, pc);
  if (i < 0) return undefined;
  while (analysis.blockStart[i] === 0) i--;
  const block: Instruction[] = [];
  for (let k = 0, at = analysis.pc[i]; k < analysis.toEnd[i]; k++) {
    const ins = decodeAt(code, bitmask, at, program.isa);
    block.push(ins);
    at += ins.length;
  }
  return block;
}

/** An instruction as one line of assembly (branch targets as plain offsets). */
function instructionText(program: Program, ins: Instruction): string {
  if (ins.invalid) return "trap (invalid opcode)";
  const info = instructionById(ins.op)!;
  const widths = immediateWidths(program.blob.code, ins.pc, info.format, ins.length - 1);
  return renderInstruction(ins, widths, (target) => `${target}`);
}

/**
 * The pipeline timeline of the block charged at `pc` (the block containing it): a heading with
 * the block's start and cost, then one row per instruction in the notation of the Gray Paper 0.8
 * vectors (`D` decode, `=` wait, `e`/`E` execute, `-` done, `R` retire, one column per cycle).
 */
export function explainBlockAt(program: Program, pc: number): string {
  const { explain } = program.isa.gas;
  if (explain === undefined) {
    throw new RangeError(`the ${program.isa.name} gas model has no pipeline to explain`);
  }
  const block = chargedBlockAt(program, pc);
  if (block === undefined) throw new RangeError(`no instruction starts at pc ${pc}`);
  const timeline = explain(block, program.blob.code);
  const rows = timeline.rows.map((row) =>
    `    ${row.cells}  ${instructionText(program, row.instruction)}`
  );
  return [
    `Gas simulation at offset ${block[0].pc} with total cost of ${timeline.cost}:`,
    "",
    ...rows,
  ].join("\n") + "\n";
}
