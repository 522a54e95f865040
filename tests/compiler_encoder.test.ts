/**
 * Every encoding form of the x86-64 encoder, checked against an independent disassembler
 * (objdump from binutils): each form with all 16 registers in every operand (so every REX bit,
 * the rsp/r12 bases that need a SIB byte, the rbp/r13 bases that need a displacement and the
 * 8-bit registers that need REX), the addressing modes with 0-, 8- and 32-bit displacements,
 * RIP-relative operands reaching code offsets behind and far ahead (objdump computes the target
 * from the instruction's end, so a displacement counted from the wrong place is caught), and
 * immediates at the imm8/imm32 boundaries. The expected text is written from the intended
 * instruction, never from the encoder's bytes; instruction boundaries must match too.
 *
 * Without objdump on PATH the test is registered as ignored and says so on stderr;
 * `deno task test:encoder` installs binutils when needed and sets PVMBOX_REQUIRE_OBJDUMP=1,
 * which turns a missing objdump into a failure.
 */
import assert from "node:assert/strict";
import { X64 } from "../src/compiler/x64/assembler.ts";
import { Addr, Alu, Cond, Load, Shift, Unary } from "../src/compiler/x64/operands.ts";

const R64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"];
const R32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const R16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const R8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"];

function reg(r: number, bits: 8 | 16 | 32 | 64): string {
  if (r >= 8) return `r${r}${{ 8: "b", 16: "w", 32: "d", 64: "" }[bits]}`;
  return { 8: R8, 16: R16, 32: R32, 64: R64 }[bits][r];
}

function hex(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}

/** An immediate as objdump prints it: sign-extended to the operand width, unsigned. */
function imm(value: number, bits: number): string {
  return hex(BigInt.asUintN(bits, BigInt(value)));
}

const PTR: Record<number, string> = { 1: "BYTE", 2: "WORD", 4: "DWORD", 8: "QWORD" };

/**
 * A RIP-relative operand in the expected text: its displacement depends on where objdump says
 * the instruction ends, so the comparison replaces objdump's displacement by this name and checks
 * the target objdump computes from it (its trailing `# 0x…` comment) instead.
 */
const RIP_OPERAND = "rip+DISP";

/** objdump's text with the displacement of a RIP-relative operand named `RIP_OPERAND`. */
function normalizeRip(text: string): string {
  return text.replace(/\[rip[+-]0x[0-9a-f]+\]/, `[${RIP_OPERAND}]`);
}

/** The comment objdump appends to an instruction with a RIP-relative operand: its target. */
function ripTarget(mode: number, target: number): string {
  return mode === Addr.rip ? ` # ${hex(BigInt.asUintN(64, BigInt(target)))}` : "";
}

/** A memory operand as objdump prints it. */
function mem(size: number, mode: number, base: number, disp: number): string {
  const d = disp === 0 ? "" : disp < 0 ? `-${hex(-disp)}` : `+${hex(disp)}`;
  let inner: string;
  if (mode === Addr.absolute32) inner = `eiz*1+${hex(disp >>> 0)}`;
  else if (mode === Addr.rip) inner = RIP_OPERAND;
  else if (mode === Addr.scaled8) inner = `${reg(base, 64)}*8+${hex(disp >>> 0)}`;
  else {
    const name = reg(base, mode === Addr.base32 ? 32 : 64);
    // rbp/r13 bases always carry a displacement (objdump shows +0x0).
    inner = name + (disp === 0 && (base & 7) === 5 ? "+0x0" : d);
  }
  return `${PTR[size]} PTR [${inner}]`;
}

