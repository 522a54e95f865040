/**
 * Machine semantics beyond the official vectors, on every engine (the interpreter's modes and
 * every other backend; what only the interpreter offers runs on its modes): gas per block and resuming
 * after out-of-gas, host calls, sbrk, page faults, straddling and wrapping accesses, division and
 * shift edge cases, mul_upper with negative values, dynamic-jump register aliasing, and
 * argument checking.
 */
import assert from "node:assert/strict";
import { Interpreter, type InterpreterOptions } from "../src/interpreter/interpreter.ts";
import { Op } from "../src/program/isa/index.ts";
import { type Backend, SandboxError } from "../src/pvm/mod.ts";
import { type Engine, ENGINES, forEachEngine, INTERPRETER_MODES } from "./backends.ts";
import { Asm, programOf, type TestBlob } from "./interpreter_asm_util.ts";

const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** The engine the current test runs on. */
let engine: Engine = ENGINES[0];

/** Registers `fn` once per engine (each backend; the interpreter in both modes). */
function onEveryEngine(name: string, fn: () => void): void {
  forEachEngine(name, (current) => {
    engine = current;
    fn();
  });
}

/** Registers `fn` once per interpreter mode: it checks what only the interpreter offers. */
function onInterpreter(name: string, fn: () => void): void {
  forEachEngine(name, (current) => {
    engine = current;
    fn();
  }, { engines: INTERPRETER_MODES });
}

/** An interpreter in the current mode, with `options` besides. */
function interpreter(blob: TestBlob, options: InterpreterOptions = {}): Interpreter {
  return new Interpreter(blob, { ...engine.interpreterOptions, ...options });
}

function vmFor(blob: TestBlob, gas = 1000n, regs: bigint[] = []): Backend {
  const vm = engine.create(programOf(blob));
  regs.forEach((v, i) => vm.setRegister(i, v));
  vm.gas = gas;
  vm.pc = 0;
  return vm;
}

/** The interpreter's count of executed instructions (other backends do not count). */
function assertExecuted(vm: Backend, count: number): void {
  if (vm instanceof Interpreter) assert.equal(vm.instructionsExecuted, count);
}

/** Registers φ0…φ6 zero, then φ7, φ8, … from `values`. */
function withPhi7(...values: bigint[]): bigint[] {
  return [0n, 0n, 0n, 0n, 0n, 0n, 0n, ...values];
}

function regsOf(vm: Backend): bigint[] {
  return Array.from({ length: 13 }, (_, i) => vm.getRegister(i));
}

onEveryEngine(
  "out-of-gas at a block start leaves state unchanged and resumes once gas is added",
  () => {
    // Block 1 (3 instructions), block 2 (3 instructions).
    const blob = new Asm()
      .regImm(Op.load_imm, 7, 1)
      .regRegImm(Op.add_imm_64, 7, 7, 1)
      .none(Op.fallthrough)
      .regRegImm(Op.add_imm_64, 7, 7, 10)
      .regRegImm(Op.add_imm_64, 8, 7, 100)
      .none(Op.trap)
      .build();
    using vm = vmFor(blob, 4n);
    let exit = vm.run();
    assert.deepEqual(exit, { kind: "out-of-gas", pc: 13 });
    assert.equal(vm.gas, 1n);
    assert.equal(vm.getRegister(7), 2n);
    assert.equal(vm.pc, 13);
    // Still not enough: nothing changes.
    vm.gas += 1n;
    assert.deepEqual(vm.run(), { kind: "out-of-gas", pc: 13 });
    assert.equal(vm.gas, 2n);
    assert.equal(vm.getRegister(7), 2n);
    assert.equal(vm.getRegister(8), 0n);
    vm.gas += 1n;
    exit = vm.run();
    assert.deepEqual(exit, { kind: "panic", pc: 25 });
    assert.equal(vm.gas, 0n);
    assert.equal(vm.getRegister(7), 12n);
    assert.equal(vm.getRegister(8), 112n);
    assertExecuted(vm, 6);
  },
);

