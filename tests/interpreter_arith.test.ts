/**
 * Differential test of the interpreter's allocation-free 64-bit arithmetic against a BigInt
 * reference written straight from the opcode table: for every arithmetic, logic, shift, compare
 * and branch instruction, at least 100,000 seeded random cases (uniform, small, sign-extended
 * and edge values) run through the interpreter and must give the reference's registers.
 */
import assert from "node:assert/strict";
import { Interpreter } from "../src/interpreter/interpreter.ts";
import { Op } from "../src/program/isa/index.ts";
import { Asm } from "./interpreter_asm_util.ts";

const CASES_PER_OP = 100_000;
const CHAIN = 32;
const RUNS_PER_CHAIN = 32;
const M64 = (1n << 64n) - 1n;
const u = (v: bigint): bigint => BigInt.asUintN(64, v);
const s = (v: bigint): bigint => BigInt.asIntN(64, v);
const lo32 = (v: bigint): bigint => v & 0xffffffffn;
const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);
const sx32 = (v: bigint): bigint => u(BigInt.asIntN(32, v));
const bool = (c: boolean): bigint => (c ? 1n : 0n);
const rotr64 = (v: bigint, n: bigint): bigint =>
  u((v >> (n % 64n)) | (v << ((64n - n % 64n) % 64n)));
const rotr32 = (v: bigint, n: bigint): bigint =>
  lo32((lo32(v) >> (n % 32n)) | (lo32(v) << ((32n - n % 32n) % 32n)));
const smod = (a: bigint, b: bigint): bigint =>
  (a < 0n ? -1n : 1n) * ((a < 0n ? -a : a) % (b < 0n ? -b : b));
const popcount = (v: bigint): bigint => BigInt([...v.toString(2)].filter((c) => c === "1").length);
const clz = (v: bigint, w: number): bigint => BigInt(v === 0n ? w : w - v.toString(2).length);
const ctz = (v: bigint, w: number): bigint => {
  if (v === 0n) return BigInt(w);
  let n = 0n;
  while (((v >> n) & 1n) === 0n) n++;
  return n;
};

/** Reference for the reg3 instructions: D = f(A, B) on u64 values. */
const THREE: Record<string, (a: bigint, b: bigint) => bigint> = {
  add_32: (a, b) => sx32(a + b),
  sub_32: (a, b) => sx32(a - b),
  mul_32: (a, b) => sx32(a * b),
  div_u_32: (a, b) => (lo32(b) === 0n ? M64 : sx32(lo32(a) / lo32(b))),
  div_s_32: (a, b) =>
    s32(b) === 0n
      ? M64
      : s32(a) === -(2n ** 31n) && s32(b) === -1n
      ? sx32(a)
      : sx32(s32(a) / s32(b)),
  rem_u_32: (a, b) => (lo32(b) === 0n ? sx32(a) : sx32(lo32(a) % lo32(b))),
  rem_s_32: (a, b) =>
    s32(a) === -(2n ** 31n) && s32(b) === -1n
      ? 0n
      : s32(b) === 0n
      ? sx32(a)
      : sx32(smod(s32(a), s32(b))),
  shlo_l_32: (a, b) => sx32(a << (b % 32n)),
  shlo_r_32: (a, b) => sx32(lo32(a) >> (b % 32n)),
  shar_r_32: (a, b) => sx32(s32(a) >> (b % 32n)),
  add_64: (a, b) => u(a + b),
  sub_64: (a, b) => u(a - b),
  mul_64: (a, b) => u(a * b),
  div_u_64: (a, b) => (b === 0n ? M64 : a / b),
  div_s_64: (a, b) => b === 0n ? M64 : s(a) === -(2n ** 63n) && s(b) === -1n ? a : u(s(a) / s(b)),
  rem_u_64: (a, b) => (b === 0n ? a : a % b),
  rem_s_64: (a, b) =>
    s(a) === -(2n ** 63n) && s(b) === -1n ? 0n : b === 0n ? a : u(smod(s(a), s(b))),
  shlo_l_64: (a, b) => u(a << (b % 64n)),
  shlo_r_64: (a, b) => a >> (b % 64n),
  shar_r_64: (a, b) => u(s(a) >> (b % 64n)),
  and: (a, b) => a & b,
  xor: (a, b) => a ^ b,
  or: (a, b) => a | b,
  mul_upper_s_s: (a, b) => u((s(a) * s(b)) >> 64n),
  mul_upper_u_u: (a, b) => u((a * b) >> 64n),
  mul_upper_s_u: (a, b) => u((s(a) * b) >> 64n),
  set_lt_u: (a, b) => bool(a < b),
  set_lt_s: (a, b) => bool(s(a) < s(b)),
  rot_l_64: (a, b) => rotr64(a, (64n - b % 64n) % 64n),
  rot_l_32: (a, b) => sx32(rotr32(a, (32n - b % 32n) % 32n)),
  rot_r_64: (a, b) => rotr64(a, b),
  rot_r_32: (a, b) => sx32(rotr32(a, b)),
  and_inv: (a, b) => a & ~b & M64,
  or_inv: (a, b) => (a | ~b) & M64,
  xnor: (a, b) => ~(a ^ b) & M64,
  max: (a, b) => (s(a) > s(b) ? a : b),
  max_u: (a, b) => (a > b ? a : b),
  min: (a, b) => (s(a) < s(b) ? a : b),
  min_u: (a, b) => (a < b ? a : b),
};

