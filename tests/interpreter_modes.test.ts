/**
 * Differential test of the two execution modes: seeded random programs (arithmetic, loads and
 * stores around page edges, branches and jumps to block starts and into the middle of blocks,
 * dynamic jumps through the jump table, host calls, sbrk, traps) run with translated blocks and
 * with the dispatch loop must give the same exits, registers, gas, pc and memory at every stop.
 * Host calls, page faults and out-of-gas are serviced identically and resumed.
 */
import assert from "node:assert/strict";
import { Interpreter } from "../src/interpreter/interpreter.ts";
import { INSTRUCTIONS, Op } from "../src/program/isa/index.ts";
import type { Exit } from "../src/pvm/mod.ts";
import { rngU32 } from "./fixtures.ts";
import { Asm, type TestBlob } from "./interpreter_asm_util.ts";

const PROGRAMS = 400;

const byFormat = (format: string, extra: (name: string) => boolean = () => true): number[] =>
  INSTRUCTIONS.filter((i) => i.format === format && !i.terminator && extra(i.name) && i.id !== 2)
    .map((i) => i.id);

const REG3 = byFormat("reg3");
const REG_REG_IMM = byFormat("reg_reg_imm");
const REG_REG = byFormat("reg_reg", (n) => n !== "sbrk");
const REG_IMM = byFormat("reg_imm");
const IMM_IMM = byFormat("imm_imm");
const REG_IMM_IMM = byFormat("reg_imm_imm");
const BRANCH_IMM = INSTRUCTIONS.filter((i) =>
  i.format === "reg_imm_off" && i.id !== Op.load_imm_jump
)
  .map((i) => i.id);
const BRANCH_REG = INSTRUCTIONS.filter((i) => i.format === "reg_reg_off").map((i) => i.id);

/** An immediate that often lands near the mapped pages or on small and edge values. */
function immediate(next: () => number): number {
  switch (next() % 5) {
    case 0:
      return 0x20000 + (next() % 0x3400) - 0x200;
    case 1:
      return (next() % 64) - 8;
    case 2:
      return next() | 0;
    case 3:
      return [0, -1, 0x7fffffff, -0x80000000, 0xffff0000 | 0, 4096, 4095][next() % 7];
    default:
      return next() % 0x4000;
  }
}

function randomProgram(seed: number, minBlocks = 3, extraBlocks = 12): TestBlob {
  const next = rngU32(seed);
  const reg = () => next() % 13;
  const asm = new Asm();
  const blocks = minBlocks + (next() % extraBlocks);
  const labels: string[] = [];
  for (let b = 0; b < blocks; b++) labels.push(`b${b}`, `m${b}`);
  const anyLabel = () => labels[next() % labels.length];
  const blockLabel = () => `b${next() % blocks}`;
  for (let b = 0; b < blocks; b++) {
    asm.label(`b${b}`);
    const body = next() % 10;
    for (let k = 0; k < body; k++) {
      if (k === body >> 1) asm.label(`m${b}`);
      const kind = next() % 20;
      if (kind < 5) asm.reg3(REG3[next() % REG3.length], reg(), reg(), reg());
      else if (kind < 10) {
        asm.regRegImm(REG_REG_IMM[next() % REG_REG_IMM.length], reg(), reg(), immediate(next));
      } else if (kind < 12) asm.regReg(REG_REG[next() % REG_REG.length], reg(), reg());
      else if (kind < 15) asm.regImm(REG_IMM[next() % REG_IMM.length], reg(), immediate(next));
      else if (kind === 15) asm.immImm(IMM_IMM[next() % IMM_IMM.length], immediate(next), next());
      else if (kind === 16) {
        asm.regImmImm(REG_IMM_IMM[next() % REG_IMM_IMM.length], reg(), immediate(next), next());
      } else if (kind === 17) asm.ecalli(next() % 4);
      else if (kind === 18) {
        asm.loadImm64(reg(), (BigInt(next()) << 32n) | BigInt(next()));
      } else {
        asm.regImm(Op.load_imm, 12, next() % 0x3000).regReg(Op.sbrk, reg(), 12);
      }
    }
    if (body <= 1) asm.label(`m${b}`);
    switch (next() % 10) {
      case 0:
        asm.none(Op.trap);
        break;
      case 9:
        asm.regImm(Op.load_imm, 11, 0xffff0000 | 0).regImm(Op.jump_ind, 11, 0);
        break;
      case 1:
        asm.none(Op.fallthrough);
        break;
      case 2:
        asm.jump(next() % 4 === 0 ? anyLabel() : blockLabel());
        break;
      case 3: // jump_ind through the table (or the halt address, or junk)
        asm.regImm(
          Op.load_imm,
          11,
          [2 * (1 + (next() % (2 * blocks))), 0xffff0000 | 0, 3][
            next() % 4 === 0 ? 1 + (next() % 2) : 0
          ],
        ).regImm(Op.jump_ind, 11, 0);
        break;
      case 4:
        asm.regRegImmImm(Op.load_imm_jump_ind, reg(), 11, next(), 2 * (1 + (next() % blocks)));
        break;
      case 5:
        asm.regImmOff(Op.load_imm_jump, reg(), immediate(next), blockLabel());
        break;
      case 6:
      case 7:
        asm.regImmOff(
          BRANCH_IMM[next() % BRANCH_IMM.length],
          reg(),
          immediate(next),
          next() % 5 === 0 ? anyLabel() : blockLabel(),
        );
        break;
      default:
        asm.regRegOff(BRANCH_REG[next() % BRANCH_REG.length], reg(), reg(), blockLabel());
    }
  }
  return asm.build(labels);
}

