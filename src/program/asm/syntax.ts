/**
 * The shape of pvmbox assembly, shared by the parser and the disassembler: register names and
 * the operands each instruction takes, in the order they are written.
 * @module
 */
import type { InstructionInfo } from "../isa/index.ts";

/** Register names as the disassembler prints them (index = register number). */
export const REGISTER_NAMES: readonly string[] = Object.freeze([
  "ra",
  "sp",
  "t0",
  "t1",
  "t2",
  "s0",
  "s1",
  "a0",
  "a1",
  "a2",
  "a3",
  "a4",
  "a5",
]);

const registerByName = new Map<string, number>();
REGISTER_NAMES.forEach((name, i) => {
  registerByName.set(name, i);
  registerByName.set(`r${i}`, i);
});

/** Register number for a name (`r0`…`r12` or an alias), or undefined. Case-insensitive. */
export function registerNumber(name: string): number | undefined {
  return registerByName.get(name.toLowerCase());
}

/**
 * One written operand, naming the instruction field it fills:
 * - `rA`, `rB`, `rD`: a register;
 * - `x`, `y`: an immediate (`x64` for the 64-bit one of `load_imm_64`);
 * - `tx`, `ty`: a branch target held in that immediate (a label or code offset);
 * - `[x]`: a memory operand with an absolute address;
 * - `[rA+x]`, `[rB+x]`: a memory operand based on a register.
 */
export type OperandSlot =
  | "rA"
  | "rB"
  | "rD"
  | "x"
  | "y"
  | "x64"
  | "tx"
  | "ty"
  | "[x]"
  | "[rA+x]"
  | "[rB+x]";

/** The operands of `info`, in written order. */
export function operandSlots(info: InstructionInfo): readonly OperandSlot[] {
  const name = info.name;
  switch (info.format) {
    case "none":
      return [];
    case "imm":
      return ["x"];
    case "reg_ext":
      return ["rA", "x64"];
    case "imm_imm":
      return ["[x]", "y"];
    case "off":
      return ["tx"];
    case "reg_imm":
      if (name.startsWith("load_") && name !== "load_imm") return ["rA", "[x]"];
      if (name.startsWith("store_")) return ["[x]", "rA"];
      return ["rA", "x"];
    case "reg_imm_imm":
      return ["[rA+x]", "y"];
    case "reg_imm_off":
      return ["rA", "x", "ty"];
    case "reg_reg":
      return ["rD", "rA"];
    case "reg_reg_imm":
      if (name.startsWith("load_ind_")) return ["rA", "[rB+x]"];
      if (name.startsWith("store_ind_")) return ["[rB+x]", "rA"];
      return ["rA", "rB", "x"];
    case "reg_reg_off":
      return ["rA", "rB", "tx"];
    case "reg_reg_imm_imm":
      return ["rA", "x", "rB", "y"];
    case "reg3":
      return ["rD", "rA", "rB"];
  }
}

/** Operand template for documentation and error messages, e.g. `rA, [rB + imm]`. */
export function operandTemplate(info: InstructionInfo): string {
  const words: Record<OperandSlot, string> = {
    rA: "reg",
    rB: "reg",
    rD: "reg",
    x: "imm",
    y: "imm",
    x64: "imm64",
    tx: "target",
    ty: "target",
    "[x]": "[address]",
    "[rA+x]": "[reg + offset]",
    "[rB+x]": "[reg + offset]",
  };
  return operandSlots(info).map((s) => words[s]).join(", ");
}
