/**
 * Every jam-0.7 instruction, compiled and run in a real zygote, against the interpreter: edge
 * values (0, ±1, 32- and 64-bit extremes, shift counts ≥ 32 and ≥ 64, divisors 0 and −1) in
 * every register, with destination and sources aliased in every way, and registers that the
 * code generator treats specially (rax and rdx around multiply and divide, rbp/r12 bases). A
 * host call after each instruction compares all registers and gas at that point.
 */
import { instructionById, INSTRUCTIONS, Op } from "../src/program/isa/index.ts";
import { JAM_0_7 } from "../src/program/isa/jam07.ts";
import { runBoth } from "./compiler_harness.ts";
import { rngU32 } from "./fixtures.ts";
import { Asm } from "./interpreter_asm_util.ts";

const EDGE: readonly bigint[] = [
  0n,
  1n,
  -1n,
  2n,
  31n,
  32n,
  63n,
  64n,
  65n,
  0x7fffffffn,
  0x80000000n,
  -0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x7fffffffffffffffn,
  -0x8000000000000000n,
  0x123456789abcdef0n,
  -0x0123456789abcdefn,
  0xfedcba98n,
  -2n,
];
const IMMEDIATES = [
  0,
  1,
  -1,
  5,
  31,
  32,
  63,
  64,
  127,
  -128,
  0xff,
  0xffff,
  0x7fffffff,
  -0x80000000,
  0x12345678,
];

/** Register triples (D, A, B) covering aliasing and the specially treated native registers. */
const TRIPLES: readonly (readonly [number, number, number])[] = [
  [0, 1, 2],
  [1, 1, 2],
  [2, 1, 2],
  [3, 3, 3],
  [4, 5, 5],
  [7, 8, 9],
  [8, 7, 9],
  [9, 7, 8],
  [7, 7, 8],
  [8, 8, 7],
  [7, 8, 7],
  [10, 1, 10],
  [11, 12, 10],
  [12, 7, 8],
  [6, 8, 8],
];

function formatOf(id: number): string {
  return instructionById(id)!.format;
}

/** The profile's instructions of one operand format. */
function opsOf(format: string): number[] {
  return INSTRUCTIONS.filter((i) => i.format === format && JAM_0_7.encodeTable[i.id] >= 0)
    .map((i) => i.id);
}

/** Registers filled from the edge values starting at `offset`. */
function edgeRegisters(offset: number): bigint[] {
  return Array.from({ length: 13 }, (_, r) => EDGE[(offset + r * 7) % EDGE.length]);
}

for (const op of opsOf("reg3")) {
  Deno.test(`compiled ${instructionById(op)!.name} matches the interpreter`, () => {
    for (let round = 0; round < 4; round++) {
      const asm = new Asm();
      TRIPLES.forEach(([d, a, b], k) => {
        asm.reg3(op, d, a, b).ecalli(k);
        // Reload the sources so every triple sees edge values, not only earlier results.
        asm.loadImm64(a, EDGE[(round * 3 + k) % EDGE.length]);
        asm.loadImm64(b, EDGE[(round * 5 + k * 3 + 1) % EDGE.length]).ecalli(100 + k);
      });
      asm.none(Op.trap);
      runBoth(asm.build(), { registers: edgeRegisters(round), maxExits: 100 });
    }
  });
}

for (
  const op of opsOf("reg_reg_imm").filter((id) => id < Op.store_ind_u8 || id > Op.load_ind_u64)
) {
  Deno.test(`compiled ${instructionById(op)!.name} matches the interpreter`, () => {
    for (let round = 0; round < 3; round++) {
      const asm = new Asm();
      IMMEDIATES.forEach((imm, k) => {
        const [, a, b] = TRIPLES[(k + round) % TRIPLES.length];
        asm.regRegImm(op, a, b, imm).ecalli(k);
        asm.loadImm64(b, EDGE[(round * 7 + k) % EDGE.length]).ecalli(k);
        asm.regRegImm(op, a, b, imm).ecalli(k);
      });
      asm.none(Op.trap);
      runBoth(asm.build(), { registers: edgeRegisters(round * 5), maxExits: 100 });
    }
  });
}

for (const op of opsOf("reg_reg").filter((id) => id !== Op.sbrk)) {
  Deno.test(`compiled ${instructionById(op)!.name} matches the interpreter`, () => {
    const asm = new Asm();
    EDGE.forEach((value, k) => {
      const [d, a] = TRIPLES[k % TRIPLES.length];
      asm.loadImm64(a, value).regReg(op, d, a).ecalli(k);
    });
    asm.none(Op.trap);
    runBoth(asm.build(), { maxExits: 100 });
  });
}

Deno.test("compiled load_imm and load_imm_64 match the interpreter", () => {
  const asm = new Asm();
  IMMEDIATES.forEach((imm, k) => asm.regImm(Op.load_imm, k % 13, imm).ecalli(k));
  EDGE.forEach((value, k) => asm.loadImm64(k % 13, value).ecalli(k));
  asm.none(Op.trap);
  runBoth(asm.build(), { registers: edgeRegisters(3), maxExits: 100 });
});

Deno.test("compiled branches take the interpreter's direction on edge values", () => {
  const next = rngU32(8);
  for (const op of [...opsOf("reg_reg_off"), ...opsOf("reg_imm_off")]) {
    const asm = new Asm();
    for (let k = 0; k < 24; k++) {
      const a = next() % 13, b = next() % 13;
      asm.loadImm64(a, EDGE[next() % EDGE.length]);
      asm.loadImm64(b, EDGE[next() % EDGE.length]);
      const imm = IMMEDIATES[next() % IMMEDIATES.length];
      if (formatOf(op) === "reg_reg_off") asm.regRegOff(op, a, b, `t${k}`);
      else asm.regImmOff(op, a, imm, `t${k}`);
      // Not taken: ecalli 1; taken: ecalli 2. Both continue at the next case.
      asm.ecalli(1).jump(`n${k}`).label(`t${k}`).ecalli(2).jump(`n${k}`).label(`n${k}`);
    }
    asm.none(Op.trap);
    const exits = runBoth(asm.build(), { maxExits: 100 });
    if (!exits.some((e) => e.kind === "host-call" && e.id === 2)) {
      throw new Error(`${instructionById(op)!.name}: no case took the branch`);
    }
  }
});