const ALU_NAMES: [number, string][] = [
  [Alu.add, "add"],
  [Alu.or, "or"],
  [Alu.and, "and"],
  [Alu.sub, "sub"],
  [Alu.xor, "xor"],
  [Alu.cmp, "cmp"],
];
const SHIFT_NAMES: [number, string][] = [
  [Shift.rol, "rol"],
  [Shift.ror, "ror"],
  [Shift.shl, "shl"],
  [Shift.shr, "shr"],
  [Shift.sar, "sar"],
];
const UNARY_NAMES: [number, string][] = [
  [Unary.not, "not"],
  [Unary.neg, "neg"],
  [Unary.mul, "mul"],
  [Unary.imul, "imul"],
  [Unary.div, "div"],
  [Unary.idiv, "idiv"],
];
const CC_NAMES: [number, string][] = Object.entries(Cond).map(([name, cc]) => [cc, name]);
const IMMEDIATES = [0, 5, 127, -128, 128, -129, 0x12345678, -0x80000000, 0x7fffffff];
const DISPS = [0, 8, -8, 127, -128, 128, 0x2e8, -0x1000, 0x7ffffff0];
const REGS = Array.from({ length: 16 }, (_, r) => r);
const WIDTHS: [boolean, 32 | 64][] = [[false, 32], [true, 64]];

interface Case {
  readonly text: string;
  readonly emit: (asm: X64) => void;
}

