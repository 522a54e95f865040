/**
 * Generated assembly: programs that use every opcode of the jam-0.7 profile with varied registers
 * and edge-value immediates, and what each instruction must decode to.
 * @module
 */
import { type InstructionInfo, JAM_0_7 } from "../src/program/isa/index.ts";
import { profileInstructions } from "../src/program/isa/profile.ts";
import { rng } from "./fixtures.ts";

/** 32-bit edge values: 0, ±1, each width's limits, int32 min/max, and unsigned spellings. */
const EDGES32 = [
  0,
  1,
  -1,
  127,
  128,
  -128,
  -129,
  255,
  0x7fff,
  0x8000,
  -0x8000,
  -0x8001,
  0x7fffff,
  0x800000,
  -0x800000,
  -0x800001,
  0x7fffffff,
  -0x80000000,
  0xffffffff,
  0x80000000,
  0xfffe0000,
];
const EDGES64 = [
  0n,
  1n,
  -1n,
  0x7fffffffn,
  0x80000000n,
  (1n << 63n) - 1n,
  -(1n << 63n),
  (1n << 64n) - 1n,
];
const ALIASES = ["ra", "sp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5"];

/** Shortest sign-extended width of an int32, computed independently of the assembler. */
export function shortest(v: number): number {
  for (let n = 0; n < 4; n++) if (BigInt.asIntN(8 * n, BigInt(v)) === BigInt(v)) return n;
  return 4;
}

/**
 * What one generated instruction must decode to: registers, the wide immediate, and immediates
 * as numbers or label names (branch targets), with the width written, if any.
 */
export interface Expected {
  info: InstructionInfo;
  a: number;
  b: number;
  d: number;
  x?: number | string;
  y?: number | string;
  wide: bigint;
  xWidth?: number;
  yWidth?: number;
}

/** Writes one random instance of `info` and what it must decode to. */
function instance(
  info: InstructionInfo,
  next: () => number,
  label: () => string,
): [string, Expected] {
  const int = (n: number) => Math.floor(next() * n);
  const reg = () => int(13);
  const regName = (r: number) => (next() < 0.5 ? `r${r}` : ALIASES[r]);
  const imm = (): number => (next() < 0.8 ? EDGES32[int(EDGES32.length)] : int(2 ** 32) - 2 ** 31);
  const e: Expected = { info, a: reg(), b: reg(), d: reg(), wide: 0n };
  const written = (field: "x" | "y"): string => {
    const v = imm();
    e[field] = v | 0;
    if (next() < 0.25) {
      const width = shortest(v | 0) + int(5 - shortest(v | 0));
      e[field === "x" ? "xWidth" : "yWidth"] = width;
      return `${v}:${width}`;
    }
    return `${v}`;
  };
  const target = (field: "x" | "y"): string => {
    const name = label();
    e[field] = name;
    if (next() < 0.2) {
      // Offsets in these programs need at most 2 bytes, so 2…4 always reach.
      const width = 2 + int(3);
      e[field === "x" ? "xWidth" : "yWidth"] = width;
      return `${name}:${width}`;
    }
    return name;
  };
  const memory = (base: number): string => {
    const text = written("x");
    return `[${regName(base)} + ${text}]`;
  };
  let ops: string[];
  const n = info.name;
  switch (info.format) {
    case "none":
      ops = [];
      break;
    case "imm":
      ops = [written("x")];
      break;
    case "reg_ext": {
      const v = next() < 0.7 ? EDGES64[int(EDGES64.length)] : BigInt(int(2 ** 32)) << 20n;
      e.wide = BigInt.asUintN(64, v);
      ops = [regName(e.a), `${v}`];
      break;
    }
    case "imm_imm":
      ops = [`[${written("x")}]`, written("y")];
      break;
    case "off":
      ops = [target("x")];
      break;
    case "reg_imm":
      if (n.startsWith("load_") && n !== "load_imm") ops = [regName(e.a), `[${written("x")}]`];
      else if (n.startsWith("store_")) ops = [`[${written("x")}]`, regName(e.a)];
      else ops = [regName(e.a), written("x")];
      break;
    case "reg_imm_imm":
      ops = [memory(e.a), written("y")];
      break;
    case "reg_imm_off":
      ops = [regName(e.a), written("x"), target("y")];
      break;
    case "reg_reg":
      ops = [regName(e.d), regName(e.a)];
      break;
    case "reg_reg_imm":
      if (n.startsWith("load_ind_")) ops = [regName(e.a), memory(e.b)];
      else if (n.startsWith("store_ind_")) ops = [memory(e.b), regName(e.a)];
      else ops = [regName(e.a), regName(e.b), written("x")];
      break;
    case "reg_reg_off":
      ops = [regName(e.a), regName(e.b), target("x")];
      break;
    case "reg_reg_imm_imm":
      ops = [regName(e.a), written("x"), regName(e.b), written("y")];
      break;
    case "reg3":
      ops = [regName(e.d), regName(e.a), regName(e.b)];
      break;
  }
  return [ops.length === 0 ? n : `${n} ${ops.join(", ")}`, e];
}

/** A generated program: its source, what each instruction must decode to, and its labels. */
export interface GeneratedProgram {
  /** Assembly source: label `i<k>` before instruction k, `end` after the last. */
  readonly source: string;
  /** What instruction k must decode to. */
  readonly expected: Expected[];
  /** Every label, in order. */
  readonly labels: string[];
}

/**
 * A program with every jam-0.7 opcode at least twice, in a seeded random order, with random
 * registers, edge-value immediates and forward and backward branch targets.
 */
export function generate(seed: number): GeneratedProgram {
  const next = rng(seed);
  const infos = profileInstructions(JAM_0_7);
  // Every opcode at least twice, in a shuffled order, plus some repeats.
  const order = [...infos, ...infos, ...infos.filter(() => next() < 0.3)];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const labels = order.map((_, i) => `i${i}`);
  labels.push("end");
  const lines: string[] = [];
  const expected: Expected[] = [];
  order.forEach((info, i) => {
    // Alternate forward and backward targets; far ones need 2-byte offsets.
    const pick = () => {
      const back = next() < 0.5;
      const span = next() < 0.3 ? order.length : 8;
      const k = back ? i - Math.floor(next() * span) : i + Math.floor(next() * span);
      return labels[Math.max(0, Math.min(labels.length - 1, k))];
    };
    const [text, e] = instance(info, next, pick);
    lines.push(`${labels[i]}:`, `    ${text}`);
    expected.push(e);
  });
  lines.push("end:");
  return { source: lines.join("\n"), expected, labels };
}