/** Reference for the reg_reg_imm instructions: A = f(B, v) with v the sign-extended immediate. */
const WITH_IMM: Record<string, (b: bigint, v: bigint) => bigint> = {
  add_imm_32: (b, v) => sx32(b + v),
  and_imm: (b, v) => b & v,
  xor_imm: (b, v) => b ^ v,
  or_imm: (b, v) => b | v,
  mul_imm_32: (b, v) => sx32(b * v),
  set_lt_u_imm: (b, v) => bool(b < v),
  set_lt_s_imm: (b, v) => bool(s(b) < s(v)),
  shlo_l_imm_32: (b, v) => sx32(b << (v % 32n)),
  shlo_r_imm_32: (b, v) => sx32(lo32(b) >> (v % 32n)),
  shar_r_imm_32: (b, v) => sx32(s32(b) >> (v % 32n)),
  neg_add_imm_32: (b, v) => sx32(v - b),
  set_gt_u_imm: (b, v) => bool(b > v),
  set_gt_s_imm: (b, v) => bool(s(b) > s(v)),
  shlo_l_imm_alt_32: (b, v) => sx32(v << (b % 32n)),
  shlo_r_imm_alt_32: (b, v) => sx32(lo32(v) >> (b % 32n)),
  shar_r_imm_alt_32: (b, v) => sx32(s32(v) >> (b % 32n)),
  add_imm_64: (b, v) => u(b + v),
  mul_imm_64: (b, v) => u(b * v),
  shlo_l_imm_64: (b, v) => u(b << (v % 64n)),
  shlo_r_imm_64: (b, v) => b >> (v % 64n),
  shar_r_imm_64: (b, v) => u(s(b) >> (v % 64n)),
  neg_add_imm_64: (b, v) => u(v - b),
  shlo_l_imm_alt_64: (b, v) => u(v << (b % 64n)),
  shlo_r_imm_alt_64: (b, v) => v >> (b % 64n),
  shar_r_imm_alt_64: (b, v) => u(s(v) >> (b % 64n)),
  rot_r_64_imm: (b, v) => rotr64(b, v),
  rot_r_64_imm_alt: (b, v) => rotr64(v, b),
  rot_r_32_imm: (b, v) => sx32(rotr32(b, v)),
  rot_r_32_imm_alt: (b, v) => sx32(rotr32(v, b)),
};

/** Reference for the reg_reg instructions: D = f(A). */
const UNARY: Record<string, (a: bigint) => bigint> = {
  count_set_bits_64: (a) => popcount(a),
  count_set_bits_32: (a) => popcount(lo32(a)),
  leading_zero_bits_64: (a) => clz(a, 64),
  leading_zero_bits_32: (a) => clz(lo32(a), 32),
  trailing_zero_bits_64: (a) => ctz(a, 64),
  trailing_zero_bits_32: (a) => ctz(lo32(a), 32),
  sign_extend_8: (a) => u(BigInt.asIntN(8, a)),
  sign_extend_16: (a) => u(BigInt.asIntN(16, a)),
  zero_extend_16: (a) => a & 0xffffn,
  reverse_bytes: (a) => {
    let r = 0n;
    for (let k = 0n; k < 8n; k++) r |= ((a >> (8n * k)) & 0xffn) << (8n * (7n - k));
    return r;
  },
};

