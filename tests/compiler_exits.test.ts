/**
 * Exits of compiled code against the interpreter: loads and stores of every width (in range,
 * across page edges, into read-only and unmapped pages, below 64 KiB, with addresses that wrap
 * at 4 GiB), precise page faults and their resumption, out-of-gas at block entry and resumption
 * after adding gas, host calls, `sbrk`, traps, and static and dynamic jumps, valid and invalid.
 */
import assert from "node:assert/strict";
import { compileProgram } from "../src/compiler/mod.ts";
import { Op } from "../src/program/isa/index.ts";
import { ZYGOTE_CODE_TARGET } from "../src/sandbox/native/code_target.ts";
import { compileBlob, type PageSetup, runBoth, sharedZygote } from "./compiler_harness.ts";
import { Asm } from "./interpreter_asm_util.ts";

const RW = 0x20000, RO = 0x30000, UNMAPPED = 0x40000, RW_HIGH = 0xfffe0000;
const PAGES: PageSetup[] = [
  { address: RW, length: 0x10000, access: "read-write", bytes: pattern(0x10000) },
  { address: RO, length: 0x1000, access: "read", bytes: pattern(0x1000) },
  { address: RW_HIGH, length: 0x1000, access: "read-write" },
];

function pattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, k) => (k * 151 + 7) & 0xff);
}

/** Addresses around page edges, in mapped, read-only and unmapped pages. */
const ADDRESSES = [
  RW,
  RW + 0x123,
  RW + 0x1ffd,
  RW + 0xfffc,
  RO,
  RO + 0xffe,
  RO + 0xffc,
  UNMAPPED + 8,
  RW_HIGH + 0xff9,
  0x100,
];

Deno.test("compiled loads and stores of every width match the interpreter, faults included", () => {
  const loads = [Op.load_u8, Op.load_i8, Op.load_u16, Op.load_i16, Op.load_u32, Op.load_i32];
  const stores = [Op.store_u8, Op.store_u16, Op.store_u32, Op.store_u64];
  const kinds = new Set<string>();
  for (const address of ADDRESSES) {
    const asm = new Asm().loadImm64(3, 0x8877665544332211n);
    for (const op of [...loads, Op.load_u64]) asm.regImm(op, 7, address).ecalli(op);
    for (const op of stores) asm.regImm(op, 3, address).ecalli(op);
    for (const op of [Op.store_imm_u8, Op.store_imm_u16, Op.store_imm_u32, Op.store_imm_u64]) {
      asm.immImm(op, address, -0x12345679).ecalli(op);
    }
    asm.none(Op.trap);
    const exits = runBoth(asm.build(), { pages: PAGES, mapOnFault: true, maxExits: 100 });
    for (const exit of exits) kinds.add(exit.kind);
  }
  assert.deepEqual([...kinds].sort(), ["host-call", "page-fault", "panic"]);
});

Deno.test("compiled indirect loads and stores use 32-bit addresses that wrap at 4 GiB", () => {
  // [base, offset]: in range, across a page edge, into read-only and unmapped pages, wrapping
  // past 4 GiB into mapped memory, and below 64 KiB (a panic).
  const cases: [bigint, number][] = [
    [BigInt(RW), 0],
    [BigInt(RW + 0xffe), 3],
    [BigInt(RO + 4), -4],
    [BigInt(UNMAPPED), 0x10],
    [0x1_0000_0000n + BigInt(RW), 8],
    [0xffffffffn, RW + 1],
    [0xfffffff0n, 0x20],
  ];
  for (const [base, offset] of cases) {
    // Base in ω1 (rbp: no mod=00 form), ω10 (r12: needs a SIB byte) and ω0 (rbx); the stored
    // value in ω2 (rsi: an 8-bit store needs REX).
    for (const b of [1, 10, 0]) {
      const asm = new Asm().loadImm64(b, base);
      for (let k = 0; k < 7; k++) asm.regRegImm(Op.load_ind_u8 + k, 7, b, offset).ecalli(k);
      for (let k = 0; k < 4; k++) asm.regRegImm(Op.store_ind_u8 + k, 2, b, offset).ecalli(k);
      for (let k = 0; k < 4; k++) {
        asm.regImmImm(Op.store_imm_ind_u8 + k, b, offset, -0x789abcdf).ecalli(k);
      }
      runBoth(asm.none(Op.trap).build(), {
        pages: PAGES,
        registers: [0n, 0n, 0xa1b2c3d4e5f60718n],
        mapOnFault: true,
        maxExits: 100,
      });
    }
  }
});