onEveryEngine("a first block that does not fit: out-of-gas at pc 0 with nothing executed", () => {
  const blob = new Asm()
    .regImm(Op.load_imm, 7, 5)
    .regImm(Op.load_imm, 8, 6)
    .none(Op.trap)
    .build();
  using vm = vmFor(blob, 2n, withPhi7(99n));
  assert.deepEqual(vm.run(), { kind: "out-of-gas", pc: 0 });
  assert.equal(vm.gas, 2n);
  assert.equal(vm.getRegister(7), 99n);
  assertExecuted(vm, 0);
  vm.gas = 3n;
  assert.deepEqual(vm.run(), { kind: "panic", pc: 12 });
  assert.equal(vm.gas, 0n);
  assert.deepEqual(regsOf(vm).slice(7, 9), [5n, 6n]);
});

onEveryEngine("setting pc mid-block charges the rest of the block from there", () => {
  const blob = new Asm()
    .regImm(Op.load_imm, 7, 5)
    .regImm(Op.load_imm, 8, 6)
    .none(Op.trap)
    .build();
  using vm = vmFor(blob, 10n);
  vm.pc = 6;
  assert.deepEqual(vm.run(), { kind: "panic", pc: 12 });
  assert.equal(vm.gas, 8n);
  assert.equal(vm.getRegister(7), 0n);
  assert.equal(vm.getRegister(8), 6n);
  // A pc with no instruction is a one-instruction trap block.
  vm.pc = 3;
  assert.deepEqual(vm.run(), { kind: "panic", pc: 3 });
  assert.equal(vm.gas, 7n);
});

onEveryEngine("gas is exact over the whole signed 64-bit range, across budget refills", () => {
  const blob = new Asm()
    .regImm(Op.load_imm, 7, 100) // counter
    .none(Op.fallthrough)
    .label("loop")
    .regRegImm(Op.add_imm_64, 7, 7, -1)
    .regImmOff(Op.branch_ne_imm, 7, 0, "loop")
    .none(Op.trap)
    .build();
  const max = (1n << 63n) - 1n;
  using vm = vmFor(blob, max);
  assert.deepEqual(vm.run(), { kind: "panic", pc: blob.code.length - 1 });
  assert.equal(vm.gas, max - 2n - 200n - 1n);
  // A tiny hot-loop budget forces a refill at nearly every block.
  using small = interpreter(blob, { gasChunk: 3 });
  small.gas = 1000n;
  small.pc = 0;
  assert.deepEqual(small.run(), { kind: "panic", pc: blob.code.length - 1 });
  assert.equal(small.gas, 1000n - 203n);
  assertExecuted(small, 203);
});

onEveryEngine(
  "host calls exit after ecalli, see and change registers and memory, then resume",
  () => {
    const blob = new Asm()
      .regImm(Op.load_imm, 7, 5)
      .ecalli(42)
      .regRegImm(Op.add_imm_64, 8, 7, 1)
      .regImm(Op.load_u8, 9, 0x20000)
      .ecalli(0xffffffff)
      .none(Op.trap)
      .build();
    using vm = vmFor(blob, 6n);
    vm.memory.map(0x20000, 4096, "read-write");
    let exit = vm.run();
    assert.deepEqual(exit, { kind: "host-call", pc: 6, id: 42 });
    assert.equal(vm.pc, 11);
    assert.equal(vm.getRegister(7), 5n);
    assert.equal(vm.gas, 0n, "the whole block is paid on entry");
    vm.setRegister(7, 100n);
    vm.memory.write(0x20000, new Uint8Array([77]));
    exit = vm.run();
    assert.deepEqual(exit, { kind: "host-call", pc: 23, id: 0xffffffff });
    assert.equal(vm.getRegister(8), 101n);
    assert.equal(vm.getRegister(9), 77n);
    exit = vm.run();
    assert.deepEqual(exit, { kind: "panic", pc: 28 });
    assert.equal(vm.gas, 0n);
    assertExecuted(vm, 6);
  },
);

