/**
 * The PVM instruction set, independent of any opcode numbering: every instruction pvmbox knows,
 * with its operand format and whether it ends a basic block. ISA profiles map opcode bytes to
 * these entries.
 * @module
 */

/** How an instruction's operand bytes are laid out (names follow the Gray Paper's groups). */
export type OperandFormat =
  | "none"
  | "imm"
  | "reg_ext"
  | "imm_imm"
  | "off"
  | "reg_imm"
  | "reg_imm_imm"
  | "reg_imm_off"
  | "reg_reg"
  | "reg_reg_imm"
  | "reg_reg_off"
  | "reg_reg_imm_imm"
  | "reg3";

/** What pvmbox knows about one instruction. */
export interface InstructionInfo {
  /** Stable internal id (equal to the Gray Paper 0.7 opcode; `unlikely` takes the free id 2). */
  readonly id: number;
  /** Mnemonic, as the assembler and disassembler write it. */
  readonly name: string;
  /** Operand layout. */
  readonly format: OperandFormat;
  /** True when the instruction ends a basic block. */
  readonly terminator: boolean;
}

/** One decoded instruction. Fields an operand format does not use are 0. */
export interface Instruction {
  /** Internal instruction id (see `Op`); `Op.trap` for an invalid opcode. */
  readonly op: number;
  /** Byte offset of the opcode in the code. */
  readonly pc: number;
  /** 1 + skip: the distance to the next instruction. */
  readonly length: number;
  /** Register A (0..12). */
  readonly a: number;
  /** Register B (0..12). */
  readonly b: number;
  /** Register D (0..12). */
  readonly d: number;
  /**
   * First immediate, sign-extended to 64 bits and held as an int32; for `off`, the absolute
   * branch target.
   */
  readonly x: number;
  /** Second immediate (int32), or for `*_off` formats the absolute branch target. */
  readonly y: number;
  /** The 64-bit immediate of `load_imm_64` (unsigned); 0n otherwise. */
  readonly wide: bigint;
  /** True when the byte at `pc` is not an opcode of the profile (or its bitmask bit is 0). */
  readonly invalid: boolean;
}