Deno.test("a page fault leaves every register as before the faulting instruction", () => {
  // The load's destination is also its base: the fault must not have written it.
  const asm = new Asm().loadImm64(5, BigInt(UNMAPPED + 16)).regRegImm(Op.load_ind_u64, 5, 5, 8);
  asm.regRegImm(Op.store_ind_u64, 5, 5, 0).none(Op.trap);
  const exits = runBoth(asm.build(), { pages: PAGES, mapOnFault: true });
  assert.deepEqual(exits.map((e) => e.kind), ["page-fault", "panic"]);
});

Deno.test("out-of-gas stops at the unpaid block with gas unchanged and resumes after a refill", () => {
  const asm = new Asm().regImm(Op.load_imm, 0, 0).none(Op.fallthrough).label("loop");
  asm.regRegImm(Op.add_imm_64, 0, 0, 1).regRegImm(Op.add_imm_64, 1, 1, 3);
  asm.regImmOff(Op.branch_lt_u_imm, 0, 40, "loop").none(Op.trap);
  for (const gas of [0n, 1n, 2n, 5n, 7n, 50n]) {
    const exits = runBoth(asm.build(), { gas, refill: 9n, maxExits: 200 });
    assert.ok(exits.some((e) => e.kind === "out-of-gas"), `gas ${gas}`);
    assert.equal(exits.at(-1)?.kind, "panic");
  }
});

Deno.test("a lone-fallthrough block charged with the next one runs out of gas exactly", () => {
  // The loop head is a block of a lone fallthrough; the compiler charges it with the body.
  const asm = new Asm().regImm(Op.load_imm, 0, 0).none(Op.fallthrough).label("head");
  asm.none(Op.fallthrough).regRegImm(Op.add_imm_64, 0, 0, 1).regRegImm(Op.add_imm_64, 1, 1, 3);
  asm.regImmOff(Op.branch_lt_u_imm, 0, 5, "head").none(Op.fallthrough).none(Op.trap);
  for (let gas = 0n; gas < 30n; gas++) {
    for (const refill of [1n, 2n, 3n, 5n]) {
      const exits = runBoth(asm.build(), { gas, refill, maxExits: 100 });
      assert.equal(exits.at(-1)?.kind, "panic", `gas ${gas}, refill ${refill}`);
    }
  }
});

Deno.test("out-of-gas of a block costing more than 255 (the unpacked stub) restores gas too", () => {
  const asm = new Asm();
  for (let k = 0; k < 300; k++) asm.regRegImm(Op.add_imm_64, k % 13, k % 13, k);
  asm.none(Op.trap);
  const exits = runBoth(asm.build(), { gas: 299n, refill: 2n });
  assert.deepEqual(exits.map((e) => e.kind), ["out-of-gas", "panic"]);
});

Deno.test("gas crosses host calls that change it, page faults and refills exactly", () => {
  // Each iteration faults on a fresh unmapped page (resumed unpaid), then makes a host call
  // whose gas the host lowers, raises (to the largest gas there is), zeroes or halves, so blocks
  // run out of gas right after it; every exit compares the gas on both sides.
  const MAX_GAS = (1n << 63n) - 1n;
  const asm = new Asm().loadImm64(2, BigInt(UNMAPPED)).none(Op.fallthrough).label("loop");
  asm.regRegImm(Op.add_imm_64, 0, 0, 1).regRegImm(Op.store_ind_u64, 0, 2, 8).ecalli(5);
  asm.regRegImm(Op.add_imm_64, 2, 2, 4096).regImmOff(Op.branch_lt_u_imm, 0, 12, "loop");
  asm.none(Op.trap);
  const schedules: ((gas: bigint, k: number) => bigint)[] = [
    (gas, k) => [gas > 2n ? gas - 2n : 0n, gas + 5n, 0n, MAX_GAS, gas / 2n][k % 5],
    (_, k) => BigInt(k % 4),
    (gas) => gas > 0n ? gas - 1n : 7n,
  ];
  for (const [s, schedule] of schedules.entries()) {
    for (const gas of [3n, 10n, 40n]) {
      let calls = 0;
      const exits = runBoth(asm.build(), {
        gas,
        refill: 3n,
        mapOnFault: true,
        hostCallGas: (g) => schedule(g, calls++),
        maxExits: 400,
      });
      const kinds = new Set(exits.map((e) => e.kind));
      assert.deepEqual(
        [...kinds].sort(),
        ["host-call", "out-of-gas", "page-fault", "panic"],
        {
          schedule: s,
          gas,
        }.toString(),
      );
      assert.equal(exits.at(-1)?.kind, "panic");
    }
  }
});