onEveryEngine("sbrk returns the old heap top and makes the new pages read-write", () => {
  const blob = new Asm()
    .regImm(Op.load_imm, 7, 0x2000)
    .regReg(Op.sbrk, 8, 7)
    .regImm(Op.load_imm, 9, 0)
    .regReg(Op.sbrk, 10, 9)
    .regImmImm(Op.store_imm_ind_u32, 8, 0x1ffc, 0x12345678)
    .regImm(Op.load_imm, 11, 1)
    .regReg(Op.sbrk, 11, 11)
    .none(Op.trap)
    .build();
  using vm = vmFor(blob);
  vm.heapTop = 0x30000;
  assert.equal(vm.memory.accessAt(0x31000), "none");
  assert.equal(vm.run().kind, "panic");
  assert.equal(vm.getRegister(8), 0x30000n);
  assert.equal(vm.getRegister(10), 0x32000n);
  assert.equal(vm.getRegister(11), 0x32000n);
  assert.equal(vm.heapTop, 0x32001);
  assert.equal(vm.memory.accessAt(0x30000), "read-write");
  assert.equal(vm.memory.accessAt(0x31000), "read-write");
  assert.equal(vm.memory.accessAt(0x32000), "read-write");
  assert.equal(vm.memory.accessAt(0x33000), "none");
  assert.deepEqual([...vm.memory.read(0x31ffc, 4)], [0x78, 0x56, 0x34, 0x12]);
});

onEveryEngine("sbrk past the 4 GiB address space fails with 0 and changes nothing", () => {
  const blob = new Asm().regReg(Op.sbrk, 8, 7).none(Op.trap).build();
  using vm = vmFor(blob, 10n, withPhi7(0x1_0000_0000n));
  vm.heapTop = 0x30000;
  vm.run();
  assert.equal(vm.getRegister(8), 0n);
  assert.equal(vm.heapTop, 0x30000);
});

onEveryEngine(
  "a straddling store faults on the second page, writes nothing, and resumes once mapped",
  () => {
    const blob = new Asm()
      .regRegImm(Op.store_ind_u32, 8, 7, 0)
      .regRegImm(Op.load_ind_u32, 9, 7, 0)
      .none(Op.trap)
      .build();
    using vm = vmFor(blob, 100n, withPhi7(0x20ffen, 0xaabbccddn));
    vm.memory.map(0x20000, 4096, "read-write");
    let exit = vm.run();
    assert.deepEqual(exit, { kind: "page-fault", pc: 0, address: 0x21000 });
    assert.equal(vm.pc, 0);
    assert.equal(vm.gas, 97n);
    assert.deepEqual([...vm.memory.read(0x20ffe, 2)], [0, 0]);
    vm.memory.map(0x21000, 4096, "read");
    exit = vm.run();
    assert.deepEqual(
      exit,
      { kind: "page-fault", pc: 0, address: 0x21000 },
      "read-only is no store",
    );
    vm.memory.protect(0x21000, 4096, "read-write");
    exit = vm.run();
    assert.deepEqual(exit, { kind: "panic", pc: 12 });
    assert.equal(vm.gas, 97n, "resuming inside the paid block costs nothing more");
    assert.equal(vm.getRegister(9), 0xaabbccddn);
    assert.deepEqual([...vm.memory.read(0x20ffe, 4)], [0xdd, 0xcc, 0xbb, 0xaa]);
  },
);

// The next two map pages outside 0x10000…0xFFFF0000, which only the interpreter's memory can hold
// (native guest memory is that range); the differential tests cover the rest on every engine.
onInterpreter("the lowest denied byte decides: its page base, or a panic below 0x10000", () => {
  const load = new Asm().regRegImm(Op.load_ind_u64, 9, 7, 0).none(Op.trap).build();
  // Lower page denied, upper page readable: the fault names the lower page.
  using a = vmFor(load, 100n, withPhi7(0x30ffcn));
  a.memory.map(0x31000, 4096, "read");
  assert.deepEqual(a.run(), { kind: "page-fault", pc: 0, address: 0x30000 });
  // Wrapping from the top page to page 0: byte 0 is the lowest denied address → panic.
  using b = vmFor(load, 100n, withPhi7(0xfffffffcn));
  b.memory.map(0xfffff000, 4096, "read-write");
  assert.deepEqual(b.run(), { kind: "panic", pc: 0 });
  assert.equal(b.getRegister(9), 0n);
  // An address below 64 KiB panics even when the page is merely read-only.
  const store = new Asm().regImmImm(Op.store_imm_ind_u8, 7, 0, 1).none(Op.trap).build();
  using c = vmFor(store, 100n, withPhi7(0x100n));
  c.memory.map(0, 4096, "read");
  assert.deepEqual(c.run(), { kind: "panic", pc: 0 });
});