/** Reference for the register-register and register-immediate branch conditions. */
const BRANCH: Record<string, (a: bigint, b: bigint) => boolean> = {
  branch_eq: (a, b) => a === b,
  branch_ne: (a, b) => a !== b,
  branch_lt_u: (a, b) => a < b,
  branch_lt_s: (a, b) => s(a) < s(b),
  branch_ge_u: (a, b) => a >= b,
  branch_ge_s: (a, b) => s(a) >= s(b),
  branch_eq_imm: (a, b) => a === b,
  branch_ne_imm: (a, b) => a !== b,
  branch_lt_u_imm: (a, b) => a < b,
  branch_le_u_imm: (a, b) => a <= b,
  branch_ge_u_imm: (a, b) => a >= b,
  branch_gt_u_imm: (a, b) => a > b,
  branch_lt_s_imm: (a, b) => s(a) < s(b),
  branch_le_s_imm: (a, b) => s(a) <= s(b),
  branch_ge_s_imm: (a, b) => s(a) >= s(b),
  branch_gt_s_imm: (a, b) => s(a) > s(b),
};

/** Seeded xorshift128+ over two 32-bit words per draw (deterministic across runs). */
class Rng {
  #a: number;
  #b: number;
  constructor(seed: number) {
    this.#a = seed | 1;
    this.#b = 0x9e3779b9 ^ seed;
  }
  u32(): number {
    let t = this.#a;
    const v = this.#b;
    this.#a = v;
    t ^= t << 11;
    t ^= t >>> 8;
    this.#b = t ^ v ^ (v >>> 19);
    return (this.#b + v) >>> 0;
  }
  below(n: number): number {
    return this.u32() % n;
  }
}

const EDGES = [
  0n,
  1n,
  2n,
  31n,
  32n,
  63n,
  64n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x1_0000_0000n,
  0x7fff_ffff_ffff_ffffn,
  0x8000_0000_0000_0000n,
  M64,
  M64 - 1n,
  u(-(2n ** 31n)),
  u(-(2n ** 31n) - 1n),
];

/** A 64-bit value from a mix of distributions that reach every edge of the halves. */
function value(rng: Rng): bigint {
  const r32 = () => BigInt(rng.u32());
  switch (rng.below(6)) {
    case 0:
      return (r32() << 32n) | r32();
    case 1:
      return u(BigInt(rng.below(601) - 300));
    case 2:
      return u(BigInt.asIntN(32, r32()));
    case 3:
      return r32();
    case 4:
      return EDGES[rng.below(EDGES.length)];
    default:
      return (r32() << 32n) | r32() | (rng.below(2) ? 0x8000_0000_0000_0000n : 0n);
  }
}

/** A 32-bit immediate (as its int32 value) from similar distributions. */
function immediate(rng: Rng): number {
  switch (rng.below(4)) {
    case 0:
      return rng.u32() | 0;
    case 1:
      return rng.below(601) - 300;
    case 2:
      return Number(BigInt.asIntN(32, EDGES[rng.below(EDGES.length)]));
    default:
      return rng.below(64);
  }
}

interface Step {
  /** Position in the chain. */
  index: number;
  d: number;
  a: number;
  b: number;
  imm: number;
}

/** Runs `blob` from the registers `regs` and returns the final registers. */
function runChain(vm: Interpreter, regs: bigint[]): bigint[] {
  regs.forEach((v, i) => vm.setRegister(i, v));
  vm.gas = 1_000_000n;
  vm.pc = 0;
  const exit = vm.run();
  assert.equal(exit.kind, "panic");
  return regs.map((_, i) => vm.getRegister(i));
}

function describe(compile: boolean, name: string, step: Step, before: bigint[]): string {
  return `${name} (${
    compile ? "translated" : "dispatch loop"
  }) d=${step.d} a=${step.a} b=${step.b} imm=${step.imm} on φ=${before.join(",")}`;
}

/** Random chains of `name` over random registers; each step is checked against `apply`. */
function differential(
  compile: boolean,
  name: string,
  seed: number,
  emit: (asm: Asm, step: Step) => void,
  apply: (regs: bigint[], step: Step) => void,
): void {
  const rng = new Rng(seed);
  let cases = 0;
  while (cases < CASES_PER_OP) {
    const steps: Step[] = [];
    const asm = new Asm();
    for (let k = 0; k < CHAIN; k++) {
      const step = {
        index: k,
        d: rng.below(13),
        a: rng.below(13),
        b: rng.below(13),
        imm: immediate(rng),
      };
      steps.push(step);
      emit(asm, step);
    }
    asm.none(Op.trap);
    using vm = new Interpreter(asm.build(), { compile });
    for (let run = 0; run < RUNS_PER_CHAIN; run++) {
      const initial = Array.from({ length: 13 }, () => value(rng));
      const got = runChain(vm, initial);
      const want = [...initial];
      for (const step of steps) apply(want, step);
      if (got.some((v, i) => v !== want[i])) {
        // Replay step by step to name the first wrong instruction.
        const regs = [...initial];
        for (const step of steps) {
          const before = [...regs];
          apply(regs, step);
          const single = new Asm();
          emit(single, step);
          using one = new Interpreter(single.none(Op.trap).build(), { compile });
          const result = runChain(one, before);
          assert.deepEqual(result, regs, describe(compile, name, step, before));
        }
      }
      cases += CHAIN;
    }
  }
}

const opOf = (name: string): number => (Op as Record<string, number>)[name];

for (const compile of [true, false]) {
  const mode = compile ? "translated blocks" : "dispatch loop";
  Deno.test(`64-bit arithmetic matches a BigInt reference (${mode}): reg3 instructions`, () => {
    let seed = 1;
    for (const [name, f] of Object.entries(THREE)) {
      const op = opOf(name);
      differential(compile, name, seed++, (asm, t) => asm.reg3(op, t.d, t.a, t.b), (r, t) => {
        r[t.d] = f(r[t.a], r[t.b]);
      });
    }
  });

  Deno.test(`64-bit arithmetic matches a BigInt reference (${mode}): register-immediate instructions`, () => {
    let seed = 1000;
    for (const [name, f] of Object.entries(WITH_IMM)) {
      const op = opOf(name);
      differential(
        compile,
        name,
        seed++,
        (asm, t) => asm.regRegImm(op, t.a, t.b, t.imm),
        (r, t) => {
          r[t.a] = f(r[t.b], u(BigInt(t.imm)));
        },
      );
    }
  });

  Deno.test(`64-bit arithmetic matches a BigInt reference (${mode}): unary instructions`, () => {
    let seed = 2000;
    for (const [name, f] of Object.entries(UNARY)) {
      const op = opOf(name);
      differential(compile, name, seed++, (asm, t) => asm.regReg(op, t.d, t.a), (r, t) => {
        r[t.d] = f(r[t.a]);
      });
    }
  });

  Deno.test(`64-bit comparisons match a BigInt reference (${mode}): every branch`, () => {
    let seed = 3000;
    for (const [name, f] of Object.entries(BRANCH)) {
      const op = opOf(name);
      const withImm = name.endsWith("_imm");
      // Each step branches over `xor_imm φ12, φ12, bit`: φ12 collects the not-taken bits.
      differential(
        compile,
        name,
        seed++,
        (asm, t) => {
          const label = `after${asm.pc}`;
          const a = t.a % 12, b = t.b % 12;
          if (withImm) asm.regImmOff(op, a, t.imm, label);
          else asm.regRegOff(op, a, b, label);
          asm.regRegImm(Op.xor_imm, 12, 12, 1 << (t.index % 31)).none(Op.fallthrough).label(label);
        },
        (r, t) => {
          const a = t.a % 12, b = t.b % 12;
          const other = withImm ? u(BigInt(t.imm)) : r[b];
          if (!f(r[a], other)) r[12] ^= 1n << BigInt(t.index % 31);
        },
      );
    }
  });
}