/** The instruction table as data: `[id, mnemonic, operand format, terminator?]` rows. */
export const INSTRUCTION_ROWS = [
  [0, "trap", "none", true],
  [1, "fallthrough", "none", true],
  [2, "unlikely", "none"],
  [10, "ecalli", "imm"],
  [20, "load_imm_64", "reg_ext"],
  [30, "store_imm_u8", "imm_imm"],
  [31, "store_imm_u16", "imm_imm"],
  [32, "store_imm_u32", "imm_imm"],
  [33, "store_imm_u64", "imm_imm"],
  [40, "jump", "off", true],
  [50, "jump_ind", "reg_imm", true],
  [51, "load_imm", "reg_imm"],
  [52, "load_u8", "reg_imm"],
  [53, "load_i8", "reg_imm"],
  [54, "load_u16", "reg_imm"],
  [55, "load_i16", "reg_imm"],
  [56, "load_u32", "reg_imm"],
  [57, "load_i32", "reg_imm"],
  [58, "load_u64", "reg_imm"],
  [59, "store_u8", "reg_imm"],
  [60, "store_u16", "reg_imm"],
  [61, "store_u32", "reg_imm"],
  [62, "store_u64", "reg_imm"],
  [70, "store_imm_ind_u8", "reg_imm_imm"],
  [71, "store_imm_ind_u16", "reg_imm_imm"],
  [72, "store_imm_ind_u32", "reg_imm_imm"],
  [73, "store_imm_ind_u64", "reg_imm_imm"],
  [80, "load_imm_jump", "reg_imm_off", true],
  [81, "branch_eq_imm", "reg_imm_off", true],
  [82, "branch_ne_imm", "reg_imm_off", true],
  [83, "branch_lt_u_imm", "reg_imm_off", true],
  [84, "branch_le_u_imm", "reg_imm_off", true],
  [85, "branch_ge_u_imm", "reg_imm_off", true],
  [86, "branch_gt_u_imm", "reg_imm_off", true],
  [87, "branch_lt_s_imm", "reg_imm_off", true],
  [88, "branch_le_s_imm", "reg_imm_off", true],
  [89, "branch_ge_s_imm", "reg_imm_off", true],
  [90, "branch_gt_s_imm", "reg_imm_off", true],
  [100, "move_reg", "reg_reg"],
  [101, "sbrk", "reg_reg"],
  [102, "count_set_bits_64", "reg_reg"],
  [103, "count_set_bits_32", "reg_reg"],
  [104, "leading_zero_bits_64", "reg_reg"],
  [105, "leading_zero_bits_32", "reg_reg"],
  [106, "trailing_zero_bits_64", "reg_reg"],
  [107, "trailing_zero_bits_32", "reg_reg"],
  [108, "sign_extend_8", "reg_reg"],
  [109, "sign_extend_16", "reg_reg"],
  [110, "zero_extend_16", "reg_reg"],
  [111, "reverse_bytes", "reg_reg"],
  [120, "store_ind_u8", "reg_reg_imm"],
  [121, "store_ind_u16", "reg_reg_imm"],
  [122, "store_ind_u32", "reg_reg_imm"],
  [123, "store_ind_u64", "reg_reg_imm"],
  [124, "load_ind_u8", "reg_reg_imm"],
  [125, "load_ind_i8", "reg_reg_imm"],
  [126, "load_ind_u16", "reg_reg_imm"],
  [127, "load_ind_i16", "reg_reg_imm"],
  [128, "load_ind_u32", "reg_reg_imm"],
  [129, "load_ind_i32", "reg_reg_imm"],
  [130, "load_ind_u64", "reg_reg_imm"],
  [131, "add_imm_32", "reg_reg_imm"],
  [132, "and_imm", "reg_reg_imm"],
  [133, "xor_imm", "reg_reg_imm"],
  [134, "or_imm", "reg_reg_imm"],
  [135, "mul_imm_32", "reg_reg_imm"],
  [136, "set_lt_u_imm", "reg_reg_imm"],
  [137, "set_lt_s_imm", "reg_reg_imm"],
  [138, "shlo_l_imm_32", "reg_reg_imm"],
  [139, "shlo_r_imm_32", "reg_reg_imm"],
  [140, "shar_r_imm_32", "reg_reg_imm"],
  [141, "neg_add_imm_32", "reg_reg_imm"],
  [142, "set_gt_u_imm", "reg_reg_imm"],
  [143, "set_gt_s_imm", "reg_reg_imm"],
  [144, "shlo_l_imm_alt_32", "reg_reg_imm"],
  [145, "shlo_r_imm_alt_32", "reg_reg_imm"],
  [146, "shar_r_imm_alt_32", "reg_reg_imm"],
  [147, "cmov_iz_imm", "reg_reg_imm"],
  [148, "cmov_nz_imm", "reg_reg_imm"],
  [149, "add_imm_64", "reg_reg_imm"],
  [150, "mul_imm_64", "reg_reg_imm"],
  [151, "shlo_l_imm_64", "reg_reg_imm"],
  [152, "shlo_r_imm_64", "reg_reg_imm"],
  [153, "shar_r_imm_64", "reg_reg_imm"],
  [154, "neg_add_imm_64", "reg_reg_imm"],
  [155, "shlo_l_imm_alt_64", "reg_reg_imm"],
  [156, "shlo_r_imm_alt_64", "reg_reg_imm"],
  [157, "shar_r_imm_alt_64", "reg_reg_imm"],
  [158, "rot_r_64_imm", "reg_reg_imm"],
  [159, "rot_r_64_imm_alt", "reg_reg_imm"],
  [160, "rot_r_32_imm", "reg_reg_imm"],
  [161, "rot_r_32_imm_alt", "reg_reg_imm"],
  [170, "branch_eq", "reg_reg_off", true],
  [171, "branch_ne", "reg_reg_off", true],
  [172, "branch_lt_u", "reg_reg_off", true],
  [173, "branch_lt_s", "reg_reg_off", true],
  [174, "branch_ge_u", "reg_reg_off", true],
  [175, "branch_ge_s", "reg_reg_off", true],
  [180, "load_imm_jump_ind", "reg_reg_imm_imm", true],
  [190, "add_32", "reg3"],
  [191, "sub_32", "reg3"],
  [192, "mul_32", "reg3"],
  [193, "div_u_32", "reg3"],
  [194, "div_s_32", "reg3"],
  [195, "rem_u_32", "reg3"],
  [196, "rem_s_32", "reg3"],
  [197, "shlo_l_32", "reg3"],
  [198, "shlo_r_32", "reg3"],
  [199, "shar_r_32", "reg3"],
  [200, "add_64", "reg3"],
  [201, "sub_64", "reg3"],
  [202, "mul_64", "reg3"],
  [203, "div_u_64", "reg3"],
  [204, "div_s_64", "reg3"],
  [205, "rem_u_64", "reg3"],
  [206, "rem_s_64", "reg3"],
  [207, "shlo_l_64", "reg3"],
  [208, "shlo_r_64", "reg3"],
  [209, "shar_r_64", "reg3"],
  [210, "and", "reg3"],
  [211, "xor", "reg3"],
  [212, "or", "reg3"],
  [213, "mul_upper_s_s", "reg3"],
  [214, "mul_upper_u_u", "reg3"],
  [215, "mul_upper_s_u", "reg3"],
  [216, "set_lt_u", "reg3"],
  [217, "set_lt_s", "reg3"],
  [218, "cmov_iz", "reg3"],
  [219, "cmov_nz", "reg3"],
  [220, "rot_l_64", "reg3"],
  [221, "rot_l_32", "reg3"],
  [222, "rot_r_64", "reg3"],
  [223, "rot_r_32", "reg3"],
  [224, "and_inv", "reg3"],
  [225, "or_inv", "reg3"],
  [226, "xnor", "reg3"],
  [227, "max", "reg3"],
  [228, "max_u", "reg3"],
  [229, "min", "reg3"],
  [230, "min_u", "reg3"],
] as const satisfies readonly (readonly [number, string, OperandFormat, true?])[];

