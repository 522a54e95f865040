/**
 * Per-instruction parameters of the Gray Paper 0.8 pipeline gas model (GP A.10): execution
 * cycles, decode slots, execution units and the registers the model reads and writes, as data.
 * @module
 */
import type { Mnemonic } from "./instructions.ts";

/**
 * Execution cycles: a number, `m` (the memory latency of loads) or `b` (the branch cost, 1 when
 * the byte at the target or the fall-through is `trap`/`unlikely`, else 20).
 */
export type CyclesRule = number | "m" | "b";

/**
 * Decode slots: a number, `P(a,b)` (a when a source register is also the destination, else b)
 * or `Ps(a,b)` (a when register A is register D, else b).
 */
export type DecodeRule = number | readonly ["P" | "Ps", number, number];

/** Execution units, one letter per unit taken: A(LU), L(oad), S(tore), M(ul), D(iv). */
export type UnitsRule = "" | "A" | "AA" | "AL" | "AS" | "AM" | "AD";

/** Source registers, named by the decoder's fields: any of `A`, `B`. */
export type SourceRule = "" | "A" | "B" | "AB";

/** The destination register, named by the decoder's field: `A` or `D`, or none. */
export type DestinationRule = "" | "A" | "D";

/** One row of the model's table: cycles, decode slots, units, sources, destination. */
export type PipelineParams = readonly [
  CyclesRule,
  DecodeRule,
  UnitsRule,
  SourceRule,
  DestinationRule,
];

const P = (a: number, b: number) => ["P", a, b] as const;
const Ps = (a: number, b: number) => ["Ps", a, b] as const;

const ALU64: PipelineParams = [1, P(1, 2), "A", "AB", "D"];
const ALU32: PipelineParams = [2, P(2, 3), "A", "AB", "D"];
const ALU64_IMM: PipelineParams = [1, P(1, 2), "A", "B", "A"];
const ALU32_IMM: PipelineParams = [2, P(2, 3), "A", "B", "A"];
const TRIVIAL: PipelineParams = [1, 1, "A", "A", "D"];
const SHIFT64: PipelineParams = [1, Ps(2, 3), "A", "AB", "D"];
const SHIFT32: PipelineParams = [2, Ps(3, 4), "A", "AB", "D"];
const ALT64: PipelineParams = [1, 3, "A", "B", "A"];
const ALT32: PipelineParams = [2, 4, "A", "B", "A"];
const COMPARE: PipelineParams = [3, 3, "A", "AB", "D"];
const COMPARE_IMM: PipelineParams = [3, 3, "A", "B", "A"];
const MIN_MAX: PipelineParams = [3, P(2, 3), "A", "AB", "D"];
const DIV: PipelineParams = [60, 4, "AD", "AB", "D"];
const LOAD: PipelineParams = ["m", 1, "AL", "", "A"];
const LOAD_IND: PipelineParams = ["m", 1, "AL", "B", "A"];
const STORE_IMM: PipelineParams = [25, 1, "AS", "", ""];
const STORE: PipelineParams = [25, 1, "AS", "A", ""];
const STORE_IND: PipelineParams = [25, 1, "AS", "AB", ""];
const BRANCH_IMM: PipelineParams = ["b", 1, "A", "A", ""];
const BRANCH: PipelineParams = ["b", 1, "A", "AB", ""];

/**
 * The table of PVM-0.8.md §2 by mnemonic. `cmov_*` read only their condition and value
 * registers, not the destination (the reading PolkaVM's model and the published costs follow).
 */
