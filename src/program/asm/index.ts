/**
 * pvmbox assembly: a text syntax for PVM programs (see `docs/assembly.md`), an assembler that
 * writes raw blobs or JAM standard programs, and a disassembler whose output assembles back to
 * the same bytes.
 * @module
 */
export {
  assemble,
  assembleDetailed,
  type AssembleOptions,
  type AssemblyOutput,
  type AssemblyWarning,
  type DataSection,
  type LabelValue,
  type OutputKind,
  type Section,
} from "./assembler.ts";
export { disassemble, type DisassembleOptions, type DisassemblyInput } from "./disassembler.ts";
export { explainBlockAt } from "./gas_listing.ts";
export { AssemblyError, type SourcePosition } from "./errors.ts";
export { REGISTER_NAMES, registerNumber } from "./syntax.ts";
