/**
 * pvmbox's assembler and disassembler: text in the syntax of `docs/assembly.md` to a raw blob,
 * a JAM standard program or JAM service code, and back; `assemble(disassemble(bytes))` gives
 * the same bytes.
 *
 * @example Assemble, then list the program again
 * ```ts
 * import { assemble, disassemble } from "@pvmbox/pvmbox/asm";
 *
 * const bytes = assemble(".stack_size 0x1000\n    load_imm a0, 42\n    jump_ind ra, 0\n");
 * console.log(disassemble(bytes));
 * ```
 *
 * @module
 */
export {
  assemble,
  assembleDetailed,
  type AssembleOptions,
  AssemblyError,
  type AssemblyOutput,
  type AssemblyWarning,
  type DataSection,
  disassemble,
  type DisassembleOptions,
  type DisassemblyInput,
  type LabelValue,
  type OutputKind,
  type Section,
  type SourcePosition,
} from "./src/program/asm/index.ts";
