/**
 * Names of the x86-64 operands the encoder takes as plain numbers: registers, condition codes,
 * the opcode extensions of the ALU, shift and unary groups, and the addressing modes.
 * @module
 */

/** General-purpose registers by their ISA numbers (rax 0 … r15 15). */
export const Reg = {
  rax: 0,
  rcx: 1,
  rdx: 2,
  rbx: 3,
  rsp: 4,
  rbp: 5,
  rsi: 6,
  rdi: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
} as const;

/** Condition codes (the low nibble of jcc, setcc and cmovcc). */
export const Cond = {
  o: 0,
  no: 1,
  b: 2,
  ae: 3,
  e: 4,
  ne: 5,
  be: 6,
  a: 7,
  s: 8,
  ns: 9,
  l: 12,
  ge: 13,
  le: 14,
  g: 15,
} as const;

/** ALU operations by their /digit in the 0x81 group (the register form is `digit * 8 + 1`). */
export const Alu = { add: 0, or: 1, and: 4, sub: 5, xor: 6, cmp: 7 } as const;

/** Shifts and rotates by their /digit in the 0xC1 / 0xD3 group. */
export const Shift = { rol: 0, ror: 1, shl: 4, shr: 5, sar: 7 } as const;

/** One-operand operations by their /digit in the 0xF7 group. */
export const Unary = { not: 2, neg: 3, mul: 4, imul: 5, div: 6, idiv: 7 } as const;

/**
 * How a memory operand is addressed:
 * - `base64`: [base + disp] with a 64-bit base register;
 * - `base32`: [base32 + disp] with the address-size prefix, so the address wraps at 4 GiB;
 * - `absolute32`: [disp] as a 32-bit address (address-size prefix, no base, no index);
 * - `scaled8`: [index * 8 + disp] with a 64-bit index register and no base;
 * - `rip`: [rip + rel32] reaching code offset `disp` of the code being assembled (the base is
 *   ignored): the encoder turns it into a displacement from the instruction's end, so the target
 *   must lie within ±2 GiB of it wherever the code is loaded.
 */
export const Addr = { base64: 0, base32: 1, absolute32: 2, scaled8: 3, rip: 4 } as const;

/** Widths of memory accesses in bytes, as the store and load helpers take them. */
export type AccessSize = 1 | 2 | 4 | 8;

/** Loads by how they extend the loaded value into the 64-bit destination. */
export const Load = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  u64: 6,
} as const;
