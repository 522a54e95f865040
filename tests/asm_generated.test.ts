/**
 * Generated programs that use every opcode of the jam-0.7 profile with varied registers and
 * edge-value immediates: the assembled bytes must decode (with the project's decoder) to exactly
 * the written operands, with the shortest encodings unless a width is written, and must
 * round-trip through the disassembler byte for byte.
 */
import assert from "node:assert/strict";
import { assembleDetailed, disassemble } from "../src/program/asm/index.ts";
import { parseBlob } from "../src/program/blob.ts";
import { decodeCode } from "../src/program/decoder.ts";
import { type InstructionInfo, JAM_0_7 } from "../src/program/isa/index.ts";
import { profileInstructions } from "../src/program/isa/profile.ts";
import { Program } from "../src/program/program.ts";
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
function shortest(v: number): number {
  for (let n = 0; n < 4; n++) if (BigInt.asIntN(8 * n, BigInt(v)) === BigInt(v)) return n;
  return 4;
}

interface Expected {
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

/** Fields a format uses; the decoder leaves the others at 0. */
const USES: Record<string, string[]> = {
  none: [],
  imm: ["x"],
  reg_ext: ["a", "wide"],
  imm_imm: ["x", "y"],
  off: ["x"],
  reg_imm: ["a", "x"],
  reg_imm_imm: ["a", "x", "y"],
  reg_imm_off: ["a", "x", "y"],
  reg_reg: ["d", "a"],
  reg_reg_imm: ["a", "b", "x"],
  reg_reg_off: ["a", "b", "x"],
  reg_reg_imm_imm: ["a", "b", "x", "y"],
  reg3: ["a", "b", "d"],
};

const FIXED: Record<string, number> = {
  none: 0,
  imm: 0,
  reg_ext: 9,
  imm_imm: 1,
  off: 0,
  reg_imm: 1,
  reg_imm_imm: 1,
  reg_imm_off: 1,
  reg_reg: 1,
  reg_reg_imm: 1,
  reg_reg_off: 1,
  reg_reg_imm_imm: 2,
  reg3: 2,
};

function generate(seed: number): { source: string; expected: Expected[]; labels: string[] } {
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

Deno.test("generated programs with every opcode decode to what was written (seeded)", () => {
  const opcodesSeen = new Set<number>();
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { source, expected } = generate(seed);
    const out = assembleDetailed(source, { kind: "raw" });
    const blob = parseBlob(out.bytes);
    const decoded = decodeCode(blob.code, blob.bitmask).instructions;
    assert.equal(decoded.length, expected.length);
    const pcOf = (v: number | string | undefined) =>
      typeof v === "string" ? out.labels.get(v)!.value : v ?? 0;
    decoded.forEach((ins, k) => {
      const e = expected[k];
      const where = `seed ${seed}, instruction ${k} (${e.info.name}) at pc ${ins.pc}`;
      assert.equal(ins.invalid, false, where);
      assert.equal(ins.op, e.info.id, where);
      assert.equal(ins.pc, out.labels.get(`i${k}`)!.value, where);
      opcodesSeen.add(ins.op);
      const actual: Record<string, unknown> = { ...ins };
      const want: Record<string, unknown> = { a: e.a, b: e.b, d: e.d, wide: e.wide };
      want.x = pcOf(e.x);
      want.y = pcOf(e.y);
      for (const field of USES[e.info.format]) assert.equal(actual[field], want[field], where);
      // Length: the written width, or the shortest encoding of the stored value.
      const stored = (field: "x" | "y") => {
        const v = pcOf(e[field]);
        return typeof e[field] === "string" ? v - ins.pc : v;
      };
      const uses = USES[e.info.format];
      const xw = uses.includes("x") ? e.xWidth ?? shortest(stored("x")) : 0;
      const yw = uses.includes("y") ? e.yWidth ?? shortest(stored("y")) : 0;
      assert.equal(ins.length, 1 + FIXED[e.info.format] + xw + yw, where);
    });
    const program = Program.parse(out.bytes, { container: "raw" });
    for (const annotate of [true, false]) {
      const text = disassemble(program, { annotate });
      assert.deepEqual(assembleDetailed(text).bytes, out.bytes, `seed ${seed}\n${text}`);
    }
  }
  assert.equal(opcodesSeen.size, profileInstructions(JAM_0_7).length);
});