interface Snapshot {
  exit: Exit;
  regs: bigint[];
  gas: bigint;
  pc: number;
  heapTop: number;
  executed: number;
}

/** Runs `blob` to its end, servicing stops the same way in either mode; returns every stop. */
function trace(
  blob: TestBlob,
  compile: boolean,
  seed: number,
): { stops: Snapshot[]; memory: string } {
  const next = rngU32(seed ^ 0x5bd1e995);
  using vm = new Interpreter(blob, { compile });
  vm.memory.map(0x20000, 0x2000, "read-write");
  vm.memory.map(0x22000, 0x1000, "read");
  vm.heapTop = 0x30000;
  for (let r = 0; r < 13; r++) {
    vm.setRegister(
      r,
      r < 6 ? (BigInt(next()) << 32n) | BigInt(next()) : BigInt(0x20000 + next() % 0x3000),
    );
  }
  vm.gas = BigInt(200 + next() % 3000);
  vm.pc = 0;
  const stops: Snapshot[] = [];
  for (let round = 0; round < 40; round++) {
    const exit = vm.run();
    stops.push({
      exit,
      regs: Array.from({ length: 13 }, (_, i) => vm.getRegister(i)),
      gas: vm.gas,
      pc: vm.pc,
      heapTop: vm.heapTop,
      executed: vm.instructionsExecuted,
    });
    if (exit.kind === "host-call") vm.setRegister(7, vm.getRegister(7) + BigInt(exit.id + 1));
    else if (exit.kind === "page-fault") vm.memory.map(exit.address, 4096, "read-write");
    else if (exit.kind === "out-of-gas") vm.gas += 500n;
    else break;
  }
  const memory = vm.memory.mappedPages()
    .map((page) => `${page}:${vm.memory.accessAt(page)}:${vm.memory.read(page, 4096).join(",")}`)
    .join("|");
  return { stops, memory };
}

/** Runs `blob` in both modes and asserts the same stops and memory; returns the stops. */
function assertModesAgree(blob: TestBlob, seed: number, what: string): Snapshot[] {
  const translated = trace(blob, true, seed);
  const looped = trace(blob, false, seed);
  assert.deepEqual(translated.stops, looped.stops, `${what}: stops differ`);
  assert.equal(translated.memory, looped.memory, `${what}: memory differs`);
  return translated.stops;
}

Deno.test("random programs: translated blocks and the dispatch loop agree at every stop", () => {
  const kinds = new Map<string, number>();
  for (let seed = 1; seed <= PROGRAMS; seed++) {
    const blob = randomProgram(seed);
    const stops = assertModesAgree(blob, seed, `program ${seed}`);
    for (const s of stops) kinds.set(s.exit.kind, (kinds.get(s.exit.kind) ?? 0) + 1);
  }
  // The generator must reach every kind of stop, or the comparison proves little.
  for (const kind of ["halt", "panic", "page-fault", "host-call", "out-of-gas"]) {
    assert.ok((kinds.get(kind) ?? 0) >= 5, `only ${kinds.get(kind) ?? 0} ${kind} stops`);
  }
});

/** Random bytes as code with a random bitmask: invalid opcodes, long skips, odd targets. */
function soup(seed: number): TestBlob {
  const next = rngU32(seed);
  const length = next() % 300;
  const code = new Uint8Array(length).map(() => next() & 0xff);
  const bitmask = new Uint8Array(Math.ceil(length / 8)).map(() => {
    const density = next() % 4;
    return density === 0 ? next() & 0xff : density === 1 ? 0xff : next() & next() & 0xff;
  });
  const jumpTable = Array.from({ length: next() % 8 }, () => next() % (length + 4));
  return { code, bitmask, jumpTable };
}

Deno.test("instruction soups: translated blocks and the dispatch loop agree at every stop", () => {
  for (let seed = 1; seed <= PROGRAMS; seed++) {
    const blob = soup(seed);
    assertModesAgree(blob, seed, `soup ${seed}`);
  }
});

Deno.test("large random programs: control flow across translated chunks agrees too", () => {
  for (let seed = 1; seed <= 60; seed++) {
    // 150+ blocks of up to 10 instructions: several chunks of at most 400 instructions.
    const blob = randomProgram(100_000 + seed, 150, 100);
    assertModesAgree(blob, seed, `program ${seed}`);
  }
});