Deno.test("host calls resume after the ecalli with the registers the host wrote", () => {
  const asm = new Asm().loadImm64(7, 5n).ecalli(0).reg3(Op.add_64, 1, 7, 7);
  asm.ecalli(0xffffffff).regRegImm(Op.add_imm_64, 7, 7, 1).ecalli(42).none(Op.trap);
  const exits = runBoth(asm.build(), { hostCallResult: 1n << 40n });
  assert.deepEqual(exits.map((e) => e.kind === "host-call" ? e.id : e.kind), [
    0,
    0xffffffff,
    42,
    "panic",
  ]);
});

Deno.test("sbrk exits as a host call at its pc and resumes after it", () => {
  const asm = new Asm().loadImm64(1, 4096n).regReg(Op.sbrk, 2, 1).regReg(Op.move_reg, 3, 2);
  const { analysis, compiled } = compileBlob(asm.none(Op.trap).build());
  const z = sharedZygote();
  z.reset();
  z.loadCode(compiled.code, compiled.jumpTable);
  z.gas = 100n;
  assert.deepEqual(z.run(compiled.blockEntry(0)), { kind: "host-call", id: 0, pc: analysis.pc[1] });
  assert.equal(z.getRegister(1), 4096n);
  assert.equal(z.gas, 100n - BigInt(analysis.entryCost[0]));
  // The host performs sbrk and writes the destination; the code continues after it.
  z.setRegister(2, 0x50000n);
  assert.deepEqual(z.resume(), { kind: "trap", pc: analysis.pc[3] });
  assert.equal(z.getRegister(3), 0x50000n);
});

Deno.test("trap, fallthrough into a synthetic trap and branches to non-block starts panic", () => {
  const programs = [
    new Asm().none(Op.trap),
    new Asm().regImm(Op.load_imm, 1, 3),
    new Asm().none(Op.fallthrough).regImm(Op.load_imm, 1, 3),
    new Asm().regImm(Op.load_imm, 1, 3).label("mid").regImm(Op.load_imm, 2, 3).jump("mid"),
    new Asm().regImmOff(Op.branch_eq_imm, 0, 0, "x").regImm(Op.load_imm, 1, 1).label("x")
      .none(Op.trap),
    new Asm().regImm(Op.load_imm, 2, 1).label("x").regImm(Op.load_imm, 3, 1)
      .regRegOff(Op.branch_eq, 0, 0, "x"),
  ];
  for (const asm of programs) {
    const exits = runBoth(asm.build());
    assert.equal(exits.at(-1)?.kind, "panic");
  }
});

Deno.test("dynamic jumps: valid entries, halt, zero, misaligned, out of range, non-block starts", () => {
  const asm = new Asm();
  // ω1 holds the address to jump to; entries: 2 → "a", 4 → "b", 6 → "mid" (no block start).
  asm.regImm(Op.jump_ind, 1, 0);
  asm.label("a").ecalli(1).regImm(Op.jump_ind, 2, 0);
  asm.label("b").ecalli(2).regRegImmImm(Op.load_imm_jump_ind, 3, 3, 77, -70);
  asm.label("c").regImm(Op.load_imm, 4, 1).label("mid").ecalli(3).none(Op.trap);
  const blob = asm.build(["a", "b", "mid", "c"]);
  const cases: [bigint, bigint, bigint][] = [
    [2n, 4n, 70n + 8n], // a, b, then load_imm_jump_ind to 8 → "c"
    [4n, 0n, 0n],
    [0n, 0n, 0n],
    [3n, 0n, 0n],
    [6n, 0n, 0n],
    [10n, 0n, 0n],
    [0xffff0000n, 0n, 0n],
    [2n, 0xffff0000n, 0n],
    [4n, 0n, 70n + 0xffff0000n],
    [4n, 0n, 70n + 2n],
    [0x1_0000_0002n, 1n, 0n],
    [0xfffffffen, 0n, 0n],
    [0x8000_0002n, 0n, 0n],
  ];
  const seen = new Set<string>();
  for (const [r1, r2, r3] of cases) {
    const exits = runBoth(blob, { registers: [0n, r1, r2, r3] });
    seen.add(exits.at(-1)!.kind);
  }
  assert.deepEqual([...seen].sort(), ["halt", "panic"]);
});