/** The literal type of `INSTRUCTION_ROWS`, from which mnemonics and ids are derived. */
export type InstructionRows = typeof INSTRUCTION_ROWS;

/** Mnemonic of every known instruction. */
export type Mnemonic = InstructionRows[number][1];

/** Every known instruction, in id order. */
export const INSTRUCTIONS: readonly InstructionInfo[] = INSTRUCTION_ROWS.map((row) =>
  Object.freeze({ id: row[0], name: row[1], format: row[2], terminator: row[3] === true })
);

const byId: (InstructionInfo | undefined)[] = new Array(256);
const byName = new Map<string, InstructionInfo>();
for (const info of INSTRUCTIONS) {
  byId[info.id] = info;
  byName.set(info.name, info);
}

/** Looks up an instruction by internal id; undefined when no instruction has that id. */
export function instructionById(id: number): InstructionInfo | undefined {
  return byId[id];
}

/** Looks up an instruction by mnemonic; undefined when unknown. */
export function instructionByName(name: string): InstructionInfo | undefined {
  return byName.get(name);
}

/** Internal instruction ids keyed by mnemonic. */
export type OpTable = { readonly [R in InstructionRows[number] as R[1]]: R[0] };

/** Internal ids by mnemonic, for code that switches on instructions (`Op.add_64`, …). */
export const Op: OpTable = Object.freeze(
  Object.fromEntries(INSTRUCTIONS.map((i) => [i.name, i.id])),
) as OpTable;