export const PIPELINE_PARAMS: Readonly<Record<Exclude<Mnemonic, "sbrk">, PipelineParams>> = {
  trap: [2, 1, "", "", ""],
  fallthrough: [2, 1, "", "", ""],
  unlikely: [40, 1, "", "", ""],
  ecalli: [100, 4, "A", "", ""],
  load_imm_64: [1, 2, "", "", "A"],
  store_imm_u8: STORE_IMM,
  store_imm_u16: STORE_IMM,
  store_imm_u32: STORE_IMM,
  store_imm_u64: STORE_IMM,
  jump: [15, 1, "", "", ""],
  jump_ind: [22, 1, "", "A", ""],
  load_imm: [1, 1, "", "", "A"],
  load_u8: LOAD,
  load_i8: LOAD,
  load_u16: LOAD,
  load_i16: LOAD,
  load_u32: LOAD,
  load_i32: LOAD,
  load_u64: LOAD,
  store_u8: STORE,
  store_u16: STORE,
  store_u32: STORE,
  store_u64: STORE,
  store_imm_ind_u8: STORE,
  store_imm_ind_u16: STORE,
  store_imm_ind_u32: STORE,
  store_imm_ind_u64: STORE,
  load_imm_jump: [15, 1, "", "", "A"],
  branch_eq_imm: BRANCH_IMM,
  branch_ne_imm: BRANCH_IMM,
  branch_lt_u_imm: BRANCH_IMM,
  branch_le_u_imm: BRANCH_IMM,
  branch_ge_u_imm: BRANCH_IMM,
  branch_gt_u_imm: BRANCH_IMM,
  branch_lt_s_imm: BRANCH_IMM,
  branch_le_s_imm: BRANCH_IMM,
  branch_ge_s_imm: BRANCH_IMM,
  branch_gt_s_imm: BRANCH_IMM,
  move_reg: [0, 1, "", "A", "D"],
  count_set_bits_64: TRIVIAL,
  count_set_bits_32: TRIVIAL,
  leading_zero_bits_64: TRIVIAL,
  leading_zero_bits_32: TRIVIAL,
  trailing_zero_bits_64: [2, 1, "AA", "A", "D"],
  trailing_zero_bits_32: [2, 1, "AA", "A", "D"],
  sign_extend_8: TRIVIAL,
  sign_extend_16: TRIVIAL,
  zero_extend_16: TRIVIAL,
  reverse_bytes: [1, P(1, 2), "A", "A", "D"],
  store_ind_u8: STORE_IND,
  store_ind_u16: STORE_IND,
  store_ind_u32: STORE_IND,
  store_ind_u64: STORE_IND,
  load_ind_u8: LOAD_IND,
  load_ind_i8: LOAD_IND,
  load_ind_u16: LOAD_IND,
  load_ind_i16: LOAD_IND,
  load_ind_u32: LOAD_IND,
  load_ind_i32: LOAD_IND,
  load_ind_u64: LOAD_IND,
  add_imm_32: ALU32_IMM,
  and_imm: ALU64_IMM,
  xor_imm: ALU64_IMM,
  or_imm: ALU64_IMM,
  mul_imm_32: [4, P(2, 3), "AM", "B", "A"],
  set_lt_u_imm: COMPARE_IMM,
  set_lt_s_imm: COMPARE_IMM,
  shlo_l_imm_32: ALU32_IMM,
  shlo_r_imm_32: ALU32_IMM,
  shar_r_imm_32: ALU32_IMM,
  neg_add_imm_32: [3, 4, "A", "B", "A"],
  set_gt_u_imm: COMPARE_IMM,
  set_gt_s_imm: COMPARE_IMM,
  shlo_l_imm_alt_32: ALT32,
  shlo_r_imm_alt_32: ALT32,
  shar_r_imm_alt_32: ALT32,
  cmov_iz_imm: [2, 3, "A", "B", "A"],
  cmov_nz_imm: [2, 3, "A", "B", "A"],
  add_imm_64: ALU64_IMM,
  mul_imm_64: [3, P(1, 2), "AM", "B", "A"],
  shlo_l_imm_64: ALU64_IMM,
  shlo_r_imm_64: ALU64_IMM,
  shar_r_imm_64: ALU64_IMM,
  neg_add_imm_64: [2, 3, "A", "B", "A"],
  shlo_l_imm_alt_64: ALT64,
  shlo_r_imm_alt_64: ALT64,
  shar_r_imm_alt_64: ALT64,
  rot_r_64_imm: ALU64_IMM,
  rot_r_64_imm_alt: ALT64,
  rot_r_32_imm: ALU32_IMM,
  rot_r_32_imm_alt: ALT32,
  branch_eq: BRANCH,
  branch_ne: BRANCH,
  branch_lt_u: BRANCH,
  branch_lt_s: BRANCH,
  branch_ge_u: BRANCH,
  branch_ge_s: BRANCH,
  load_imm_jump_ind: [22, 1, "", "B", "A"],
  add_32: ALU32,
  sub_32: ALU32,
  mul_32: [4, P(2, 3), "AM", "AB", "D"],
  div_u_32: DIV,
  div_s_32: DIV,
  rem_u_32: DIV,
  rem_s_32: DIV,
  shlo_l_32: SHIFT32,
  shlo_r_32: SHIFT32,
  shar_r_32: SHIFT32,
  add_64: ALU64,
  sub_64: ALU64,
  mul_64: [3, P(1, 2), "AM", "AB", "D"],
  div_u_64: DIV,
  div_s_64: DIV,
  rem_u_64: DIV,
  rem_s_64: DIV,
  shlo_l_64: SHIFT64,
  shlo_r_64: SHIFT64,
  shar_r_64: SHIFT64,
  and: ALU64,
  xor: ALU64,
  or: ALU64,
  mul_upper_s_s: [4, 4, "AM", "AB", "D"],
  mul_upper_u_u: [4, 4, "AM", "AB", "D"],
  mul_upper_s_u: [6, 4, "AM", "AB", "D"],
  set_lt_u: COMPARE,
  set_lt_s: COMPARE,
  cmov_iz: [2, 2, "A", "AB", "D"],
  cmov_nz: [2, 2, "A", "AB", "D"],
  rot_l_64: SHIFT64,
  rot_l_32: SHIFT32,
  rot_r_64: SHIFT64,
  rot_r_32: SHIFT32,
  and_inv: [2, 3, "A", "AB", "D"],
  or_inv: [2, 3, "A", "AB", "D"],
  xnor: ALU32,
  max: MIN_MAX,
  max_u: MIN_MAX,
  min: MIN_MAX,
  min_u: MIN_MAX,
};