onInterpreter("accesses wrap around at 2^32 when both pages are accessible", () => {
  const blob = new Asm()
    .regRegImm(Op.store_ind_u64, 8, 7, 0)
    .regRegImm(Op.load_ind_u64, 9, 7, 0)
    .regRegImm(Op.load_ind_i16, 10, 7, 3)
    .regImm(Op.load_u32, 11, -2)
    .none(Op.trap)
    .build();
  using vm = vmFor(blob, 100n, withPhi7(0xfffffffcn, 0x8877665544332211n));
  vm.memory.map(0xfffff000, 4096, "read-write");
  vm.memory.map(0, 4096, "read-write");
  assert.deepEqual(vm.run(), { kind: "panic", pc: 24 });
  assert.deepEqual([...vm.memory.read(0xfffffffc, 4)], [0x11, 0x22, 0x33, 0x44]);
  assert.deepEqual([...vm.memory.read(0, 4)], [0x55, 0x66, 0x77, 0x88]);
  assert.equal(vm.getRegister(9), 0x8877665544332211n);
  assert.equal(vm.getRegister(10), 0x5544n);
  assert.equal(vm.getRegister(11), 0x66554433n);
});

/** Runs `op D=9, A=7, B=8` on the given values and returns φ9. */
function reg3(op: number, a: bigint, b: bigint): bigint {
  const blob = new Asm().reg3(op, 9, 7, 8).none(Op.trap).build();
  using vm = vmFor(blob, 10n, withPhi7(u64(a), u64(b)));
  assert.equal(vm.run().kind, "panic");
  return vm.getRegister(9);
}

/** Runs `op A=9, B=7, imm` and returns φ9. */
function regImm(op: number, b: bigint, imm: number): bigint {
  const blob = new Asm().regRegImm(op, 9, 7, imm).none(Op.trap).build();
  using vm = vmFor(blob, 10n, withPhi7(u64(b)));
  assert.equal(vm.run().kind, "panic");
  return vm.getRegister(9);
}

onEveryEngine("division and remainder edge cases, 32 and 64 bits", () => {
  const I32_MIN = -(2n ** 31n), I64_MIN = -(2n ** 63n);
  // By zero.
  assert.equal(reg3(Op.div_u_32, 7n, 0n), M64);
  assert.equal(reg3(Op.div_s_32, 7n, 0n), M64);
  assert.equal(reg3(Op.rem_u_32, 0x1_8000_0000n, 0n), u64(I32_MIN));
  assert.equal(reg3(Op.rem_s_32, -7n, 0n), u64(-7n));
  assert.equal(reg3(Op.div_u_64, 7n, 0n), M64);
  assert.equal(reg3(Op.div_s_64, -7n, 0n), M64);
  assert.equal(reg3(Op.rem_u_64, 1234n, 0n), 1234n);
  assert.equal(reg3(Op.rem_s_64, -1234n, 0n), u64(-1234n));
  // Overflow: MIN / −1.
  assert.equal(reg3(Op.div_s_32, I32_MIN, -1n), u64(I32_MIN));
  assert.equal(reg3(Op.rem_s_32, I32_MIN, -1n), 0n);
  assert.equal(reg3(Op.div_s_64, I64_MIN, -1n), u64(I64_MIN));
  assert.equal(reg3(Op.rem_s_64, I64_MIN, -1n), 0n);
  // Signs: truncation toward zero, remainder takes the dividend's sign.
  assert.equal(reg3(Op.div_s_32, -7n, 2n), u64(-3n));
  assert.equal(reg3(Op.rem_s_32, -7n, 2n), u64(-1n));
  assert.equal(reg3(Op.rem_s_32, 7n, -2n), 1n);
  assert.equal(reg3(Op.div_s_64, -(2n ** 40n) - 1n, 2n), u64(-(2n ** 39n)));
  assert.equal(reg3(Op.rem_s_64, -(2n ** 40n) - 1n, 2n), u64(-1n));
  assert.equal(reg3(Op.rem_s_64, 2n ** 40n + 1n, -2n), 1n);
  // 32-bit ops use only the low halves; unsigned results are sign-extended.
  assert.equal(reg3(Op.div_u_32, 0xffff_ffff_ffff_fffen, 1n), u64(-2n));
  assert.equal(reg3(Op.div_u_32, 0x5_0000_000an, 0x7_0000_0003n), 3n);
  assert.equal(reg3(Op.div_u_64, M64, 3n), M64 / 3n);
  assert.equal(reg3(Op.rem_u_64, M64, 10n), M64 % 10n);
  assert.equal(reg3(Op.div_u_64, 5n, M64), 0n);
});

