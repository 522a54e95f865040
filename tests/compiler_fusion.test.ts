/**
 * Fused instruction pairs (src/compiler/fusion.ts) against the interpreter: every register
 * aliasing of `shlo_l_imm_64` + `add_64` that fuses into one scaled-index `lea` and of the
 * shift pairs that fuse into one extension, near misses that must not fuse, runs entered at the
 * second instruction of a pair (its out-of-line entry), and a load through the result that
 * faults right after the fused code.
 */
import assert from "node:assert/strict";
import { Fusion, fusionAt } from "../src/compiler/fusion.ts";
import { instructionAtPc } from "../src/program/analysis.ts";
import { Op } from "../src/program/isa/index.ts";
import { ENGINES, forEachEngine } from "./backends.ts";
import { compileBlob } from "./compiler_harness.ts";
import { runOnEngines, type Start } from "./differential/run.ts";
import { Asm, programOf, type TestBlob } from "./interpreter_asm_util.ts";

const [REFERENCE] = ENGINES;
const TABLE = 0x20000;

/** (r, s, base, base first in the add, k) of each pair: `r = s << k; r = base + r`. */
const PAIRS: readonly (readonly [number, number, number, boolean, number])[] = [
  [8, 8, 3, false, 2], // r = r << 2 + base, the table lookup
  [8, 8, 3, true, 2],
  [0, 1, 2, false, 1], // s distinct
  [1, 2, 2, true, 3], // s is the base
  [5, 5, 12, false, 3], // rbp as the index, r12 as the base (SIB special cases)
  [12, 12, 5, true, 1], // rbp as the base (needs a displacement), r12 as the index
  [7, 9, 9, false, 1],
];

/** Registers: bases at the table, indexes and the rest at edges of 64-bit arithmetic. */
const REGISTERS = Array.from(
  { length: 13 },
  (_, r) =>
    [3n, 2n, 12n, 5n, 9n].includes(BigInt(r))
      ? BigInt(TABLE + 16 * r)
      : [0n, 1n, 7n, 0xffffffffn, 1n << 62n, (1n << 64n) - 1n][r % 6],
);

/** (r, s, k, arithmetic) of each extension: `r = s << k; r = r >> k`. */
const EXTENSIONS: readonly (readonly [number, number, number, boolean])[] = [
  [7, 7, 32, false],
  [7, 7, 32, true],
  [0, 4, 48, false],
  [1, 6, 48, true],
  [6, 6, 56, false], // rsi: its byte register sil needs a REX prefix
  [11, 2, 56, true],
  [12, 5, 56, false],
];

/**
 * Each pair, a host call to compare the state, and a load through the result (that may fault);
 * returns the program and the pc of each pair's second instruction.
 */
function pairsProgram(): { blob: TestBlob; seconds: number[] } {
  const asm = new Asm();
  const seconds: number[] = [];
  PAIRS.forEach(([r, s, base, baseFirst, k], n) => {
    asm.regRegImm(Op.shlo_l_imm_64, r, s, k);
    seconds.push(asm.pc);
    asm.reg3(Op.add_64, r, baseFirst ? base : r, baseFirst ? r : base).ecalli(n);
    asm.regRegImm(Op.load_ind_u32, 10, r, 0).ecalli(100 + n);
  });
  EXTENSIONS.forEach(([r, s, k, arithmetic], n) => {
    // An edge value in s: the sign bit of each kept width set, bits above it too.
    asm.loadImm64(s, -0x7edcba9876543210n * BigInt(2 * n + 1));
    asm.regRegImm(Op.shlo_l_imm_64, r, s, k);
    seconds.push(asm.pc);
    asm.regRegImm(arithmetic ? Op.shar_r_imm_64 : Op.shlo_r_imm_64, r, r, k).ecalli(200 + n);
  });
  asm.none(Op.trap);
  return { blob: asm.build(), seconds };
}

function start(blob: TestBlob, pc: number): Start {
  return {
    program: programOf(blob),
    regions: [{
      address: TABLE,
      length: 0x1000,
      access: "read",
      contents: Uint8Array.from({ length: 0x1000 }, (_, i) => i * 7),
    }],
    registers: REGISTERS,
    gas: 10_000n,
    pc,
    heapTop: 0x30000,
  };
}

Deno.test("every aliasing of the fused patterns fuses; other shifts and destinations do not", () => {
  const { blob, seconds } = pairsProgram();
  const { analysis } = compileBlob(blob);
  const fused = [];
  for (let i = 0; i < analysis.count; i++) {
    if (fusionAt(analysis, i) !== Fusion.none) fused.push(analysis.pc[i + 1]);
  }
  assert.deepEqual(fused, seconds);
  const misses = new Asm()
    .regRegImm(Op.shlo_l_imm_64, 8, 8, 4).reg3(Op.add_64, 8, 8, 3) // × 16: no x86 scale
    .regRegImm(Op.shlo_l_imm_64, 8, 8, 0).reg3(Op.add_64, 8, 8, 3) // no shift
    .regRegImm(Op.shlo_l_imm_64, 8, 8, 2).reg3(Op.add_64, 9, 8, 3) // another destination
    .regRegImm(Op.shlo_l_imm_64, 8, 8, 2).reg3(Op.add_64, 8, 8, 8) // r + r
    .regRegImm(Op.shlo_l_imm_64, 8, 9, 32).regRegImm(Op.shlo_r_imm_64, 8, 8, 31) // other count
    .regRegImm(Op.shlo_l_imm_64, 8, 9, 40).regRegImm(Op.shar_r_imm_64, 8, 8, 40) // 24 bits
    .regRegImm(Op.shlo_l_imm_64, 8, 9, 48).regRegImm(Op.shlo_r_imm_64, 7, 8, 48) // another one
    .regRegImm(Op.shlo_l_imm_64, 8, 9, 56).regRegImm(Op.shlo_r_imm_64, 8, 9, 56) // from s
    .none(Op.trap).build();
  const missed = compileBlob(misses).analysis;
  for (let i = 0; i < missed.count; i++) assert.equal(fusionAt(missed, i), Fusion.none, `at ${i}`);
});

forEachEngine(
  "fused pairs match the interpreter, from the start and entered mid-pair",
  (engine) => {
    const { blob, seconds } = pairsProgram();
    const { analysis, compiled } = compileBlob(blob);
    for (const pc of [0, ...seconds]) {
      const report = runOnEngines(start(blob, pc), [REFERENCE, engine], pc);
      assert.equal(report.mismatch?.difference.message, undefined, `from pc ${pc}`);
      assert.ok(report.exits.includes("host-call"), `from pc ${pc}: ${report.exits}`);
      if (pc > 0) {
        // The second instruction's entry is out of line, after every instruction's own code.
        const i = instructionAtPc(analysis, pc);
        assert.ok(compiled.instructionEntry(i) > compiled.instructionEntry(analysis.count - 1));
      }
    }
    // Loads through results outside the table fault next to the fused code and resume.
    const faulting = runOnEngines(
      { ...start(blob, 0), registers: REGISTERS.map((v) => v + 0x5000n) },
      [REFERENCE, engine],
      7,
    );
    assert.equal(faulting.mismatch?.difference.message, undefined);
    assert.ok(faulting.exits.includes("page-fault"), `${faulting.exits}`);
  },
  { engines: ENGINES.filter((e) => e.name === "native") },
);