/** Every form the code generator uses, with the text objdump must print for it. */
function cases(): Case[] {
  const out: Case[] = [];
  const add = (text: string, emit: (asm: X64) => void) => out.push({ text, emit });
  // Memory operand combinations: every base in both base modes, the absolute and scaled forms.
  const memories: [number, number, number][] = [];
  for (const base of REGS) {
    for (const disp of DISPS) {
      memories.push([Addr.base64, base, disp]);
      memories.push([Addr.base32, base, disp]);
    }
  }
  for (const disp of [0x1234, 0x10000, -0x10000, 0x7fffffff]) {
    memories.push([Addr.absolute32, 0, disp]);
  }
  for (const index of REGS.filter((r) => r !== 4)) memories.push([Addr.scaled8, index, 0]);
  // RIP-relative: code offsets behind, just ahead and about 64 MiB and 2 GiB ahead.
  for (const target of [0, 0x18, -0x1000, 0x4000018, 0x7fff0000]) {
    memories.push([Addr.rip, 0, target]);
  }

  for (const [w, bits] of WIDTHS) {
    for (const a of REGS) {
      for (const b of REGS) {
        for (const [op, name] of ALU_NAMES) {
          add(`${name} ${reg(a, bits)},${reg(b, bits)}`, (x) => x.aluRR(op, w, a, b));
        }
        add(`test ${reg(a, bits)},${reg(b, bits)}`, (x) => x.testRR(w, a, b));
        add(`mov ${reg(a, bits)},${reg(b, bits)}`, (x) => x.movRR(w, a, b));
        add(`imul ${reg(a, bits)},${reg(b, bits)}`, (x) => x.imulRR(w, a, b));
        add(`imul ${reg(a, bits)},${reg(b, bits)},${imm(-5, bits)}`, (x) => x.imulRRI(w, a, b, -5));
        add(
          `imul ${reg(a, bits)},${reg(b, bits)},${imm(0x12345, bits)}`,
          (x) => x.imulRRI(w, a, b, 0x12345),
        );
        add(`bsr ${reg(a, bits)},${reg(b, bits)}`, (x) => x.bsr(w, a, b));
        add(`bsf ${reg(a, bits)},${reg(b, bits)}`, (x) => x.bsf(w, a, b));
        for (const [cc, name] of CC_NAMES) {
          add(`cmov${name} ${reg(a, bits)},${reg(b, bits)}`, (x) => x.cmov(cc, w, a, b));
        }
        if (b !== 4) {
          const rbpBase = (a & 7) === 5 ? "+0x0" : "";
          const index = b === a ? 0 : b;
          for (const scaleLog2 of [0, 1, 2, 3]) {
            add(
              `lea ${reg(b, bits)},[${reg(a, 64)}+${reg(index, 64)}*${1 << scaleLog2}${rbpBase}]`,
              (x) => x.leaRR(w, b, a, index, scaleLog2),
            );
          }
        }
      }
      for (const value of IMMEDIATES) {
        for (const [op, name] of ALU_NAMES) {
          add(`${name} ${reg(a, bits)},${imm(value, bits)}`, (x) => x.aluRI(op, w, a, value));
        }
        add(`mov ${reg(a, bits)},${imm(value, bits)}`, (x) => x.movRI(w, a, value));
      }
      for (const count of [1, 5, 31, 63]) {
        if (!w && count > 31) continue;
        for (const [op, name] of SHIFT_NAMES) {
          add(`${name} ${reg(a, bits)},${hex(count)}`, (x) => x.shiftRI(op, w, a, count));
        }
      }
      for (const [op, name] of SHIFT_NAMES) {
        add(`${name} ${reg(a, bits)},cl`, (x) => x.shiftRCl(op, w, a));
      }
      for (const [op, name] of UNARY_NAMES) {
        add(`${name} ${reg(a, bits)}`, (x) => x.unary(op, w, a));
      }
      add(`bswap ${reg(a, bits)}`, (x) => x.bswap(w, a));
      for (const disp of [0, 16, -4, 0x12345]) {
        add(
          `lea ${reg(a, bits)},${mem(8, Addr.base64, 3, disp).slice(10)}`,
          (x) => x.leaRD(w, a, 3, disp),
        );
        add(
          `lea ${reg(1, bits)},${mem(8, Addr.base64, a, disp).slice(10)}`,
          (x) => x.leaRD(w, 1, a, disp),
        );
      }
    }
    add(w ? "cqo" : "cdq", (x) => x.signExtendAccumulator(w));
  }
  for (const a of REGS) {
    for (const b of REGS) {
      add(`movsxd ${reg(a, 64)},${reg(b, 32)}`, (x) => x.movsxd(a, b));
      add(`movsx ${reg(a, 64)},${reg(b, 8)}`, (x) => x.movsx8(a, b));
      add(`movsx ${reg(a, 64)},${reg(b, 16)}`, (x) => x.movsx16(a, b));
      add(`movzx ${reg(a, 32)},${reg(b, 8)}`, (x) => x.movzx8(a, b));
      add(`movzx ${reg(a, 32)},${reg(b, 16)}`, (x) => x.movzx16(a, b));
    }
    for (const [cc, name] of CC_NAMES) add(`set${name} ${reg(a, 8)}`, (x) => x.setcc(cc, a));
    add(`push ${reg(a, 64)}`, (x) => x.push(a));
    add(`pop ${reg(a, 64)}`, (x) => x.pop(a));
    for (const [low, high] of [[1, 0x80000000], [-1, 0x7fffffff], [0x9abcdef0, 0x12345678]]) {
      const value = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
      add(`movabs ${reg(a, 64)},${hex(value)}`, (x) => x.movRI64(a, low, high));
    }
  }
  const loads: [number, string, number][] = [
    [Load.u8, "movzx", 1],
    [Load.i8, "movsx", 1],
    [Load.u16, "movzx", 2],
    [Load.i16, "movsx", 2],
    [Load.u32, "mov", 4],
    [Load.i32, "movsxd", 4],
    [Load.u64, "mov", 8],
  ];
  for (const [mode, base, disp] of memories) {
    // Every text below ends in its memory operand or an immediate: the RIP target comes last.
    const add = (text: string, emit: (asm: X64) => void) =>
      out.push({ text: text + ripTarget(mode, disp), emit });
    if (mode === Addr.scaled8) {
      add(`jmp ${mem(8, mode, base, disp)}`, (x) => x.jmpMem(mode, base, disp));
      continue;
    }
    const value = REGS[(base * 7 + disp) & 15];
    for (const [kind, name, size] of loads) {
      const bits = kind === Load.u8 || kind === Load.u16 || kind === Load.u32 ? 32 : 64;
      add(
        `${name} ${reg(value, bits)},${mem(size, mode, base, disp)}`,
        (x) => x.load(kind, value, mode, base, disp),
      );
    }
    for (const size of [1, 2, 4, 8] as const) {
      const bits = (size * 8) as 8 | 16 | 32 | 64;
      add(
        `mov ${mem(size, mode, base, disp)},${reg(value, bits)}`,
        (x) => x.store(size, value, mode, base, disp),
      );
      // Byte stores from every register: sil/dil/bpl/spl need REX, al..bl must not get one.
      if (size === 1) {
        for (const v of REGS) {
          add(
            `mov ${mem(1, mode, base, disp)},${reg(v, 8)}`,
            (x) => x.store(1, v, mode, base, disp),
          );
        }
      }
      const value32 = -0x12345679;
      const shown = size === 8 ? imm(value32, 64) : imm(value32, bits);
      add(
        `mov ${mem(size, mode, base, disp)},${shown}`,
        (x) => x.storeImm(size, value32, mode, base, disp),
      );
    }
    for (const [w, size] of [[true, 8], [false, 4]] as const) {
      for (
        const [op, name] of [[Alu.sub, "sub"], [Alu.add, "add"], [Alu.cmp, "cmp"], [
          Alu.and,
          "and",
        ]] as const
      ) {
        for (const value of [3, 1000]) {
          add(
            `${name} ${mem(size, mode, base, disp)},${imm(value, size * 8)}`,
            (x) => x.aluMI(op, w, mode, base, disp, value),
          );
        }
      }
    }
    for (const [w, size] of [[true, 8], [false, 4]] as const) {
      const bits = (size * 8) as 32 | 64;
      add(
        `add ${mem(size, mode, base, disp)},${reg(value, bits)}`,
        (x) => x.aluMR(Alu.add, w, mode, base, disp, value),
      );
    }
    add(`jmp ${mem(8, mode, base, disp)}`, (x) => x.jmpMem(mode, base, disp));
    add(`call ${mem(8, mode, base, disp)}`, (x) => x.callMem(mode, base, disp));
  }
  return out;
}