onEveryEngine("shifts and rotates mask their counts (counts at or beyond the width)", () => {
  assert.equal(reg3(Op.shlo_l_32, 1n, 33n), 2n);
  assert.equal(reg3(Op.shlo_l_32, 1n, 31n), u64(-(2n ** 31n)));
  assert.equal(reg3(Op.shlo_r_32, 0x8000_0000n, 63n), 1n);
  assert.equal(reg3(Op.shar_r_32, 0x8000_0000n, 32n), u64(-(2n ** 31n)));
  assert.equal(reg3(Op.shlo_l_64, 1n, 64n), 1n);
  assert.equal(reg3(Op.shlo_l_64, 1n, 65n), 2n);
  assert.equal(reg3(Op.shlo_l_64, 3n, 63n), 2n ** 63n);
  assert.equal(reg3(Op.shlo_r_64, 2n ** 63n, 127n), 1n);
  assert.equal(reg3(Op.shar_r_64, 2n ** 63n, 127n), M64);
  assert.equal(reg3(Op.shar_r_64, 2n ** 63n, 32n), u64(-(2n ** 31n)));
  assert.equal(reg3(Op.rot_l_64, 0x8000_0000_0000_0001n, 65n), 3n);
  assert.equal(reg3(Op.rot_r_64, 3n, 64n + 1n), 0x8000_0000_0000_0001n);
  assert.equal(reg3(Op.rot_r_32, 3n, 33n), u64(-(2n ** 31n)) | 1n);
  assert.equal(reg3(Op.rot_l_32, 0x8000_0001n, 32n), u64(-(2n ** 31n)) | 1n);
  assert.equal(regImm(Op.shlo_l_imm_64, 1n, 64 + 3), 8n);
  assert.equal(regImm(Op.shar_r_imm_32, 0x8000_0000n, 35), u64(-(2n ** 28n)));
  assert.equal(regImm(Op.shlo_r_imm_alt_64, 100n, -1), 2n ** 28n - 1n, "(2^64 − 1) >> 36");
});

onEveryEngine("mul_upper variants with negative operands", () => {
  const big = 0x1234_5678_9abc_def0n;
  assert.equal(reg3(Op.mul_upper_u_u, M64, M64), M64 - 1n);
  assert.equal(reg3(Op.mul_upper_s_s, -1n, -1n), 0n);
  assert.equal(reg3(Op.mul_upper_s_s, -big, big), u64((-big * big) >> 64n));
  assert.equal(reg3(Op.mul_upper_s_s, -(2n ** 63n), -(2n ** 63n)), 2n ** 62n);
  assert.equal(reg3(Op.mul_upper_s_u, -1n, M64), M64, "−1 · (2^64 − 1) = −2^64 + 1");
  assert.equal(reg3(Op.mul_upper_s_u, -big, big), u64((-big * big) >> 64n));
  assert.equal(reg3(Op.mul_upper_s_u, big, M64), big - 1n);
});

onEveryEngine("load_imm_jump_ind with A == B jumps through the old register value", () => {
  const asm = new Asm()
    .regRegImmImm(Op.load_imm_jump_ind, 7, 7, 1000, 0)
    .label("target")
    .regImm(Op.load_imm, 8, 5)
    .none(Op.trap);
  const blob = asm.build(["target"]);
  // φ7 = 2 selects jump-table entry 0; the jump must use 2, not the new 1000.
  using vm = vmFor(blob, 100n, withPhi7(2n));
  assert.deepEqual(vm.run(), { kind: "panic", pc: 17 });
  assert.equal(vm.getRegister(7), 1000n);
  assert.equal(vm.getRegister(8), 5n);
  // A bad target still keeps the register write.
  using bad = vmFor(blob, 100n, withPhi7(3n));
  assert.deepEqual(bad.run(), { kind: "panic", pc: 0 });
  assert.equal(bad.getRegister(7), 1000n);
  // The halt address halts, after the write.
  using halt = vmFor(blob, 100n, withPhi7(0xffff0000n));
  assert.deepEqual(halt.run(), { kind: "halt", pc: 0 });
  assert.equal(halt.getRegister(7), 1000n);
});

