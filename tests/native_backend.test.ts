/**
 * The native backend's exit translation, driven by hand-compiled machine code (independent of
 * the compiler): every scenario runs on the interpreter and on the native backend, and the
 * exits, pcs, registers, gas and heap top must be identical after every run.
 */
import assert from "node:assert/strict";
import { Interpreter } from "../src/interpreter/interpreter.ts";
import { analyzeProgram } from "../src/program/analysis.ts";
import { DEFAULT_PROFILE, Op } from "../src/program/isa/index.ts";
import type { Backend, Exit } from "../src/pvm/mod.ts";
import { NativeBackend, type NativeCode } from "../src/sandbox/native/backend.ts";
import { Zygote } from "../src/sandbox/native/mod.ts";
import { Asm as PvmAsm } from "./interpreter_asm_util.ts";
import { Asm, field, GUEST_REGISTER, R } from "./native/x86.ts";

// i0: ecalli 7 · i1: sbrk φ8, φ7 · i2: load_ind_u32 φ9, [φ10 + 0] · i3: trap — one block.
const BLOB = new PvmAsm()
  .ecalli(7)
  .regReg(Op.sbrk, 8, 7)
  .regRegImm(Op.load_ind_u32, 9, 10, 0)
  .none(Op.trap)
  .build();
const PROGRAM = analyzeProgram(BLOB, DEFAULT_PROFILE);
const PCS = [...PROGRAM.pc];

/** What the compiler would emit for BLOB, written by hand. */
function handCompiled(): NativeCode {
  const cost = PROGRAM.entryCost[0];
  const asm = new Asm();
  // Out-of-line stub: give the block's gas back, report out-of-gas at the block's pc.
  const outOfGas = asm.here;
  asm.subGas(-cost).setVm32(field("pc"), PCS[0]).jmpVm(field("trampolines.out_of_gas"));
  const blockEntry = asm.here;
  asm.subGas(cost).js(outOfGas);
  const starts: number[] = [];
  starts.push(asm.here);
  asm.hostCall(7, PCS[0]);
  starts.push(asm.here);
  asm.hostCall(0, PCS[1]); // sbrk exits like a host call
  starts.push(asm.here);
  const phi9 = GUEST_REGISTER[9], phi10 = GUEST_REGISTER[10];
  asm.movReg(R.rcx, phi10);
  // mov r32(φ9), [rcx]: a 32-bit load zero-extends, like load_ind_u32.
  asm.raw(0x40 | ((phi9 >> 3) << 2), 0x8b, ((phi9 & 7) << 3) | R.rcx);
  starts.push(asm.here);
  asm.trap(PCS[3]);
  const end = asm.here;
  const instructionEntry = Int32Array.from([...starts, end]);
  return {
    code: asm.build(),
    jumpTable: new Uint8Array(0),
    blockEntry: (i) => i === 0 ? blockEntry : -1,
    instructionEntry: (i) => instructionEntry[i],
    instructionAt(offset: number): number {
      for (let i = starts.length - 1; i >= 0; i--) if (offset >= starts[i]) return i;
      return -1;
    },
  };
}

const CODE = handCompiled();

interface Snapshot {
  readonly exit: Exit;
  readonly pc: number;
  readonly gas: bigint;
  readonly heapTop: number;
  readonly regs: bigint[];
}

function snapshot(backend: Backend, exit: Exit): Snapshot {
  const regs = Array.from({ length: 13 }, (_, i) => backend.getRegister(i));
  return { exit, pc: backend.pc, gas: backend.gas, heapTop: backend.heapTop, regs };
}

/** A scenario: set up, then run repeatedly, letting `between` react to each exit. */
interface Scenario {
  readonly gas: bigint;
  readonly regs?: Record<number, bigint>;
  readonly pc?: number;
  readonly runs: number;
  readonly between?: (backend: Backend, exit: Exit) => void;
}

function drive(backend: Backend, scenario: Scenario): Snapshot[] {
  for (const [i, v] of Object.entries(scenario.regs ?? {})) backend.setRegister(Number(i), v);
  backend.gas = scenario.gas;
  backend.heapTop = 0x30000;
  backend.pc = scenario.pc ?? 0;
  const snapshots: Snapshot[] = [];
  for (let k = 0; k < scenario.runs; k++) {
    const exit = backend.run();
    snapshots.push(snapshot(backend, exit));
    scenario.between?.(backend, exit);
  }
  return snapshots;
}

