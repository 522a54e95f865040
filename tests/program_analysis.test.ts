/**
 * The program analysis's flat tables against the reference decoder (`decodeCode`,
 * `decodeAt`) on random code and bitmasks: every instruction, operand, block start, branch
 * target and jump-table entry, plus the synthetic traps where execution can fall off decoded
 * code.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { analyzeProgram, instructionAtPc } from "../src/program/analysis.ts";
import {
  decodeAt,
  decodeCode,
  isOpcodeStart,
  isTerminator,
  isTerminatorOp,
} from "../src/program/decoder.ts";
import { instructionById, JAM_0_7, JAM_0_8, Op } from "../src/program/isa/index.ts";
import { instructionColumns } from "../src/program/isa/columns.ts";
import { validateCode } from "../src/program/validation.ts";
import { rngU32 } from "./fixtures.ts";

Deno.test("analysis tables match the reference decoder on random code and bitmasks", () => {
  for (let seed = 1; seed <= 1500; seed++) {
    const next = rngU32(seed);
    const n = next() % 120;
    const code = new Uint8Array(n).map(() => next() & 0xff);
    const sparse = next() % 3;
    const bitmask = new Uint8Array(Math.ceil(n / 8)).map(() =>
      sparse === 0 ? next() & next() & next() & 0xff : sparse === 1 ? 0xff : next() & 0xff
    );
    const jumpTable = Array.from({ length: next() % 6 }, () => next() % (n + 30));
    const blob = { code, bitmask, jumpTable };
    const p = analyzeProgram(blob, JAM_0_7);
    const ref = decodeCode(code, bitmask, JAM_0_7);
    // Jump targets are the Gray Paper's block starts, which the decoder finds.
    const isTarget = (pc: number) => pc >= 0 && pc < n && ref.blockStart[pc] === 1;
    const at = (pc: number) => instructionAtPc(p, pc);
    const where = `seed ${seed}`;

    // Every decoded instruction is in the tables with the same fields.
    for (const ins of ref.instructions) {
      const i = at(ins.pc);
      assert.ok(i >= 0, `${where}: pc ${ins.pc} missing`);
      assert.equal(p.op[i], ins.op, `${where}: op at ${ins.pc}`);
      assert.deepEqual([p.ra[i], p.rb[i], p.rd[i]], [ins.a, ins.b, ins.d], `${where}: regs`);
      if (ins.op === Op.load_imm_64) {
        assert.equal(BigInt(p.x[i] >>> 0) | (BigInt(p.y[i] >>> 0) << 32n), ins.wide);
      } else {
        const format = instructionById(ins.op)?.format;
        const targetIn = format === "off" || format === "reg_reg_off"
          ? "x"
          : format === "reg_imm_off"
          ? "y"
          : undefined;
        if (targetIn !== "x") assert.equal(p.x[i], ins.x, `${where}: x at ${ins.pc}`);
        if (targetIn !== "y") assert.equal(p.y[i], ins.y, `${where}: y at ${ins.pc}`);
        if (targetIn !== undefined) {
          const t = ins[targetIn];
          assert.equal(p.target[i], isTarget(t) ? at(t) : -1, `${where}: target`);
        }
      }
      // Charged blocks start at 0 and after every terminator or invalid opcode.
      const charged = i === 0 || isTerminatorOp(p.op[i - 1]);
      assert.equal(p.blockStart[i], charged ? 1 : 0, `${where}: block start`);
      if (isTarget(ins.pc)) assert.equal(p.blockStart[i], 1, `${where}: target ${ins.pc} charged`);
      // The successor is the next instruction number, real or a synthetic trap.
      const succ = ins.pc + ins.length;
      assert.equal(p.pc[i + 1], succ, `${where}: successor of ${ins.pc}`);
      if (!isTerminator(ins)) assert.equal(p.toEnd[i], p.toEnd[i + 1] + 1);
      else assert.equal(p.toEnd[i], 1);
    }
    // Everything else in the tables is a trap where no opcode starts.
    const opcodePcs = new Set(ref.instructions.map((ins) => ins.pc));
    for (let i = 0; i < p.count; i++) {
      if (opcodePcs.has(p.pc[i])) continue;
      assert.equal(p.op[i], Op.trap, `${where}: synthetic at ${p.pc[i]}`);
      assert.ok(p.pc[i] >= n || !isOpcodeStart(bitmask, n, p.pc[i]));
      assert.equal(decodeAt(code, bitmask, p.pc[i], JAM_0_7).op, Op.trap);
    }
    assert.equal(p.pc[0], 0);
    for (let i = 1; i < p.count; i++) assert.ok(p.pc[i] > p.pc[i - 1], `${where}: pc order`);
    jumpTable.forEach((t, k) => {
      assert.equal(p.jumpTargets[k], isTarget(t) ? at(t) : -1, `${where}: j${k}`);
    });
    for (let i = 0; i < p.count; i++) {
      assert.equal(p.entryCost[i], p.blockStart[i] === 1 ? p.toEnd[i] : 0, `${where}: gas`);
    }
  }
});

Deno.test("analysis block costs under a non-flat gas model match the reference decoder's blocks", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const next = rngU32(seed);
    const n = 1 + next() % 120;
    const code = new Uint8Array(n).map(() => next() & 0xff);
    const bitmask = new Uint8Array(Math.ceil(n / 8)).map(() => next() & 0xff);
    const p = analyzeProgram({ code, bitmask, jumpTable: [] }, JAM_0_8);
    for (let i = 0; i < p.count; i++) {
      if (p.blockStart[i] !== 1 || p.pc[i] >= n) continue;
      // The block as the reference decoder sees it: from its pc to the first terminator.
      const block = [];
      for (let at = p.pc[i];;) {
        const ins = decodeAt(code, bitmask, at, JAM_0_8);
        block.push(ins);
        if (isTerminator(ins)) break;
        at += ins.length;
      }
      const cost = JAM_0_8.gas.blockCost(instructionColumns(block), 0, block.length, code);
      assert.equal(p.entryCost[i], cost, `seed ${seed}: block at ${p.pc[i]}`);
    }
  }
});

Deno.test("analysis under whole-blob validation finds the violation validateCode finds", () => {
  const rules = new Set<string>();
  for (let seed = 1; seed <= 2000; seed++) {
    const next = rngU32(seed);
    const n = next() % 90;
    // Mostly known opcodes, instruction bits from sparse to dense, sometimes a padding bit.
    const known = [0, 1, 2, 10, 40, 51, 100, 180];
    const code = new Uint8Array(n).map(() => next() % 4 === 0 ? next() & 0xff : known[next() % 8]);
    const bitmask = new Uint8Array(Math.ceil(n / 8));
    const density = 1 + next() % 12;
    for (let at = 0; at < n; at++) {
      if (at === 0 ? next() % 8 !== 0 : next() % density === 0) bitmask[at >> 3] |= 1 << (at & 7);
    }
    if (n % 8 !== 0 && next() % 16 === 0) bitmask[bitmask.length - 1] |= 0x80;
    const expected = validateCode({ code, bitmask }, JAM_0_8);
    rules.add(expected?.rule ?? "valid");
    const p = analyzeProgram({ code, bitmask, jumpTable: [] }, JAM_0_8);
    assert.deepEqual(p.violation, expected, `seed ${seed}`);
  }
  // Every outcome occurred, so each was compared.
  assert.deepEqual(
    [...rules].sort(),
    ["bitmask-padding", "empty-code", "invalid-opcode", "no-instruction-at-walk", "valid"],
  );
});

Deno.test("analysis of arrays that are views at an offset (Node Buffers) matches that of plain ones", () => {
  const columns = ["op", "ra", "rb", "rd", "x", "y", "pc", "target", "blockStart", "entryCost"];
  for (let seed = 1; seed <= 50; seed++) {
    const next = rngU32(seed);
    const n = 1 + next() % 200;
    const code = new Uint8Array(n).map(() => next() & 0xff);
    const bitmask = new Uint8Array(Math.ceil(n / 8)).map(() => next() & 0xff);
    // One buffer holding both at odd offsets: a Buffer's `slice` is a view of it, not a copy.
    const shared = new ArrayBuffer(n + bitmask.length + 8);
    const codeView = Buffer.from(shared, 3, n), bitmaskView = Buffer.from(shared, 5 + n);
    codeView.set(code);
    bitmaskView.set(bitmask);
    // Jump tables that differ, so the analysis cache cannot answer the second from the first.
    const viewed = analyzeProgram(
      { code: codeView, bitmask: bitmaskView, jumpTable: [0] },
      JAM_0_7,
    );
    const plain = analyzeProgram({ code, bitmask, jumpTable: [0, 0] }, JAM_0_7);
    assert.equal(viewed.count, plain.count, `seed ${seed}`);
    for (const column of columns) {
      const key = column as keyof typeof plain;
      assert.deepEqual(viewed[key], plain[key], `seed ${seed}: ${column}`);
    }
  }
});