onEveryEngine("dynamic jumps: 0, odd, beyond the table and non-block-start entries panic", () => {
  const blob = new Asm()
    .regImm(Op.jump_ind, 7, 0)
    .label("start")
    .regImm(Op.load_imm, 8, 1)
    .label("middle")
    .none(Op.trap)
    .build(["start", "middle"]);
  for (
    const [target, kind, pc] of [[0n, "panic", 0], [1n, "panic", 0], [6n, "panic", 0]] as const
  ) {
    using vm = vmFor(blob, 100n, withPhi7(target));
    assert.deepEqual(vm.run(), { kind, pc }, `target ${target}`);
  }
  using mid = vmFor(blob, 100n, withPhi7(4n));
  assert.deepEqual(mid.run(), { kind: "panic", pc: 0 }, "entry 1 is inside a block");
  using ok = vmFor(blob, 100n, withPhi7(2n));
  assert.deepEqual(ok.run(), { kind: "panic", pc: 12 });
  assert.equal(ok.getRegister(8), 1n);
});

onInterpreter("onInstruction sees every executed pc in order", () => {
  const blob = new Asm()
    .regImm(Op.load_imm, 7, 2)
    .none(Op.fallthrough)
    .label("loop")
    .regRegImm(Op.add_imm_64, 7, 7, -1)
    .regImmOff(Op.branch_ne_imm, 7, 0, "loop")
    .none(Op.trap)
    .build();
  using vm = interpreter(blob);
  vm.gas = 1000n;
  vm.pc = 0;
  const pcs: number[] = [], gas: bigint[] = [], phi7: bigint[] = [];
  vm.onInstruction = (pc) => {
    pcs.push(pc);
    gas.push(vm.gas);
    phi7.push(vm.getRegister(7));
  };
  assert.deepEqual(vm.run(), { kind: "panic", pc: 23 });
  assert.deepEqual(pcs, [0, 6, 7, 13, 7, 13]);
  // Gas is charged per block on entry; registers are already updated.
  assert.deepEqual(gas, [998n, 998n, 996n, 996n, 994n, 994n]);
  assert.deepEqual(phi7, [2n, 2n, 1n, 1n, 0n, 0n]);
  assert.equal(vm.gas, 993n);
});

onInterpreter("bad arguments throw SandboxError invalid-argument", () => {
  using vm = interpreter(new Asm().none(Op.trap).build());
  const bad = (f: () => unknown) =>
    assert.throws(f, (e) => e instanceof SandboxError && e.kind === "invalid-argument");
  bad(() => vm.getRegister(13));
  bad(() => vm.setRegister(-1, 0n));
  bad(() => (vm.gas = -1n));
  bad(() => (vm.gas = 1n << 63n));
  bad(() => (vm.pc = 2 ** 32));
  bad(() => (vm.pc = 1.5));
  bad(() => (vm.heapTop = -4096));
  bad(() => vm.memory.map(0x10001, 4096, "read"));
  bad(() => vm.memory.map(0xfffff000, 8192, "read"));
  bad(() => vm.memory.read(0x10000, 1));
  bad(() => vm.memory.write(0x10000, new Uint8Array(1)));
  bad(() => vm.memory.protect(0x10000, 4096, "read"));
  vm.setRegister(3, -1n);
  assert.equal(vm.getRegister(3), M64, "values are taken modulo 2^64");
});