Deno.test("instructionAt maps block entries, instruction code and stubs back to the instruction", () => {
  // A lone fallthrough at the loop head (charged with the next block), a fused pair.
  const asm = new Asm().regImm(Op.load_imm, 1, 4).none(Op.fallthrough).label("loop");
  asm.none(Op.fallthrough);
  asm.regRegImm(Op.shlo_l_imm_64, 2, 1, 2).reg3(Op.add_64, 2, 2, 3);
  asm.regRegImm(Op.load_ind_u32, 4, 2, 0);
  asm.regRegImm(Op.add_imm_64, 1, 1, -1).regImmOff(Op.branch_ne_imm, 1, 0, "loop");
  asm.regImm(Op.jump_ind, 1, 0).none(Op.trap);
  const { analysis, compiled } = compileBlob(asm.build(["loop"]));
  const { code } = compiled;
  const n = analysis.count;
  const blockEntry = Array.from({ length: n }, (_, i) => compiled.blockEntry(i));
  const instructionEntry = Array.from({ length: n }, (_, i) => compiled.instructionEntry(i));
  // Code in instruction order ends with the last instruction's; stubs follow.
  const inline = (offset: number) => offset <= instructionEntry[n - 1];
  for (let i = 0; i < n; i++) {
    if (blockEntry[i] >= 0) assert.equal(compiled.instructionAt(blockEntry[i]), i, `block ${i}`);
    const entry = instructionEntry[i];
    if (!inline(entry)) {
      // Out of line: the second instruction of a fused pair, run alone.
      assert.equal(compiled.instructionAt(entry), i, `entry of instruction ${i}`);
      continue;
    }
    const later = [...blockEntry.slice(i + 1), ...instructionEntry.slice(i + 1)];
    const end = i === n - 1 ? entry + 1 : Math.min(...later.filter((o) => o >= 0 && inline(o)));
    // A fused pair's code belongs to its first instruction, where any fault in it would be.
    for (let at = entry; at < end; at++) {
      assert.equal(compiled.instructionAt(at), i, `offset ${at} of instruction ${i}`);
    }
  }
  // Stubs (out of gas, invalid dynamic target, entries) belong to their instruction; shared
  // code to none.
  const owners = new Set<number>();
  for (let at = instructionEntry[n - 1] + 1; at < code.length; at++) {
    owners.add(compiled.instructionAt(at));
  }
  assert.deepEqual([...owners].sort((a, b) => a - b), [-1, 0, 2, 3, 4, 8, 9, 10]);
  assert.equal(compiled.instructionAt(code.length), -1);
});

Deno.test("load_imm_jump sets its register and jumps, or panics with it set", () => {
  const good = new Asm().regImmOff(Op.load_imm_jump, 4, -7, "t").ecalli(1).none(Op.trap)
    .label("t").ecalli(2).none(Op.trap);
  assert.deepEqual(runBoth(good.build()).map((e) => e.kind === "host-call" ? e.id : e.kind), [
    2,
    "panic",
  ]);
  const bad = new Asm().regImmOff(Op.load_imm_jump, 4, -7, "t").regImm(Op.load_imm, 1, 1)
    .label("t").none(Op.trap);
  assert.deepEqual(runBoth(bad.build()).map((e) => e.kind), ["panic"]);
});

Deno.test("a target whose VmCtx is out of RIP-relative reach of the code region is refused", () => {
  const { analysis } = compileBlob(new Asm().ecalli(1).none(Op.trap).build());
  const fields = Object.values(ZYGOTE_CODE_TARGET.offsets);
  const reach = 1n << 31n, code = ZYGOTE_CODE_TARGET.codeAddress;
  const codeEnd = code + BigInt(ZYGOTE_CODE_TARGET.codeLimit);
  // The farthest field a rel32 reaches from the code's first instruction end, and the nearest
  // one from its last: exactly at the limit compiles, one byte beyond is refused.
  const ahead = code + reach - BigInt(Math.max(...fields));
  const behind = codeEnd - reach - BigInt(Math.min(...fields));
  const cases: [bigint, boolean][] = [
    [ahead, true],
    [ahead + 1n, false],
    [behind, true],
    [behind - 1n, false],
  ];
  for (const [vmctxAddress, fits] of cases) {
    const target = { ...ZYGOTE_CODE_TARGET, vmctxAddress };
    if (fits) assert.ok(compileProgram(analysis, target).code.length > 0);
    else {
      assert.throws(
        () => compileProgram(analysis, target),
        /VmCtx at 0x[0-9a-f]+ is out of RIP-relative reach \(±2 GiB\) of the code at 0x/,
      );
    }
  }
});