/** Disassembles `code` with objdump: [offset, normalized text] per instruction. */
function objdump(code: Uint8Array): [number, string][] {
  const file = Deno.makeTempFileSync({ suffix: ".bin" });
  try {
    Deno.writeFileSync(file, code);
    const out = new Deno.Command("objdump", {
      args: ["-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel", "--no-show-raw-insn", file],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines: [number, string][] = [];
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      const match = /^\s*([0-9a-f]+):\t(.*)$/.exec(line);
      if (match) lines.push([parseInt(match[1], 16), match[2].replace(/\s+/g, " ").trim()]);
    }
    return lines;
  } finally {
    Deno.removeSync(file);
  }
}

function hasObjdump(): boolean {
  try {
    return new Deno.Command("objdump", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const available = hasObjdump();
const required = Deno.env.get("PVMBOX_REQUIRE_OBJDUMP") === "1";
if (!available && !required) {
  console.error(
    "compiler_encoder.test.ts: objdump not found, the encoder test is IGNORED " +
      "(run `deno task test:encoder` to install binutils and run it)",
  );
}

Deno.test({
  name: "x86-64 encoder: every form matches objdump's disassembly",
  ignore: !available && !required,
  fn() {
    assert.ok(available, "PVMBOX_REQUIRE_OBJDUMP=1 but objdump is not on PATH");
    const all = cases();
    const asm = new X64();
    const starts: number[] = [];
    for (const c of all) {
      asm.reserve(16);
      starts.push(asm.length);
      c.emit(asm);
    }
    const listing = objdump(asm.code());
    const mismatches: string[] = [];
    for (let k = 0; k < Math.min(all.length, listing.length); k++) {
      const [offset, decoded] = listing[k];
      const text = normalizeRip(decoded);
      if (offset !== starts[k] || text !== all[k].text) {
        mismatches.push(`#${k} at ${starts[k]}: expected "${all[k].text}", objdump "${text}"`);
      }
    }
    assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} mismatches`);
    assert.equal(listing.length, all.length, "instruction count");
    console.log(`${all.length} encodings checked against objdump`);
  },
});

Deno.test({
  name: "x86-64 encoder: jumps to labels and short jumps land where objdump says",
  ignore: !available && !required,
  fn() {
    const asm = new X64();
    asm.reserve(1024);
    const [back, forward] = [asm.newLabels(1), asm.newLabels(1)];
    asm.bind(back);
    const expected: string[] = [];
    // Near backward targets take rel8 (2 bytes), far ones rel32 (jcc 6, jmp 5 bytes).
    for (const [cc, name] of CC_NAMES) {
      asm.jcc(cc, back);
      expected.push(`j${name} 0x0`);
    }
    asm.jmp(back);
    expected.push("jmp 0x0");
    const nearBytes = asm.length;
    for (let k = 0; k < 20; k++) {
      asm.movRI64(0, k, 0);
      expected.push(`movabs rax,${hex(k)}`);
    }
    const farStart = asm.length;
    for (const [cc, name] of CC_NAMES) {
      asm.jcc(cc, back);
      expected.push(`j${name} 0x0`);
    }
    asm.jmp(back);
    expected.push("jmp 0x0");
    const farBytes = asm.length - farStart;
    asm.jcc(Cond.ne, forward);
    const far = asm.jccFar(Cond.s);
    const short = asm.jccShort(Cond.e);
    const shortJmp = asm.jmpShort();
    asm.bindShort(short);
    asm.bindShort(shortJmp);
    asm.push(0);
    asm.bind(forward);
    asm.bindFar(far);
    asm.pop(0);
    asm.checkLabelsBound();
    const target = asm.labelOffset(forward);
    expected.push(`jne ${hex(target)}`, `js ${hex(target)}`);
    expected.push(`je ${hex(target - 1)}`, `jmp ${hex(target - 1)}`);
    expected.push("push rax", "pop rax");
    const listing = objdump(asm.code()).map(([, text]) => text.replace(/ <.*>$/, ""));
    assert.deepEqual(listing, expected);
    assert.equal(nearBytes, (CC_NAMES.length + 1) * 2);
    assert.equal(farBytes, CC_NAMES.length * 6 + 5);
  },
});

Deno.test({
  name: "x86-64 encoder: many jumps to one label bound later all land on it",
  ignore: !available && !required,
  fn() {
    const asm = new X64();
    asm.reserve(1024);
    const [forward, unused] = [asm.newLabels(1), asm.newLabels(1)];
    asm.bind(unused); // a label bound with nothing waiting for it
    const sites: number[] = [];
    for (let k = 0; k < 5; k++) {
      sites.push(asm.length);
      if (k % 2 === 0) asm.jcc(Cond.ne, forward);
      else asm.jmp(forward);
      asm.movRI64(0, k, 0); // far enough apart that nothing is short
    }
    asm.bind(forward);
    asm.pop(0);
    asm.jmp(forward); // backward and near: rel8
    asm.checkLabelsBound();
    const target = asm.labelOffset(forward);
    const listing = objdump(asm.code());
    const jumps = listing.filter(([, text]) => text.startsWith("j"));
    assert.deepEqual(jumps.map(([offset]) => offset), [...sites, target + 1]);
    for (const [, text] of jumps) assert.match(text, new RegExp(`^j(ne|mp) ${hex(target)}\\b`));
  },
});

Deno.test("x86-64 encoder: a label used but never bound is reported", () => {
  const asm = new X64();
  asm.reserve(64);
  const [bound, unbound] = [asm.newLabels(1), asm.newLabels(1)];
  asm.jmp(unbound);
  asm.bind(bound);
  assert.throws(() => asm.checkLabelsBound(), /label 1 is used but never bound/);
});

Deno.test("x86-64 encoder: writing past the reserved room is detected, never silently lost", () => {
  const asm = new X64(64);
  asm.reserve(64);
  for (let k = 0; k < 20; k++) asm.movRI64(0, k, k); // 200 bytes into room for 64
  assert.throws(() => asm.reserve(16), /past the reserved room/);
  assert.throws(() => asm.code(), /past the reserved room/);
});