onEveryEngine(
  "host calls and page faults inside a hot loop keep every register write before them",
  () => {
    // loop: φ8 += 1; store_u32 [φ9] = φ8; φ9 += 4; ecalli 7; φ10 -= 1; branch φ10 != 0 → loop
    const blob = new Asm()
      .regImm(Op.load_imm, 9, 0x20000)
      .regImm(Op.load_imm, 10, 3000)
      .none(Op.fallthrough)
      .label("loop")
      .regRegImm(Op.add_imm_64, 8, 8, 1)
      .regRegImm(Op.store_ind_u32, 8, 9, 0)
      .regRegImm(Op.add_imm_64, 9, 9, 4)
      .ecalli(7)
      .regRegImm(Op.add_imm_64, 10, 10, -1)
      .regImmOff(Op.branch_ne_imm, 10, 0, "loop")
      .none(Op.trap)
      .build();
    using vm = vmFor(blob, 1_000_000n);
    vm.memory.map(0x20000, 4096, "read-write");
    let calls = 0, faults = 0;
    for (;;) {
      const exit = vm.run();
      if (exit.kind === "host-call") {
        calls++;
        assert.equal(vm.getRegister(8), BigInt(calls), "φ8 was written before the ecalli");
        assert.equal(vm.getRegister(9), BigInt(0x20000 + 4 * calls));
        vm.setRegister(11, vm.getRegister(11) + vm.getRegister(8));
        continue;
      }
      if (exit.kind === "page-fault") {
        faults++;
        assert.equal(exit.address, 0x20000 + 4096 * faults);
        assert.equal(
          vm.getRegister(8),
          BigInt(1024 * faults + 1),
          "φ8 was written before the fault",
        );
        vm.memory.map(exit.address, 4096, "read-write");
        continue;
      }
      assert.deepEqual(exit, { kind: "panic", pc: blob.code.length - 1 });
      break;
    }
    assert.equal(calls, 3000);
    assert.equal(faults, 2);
    assert.equal(vm.getRegister(11), 3000n * 3001n / 2n);
    assert.equal(vm.gas, 1_000_000n - 3n - 3000n * 6n - 1n);
    assertExecuted(vm, 3 + 3000 * 6 + 1);
    const words = new DataView(vm.memory.read(0x20000, 12000).buffer);
    for (let k = 0; k < 3000; k++) assert.equal(words.getUint32(4 * k, true), k + 1);
  },
);

Deno.test("memory reused from disposed instances never shows their contents or mappings", () => {
  const blob = new Asm().none(Op.trap).build();
  const secret = new Uint8Array(4096).fill(0xa5);
  for (let round = 0; round < 20; round++) {
    const vm = new Interpreter(blob);
    assert.equal(vm.memory.accessAt(0x50000), "none", "no mapping survives a dispose");
    vm.memory.map(0x40000, 8 * 4096, "read-write");
    for (let page = 0; page < 8; page++) {
      assert.ok(vm.memory.read(0x40000 + page * 4096, 4096).every((b) => b === 0));
      vm.memory.write(0x40000 + page * 4096, secret);
    }
    vm.memory.map(0x50000, 4096, "read");
    vm[Symbol.dispose]();
  }
});

onInterpreter("a block too long to translate is interpreted, with exact gas", () => {
  const asm = new Asm().regImm(Op.load_imm, 8, 3).none(Op.fallthrough).label("loop");
  for (let k = 0; k < 6000; k++) asm.regRegImm(Op.add_imm_64, 7, 7, 1);
  asm.regRegImm(Op.add_imm_64, 8, 8, -1).regImmOff(Op.branch_ne_imm, 8, 0, "loop");
  asm.regRegImm(Op.add_imm_64, 9, 7, 0).ecalli(1).none(Op.trap);
  const blob = asm.build();
  using vm = vmFor(blob, 100_000n);
  assert.equal(vm.run().kind, "host-call");
  assert.equal(vm.getRegister(9), 18000n);
  assert.deepEqual(vm.run(), { kind: "panic", pc: blob.code.length - 1 });
  assert.equal(vm.gas, 100_000n - 2n - 3n * 6002n - 3n);
  assertExecuted(vm, 2 + 3 * 6002 + 3);
});

onInterpreter("a block costing more than one gas slice still runs when the gas suffices", () => {
  const asm = new Asm();
  for (let k = 0; k < 20; k++) asm.regRegImm(Op.add_imm_64, 7, 7, 1);
  const blob = asm.none(Op.trap).build();
  using vm = interpreter(blob, { gasChunk: 5 });
  vm.gas = 21n;
  vm.pc = 0;
  assert.deepEqual(vm.run(), { kind: "panic", pc: blob.code.length - 1 });
  assert.equal(vm.getRegister(7), 20n);
  assert.equal(vm.gas, 0n);
  vm.gas = 20n;
  vm.pc = 0;
  assert.deepEqual(vm.run(), { kind: "out-of-gas", pc: 0 });
  assert.equal(vm.gas, 20n);
});

onInterpreter("registers written from onInstruction affect the instructions that follow", () => {
  const blob = new Asm()
    .regImm(Op.load_imm, 7, 5)
    .regRegImm(Op.add_imm_64, 8, 7, 1)
    .none(Op.trap)
    .build();
  using vm = interpreter(blob);
  vm.gas = 1000n;
  vm.pc = 0;
  vm.onInstruction = (pc) => {
    if (pc === 0) vm.setRegister(7, 40n);
  };
  vm.run();
  assert.equal(vm.getRegister(8), 41n);
});