const zygote = Zygote.spawn();
addEventListener("unload", () => zygote[Symbol.dispose]());

function agree(name: string, scenario: Scenario, expected: Exit[]): void {
  Deno.test(`native backend (hand-compiled): ${name}`, () => {
    using interpreter = new Interpreter(BLOB);
    const reference = drive(interpreter, scenario);
    assert.deepEqual(reference.map((s) => s.exit), expected, "the interpreter's exits");
    zygote.reset();
    zygote.loadCode(CODE.code, CODE.jumpTable);
    using native = new NativeBackend(zygote, PROGRAM, CODE, () => {});
    assert.deepEqual(drive(native, scenario), reference);
  });
}

const mapAndFill = (backend: Backend, exit: Exit) => {
  if (exit.kind !== "page-fault") return;
  backend.memory.map(exit.address, 4096, "read");
  backend.memory.write(exit.address + 8, Uint8Array.of(1, 2, 3, 4));
};

agree(
  "host call, sbrk serviced invisibly, a load from the new heap, panic",
  { gas: 100n, regs: { 7: 0x1000n, 10: 0x30010n }, runs: 2 },
  [{ kind: "host-call", pc: PCS[0], id: 7 }, { kind: "panic", pc: PCS[3] }],
);

agree(
  "a page fault at the page, resumed after the host maps it, without a second charge",
  { gas: 100n, regs: { 10: 0x40008n }, runs: 3, between: mapAndFill },
  [
    { kind: "host-call", pc: PCS[0], id: 7 },
    { kind: "page-fault", pc: PCS[2], address: 0x40000 },
    { kind: "panic", pc: PCS[3] },
  ],
);

agree(
  "an access below 64 KiB panics",
  { gas: 100n, regs: { 10: 0xfffen }, runs: 2 },
  [{ kind: "host-call", pc: PCS[0], id: 7 }, { kind: "panic", pc: PCS[2] }],
);

agree(
  "an access wrapping past 2^32 panics as the interpreter's address 0",
  { gas: 100n, regs: { 10: 0xfffffffen }, runs: 2 },
  [{ kind: "host-call", pc: PCS[0], id: 7 }, { kind: "panic", pc: PCS[2] }],
);

agree(
  "an access near the top that does not wrap is a page fault",
  { gas: 100n, regs: { 10: 0xfffffff8n }, runs: 2 },
  [{ kind: "host-call", pc: PCS[0], id: 7 }, {
    kind: "page-fault",
    pc: PCS[2],
    address: 0xfffff000,
  }],
);

agree(
  "out of gas at the block leaves gas and state unchanged; more gas resumes it",
  {
    gas: 3n,
    regs: { 7: 0x10n, 10: 0x30000n },
    runs: 3,
    between: (backend, exit) => {
      if (exit.kind === "out-of-gas") backend.gas += 10n;
    },
  },
  [
    { kind: "out-of-gas", pc: PCS[0] },
    { kind: "host-call", pc: PCS[0], id: 7 },
    { kind: "panic", pc: PCS[3] },
  ],
);

agree(
  "a pc set inside the block is charged for the rest of it on the host",
  { gas: 10n, regs: { 10: 0x30000n, 7: 0x10n }, pc: PCS[1], runs: 1 },
  [{ kind: "panic", pc: PCS[3] }],
);

agree(
  "a pc set inside the block without the gas for the rest of it is out of gas",
  { gas: 2n, pc: PCS[1], runs: 1 },
  [{ kind: "out-of-gas", pc: PCS[1] }],
);

agree(
  "a pc without an instruction executes as a trap",
  { gas: 10n, pc: 1, runs: 2 },
  [{ kind: "panic", pc: 1 }, { kind: "panic", pc: 1 }],
);

agree(
  "sbrk past 4 GiB fails with 0 and changes nothing",
  { gas: 100n, regs: { 7: 0x1_0000_0000n, 10: 0x30000n }, runs: 2 },
  [{ kind: "host-call", pc: PCS[0], id: 7 }, { kind: "page-fault", pc: PCS[2], address: 0x30000 }],
);
