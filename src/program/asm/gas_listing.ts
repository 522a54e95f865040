/**
 * Why a basic block costs what it does, for people: the pipeline timeline of the Gray Paper 0.8
 * gas model for the block charged at a pc, each instruction written in pvmbox assembly.
 * @module
 */
import { analyzeProgram, instructionAtPc, type ProgramAnalysis } from "../analysis.ts";
import { decodeAt, immediateWidths, type Instruction } from "../decoder.ts";
import { instructionById } from "../isa/index.ts";
import type { Program } from "../program.ts";
import { renderInstruction } from "./render.ts";

/** The analysis' instruction numbers of the block charged at `pc` (the block containing it). */
function chargedRangeAt(
  program: Program,
  pc: number,
): { analysis: ProgramAnalysis; start: number; end: number } | undefined {
  const analysis = analyzeProgram(program.blob, program.isa);
  let start = instructionAtPc(analysis, pc);
  if (start < 0) return undefined;
  while (analysis.blockStart[start] === 0) start--;
  return { analysis, start, end: start + analysis.toEnd[start] };
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
  const range = chargedRangeAt(program, pc);
  if (range === undefined) throw new RangeError(`no instruction starts at pc ${pc}`);
  const { analysis, start, end } = range;
  const { code, bitmask } = program.blob;
  const timeline = explain(analysis, start, end, code);
  const rows = timeline.rows.map((row, k) => {
    const ins = decodeAt(code, bitmask, analysis.pc[start + k], program.isa);
    return `    ${row.cells}  ${instructionText(program, ins)}`;
  });
  return [
    `Gas simulation at offset ${analysis.pc[start]} with total cost of ${timeline.cost}:`,
    "",
    ...rows,
  ].join("\n") + "\n";
}
