import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import { Zygote } from "../src/sandbox/native/mod.ts";
import { Asm, field, GUEST_REGISTER, R } from "./native/x86.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";
import { procStatus } from "./native/harness.ts";

const zygote = Zygote.spawn();
addEventListener("unload", () => zygote[Symbol.dispose]());

function run(code: Asm, entry = 0) {
  zygote.reset();
  zygote.loadCode(code.build());
  return zygote.run(entry);
}

Deno.test("run: return-to-host with registers set by the guest", () => {
  const code = new Asm();
  GUEST_REGISTER.forEach((reg, i) => code.movImm(reg, 0x1000n * BigInt(i) + 7n));
  assert.deepEqual(run(code.ret()), { kind: "return" });
  for (let i = 0; i < 13; i++) {
    assert.equal(zygote.getRegister(i), 0x1000n * BigInt(i) + 7n, `ω${i}`);
  }
});

Deno.test("run: host registers reach the guest in the documented native registers", () => {
  const code = new Asm();
  // Every guest register gets +i+1, so a wrong mapping or a lost register shows.
  GUEST_REGISTER.forEach((reg, i) => code.addImm(reg, i + 1));
  zygote.reset();
  zygote.loadCode(code.ret().build());
  const values = Array.from({ length: 13 }, (_, i) => (BigInt(i) << 40n) | 0xabcn);
  zygote.setRegisters(values);
  assert.equal(zygote.run(0).kind, "return");
  assert.deepEqual([...zygote.getRegisters()], values.map((v, i) => v + BigInt(i + 1)));
});

Deno.test("run: entry is a native offset into the code", () => {
  const code = new Asm().movImm(R.rax, 1).ret();
  const second = code.here;
  code.movImm(R.rax, 2).ret();
  assert.equal(run(code, second).kind, "return");
  assert.equal(zygote.getRegister(7), 2n);
  assert.equal(zygote.run(0).kind, "return");
  assert.equal(zygote.getRegister(7), 1n);
});

Deno.test("run: host call round trip resumes the same process with host-set registers", () => {
  const code = new Asm().movImm(R.rax, 1).hostCall(7, 100).addImm(R.rax, 1).hostCall(8, 101).ret();
  assert.deepEqual(run(code), { kind: "host-call", id: 7, pc: 100 });
  assert.equal(zygote.getRegister(7), 1n);
  zygote.setRegister(7, 41n);
  assert.deepEqual(zygote.resume(), { kind: "host-call", id: 8, pc: 101 });
  assert.equal(zygote.getRegister(7), 42n);
  assert.deepEqual(zygote.resume(), { kind: "return" });
  assertSandboxError(() => zygote.resume(), "invalid-argument");
});

Deno.test("run: many host calls without respawning", () => {
  const code = new Asm();
  const loop = code.here;
  code.addImm(R.rbx, 1).hostCall(5, 3).jmp(loop);
  const pid = zygote.pid;
  assert.equal(run(code).kind, "host-call");
  for (let i = 0; i < 1000; i++) assert.equal(zygote.resume().kind, "host-call");
  assert.equal(zygote.getRegister(0), 1001n);
  assert.equal(zygote.pid, pid);
  // A new run abandons the parked host call.
  assert.equal(run(new Asm().ret()).kind, "return");
});

Deno.test("run: both sides record the CPU they wait on, so a waiter sharing the other's CPU yields", () => {
  // A host call makes both sides wait; the guest then reads what they recorded (host_cpu and
  // zygote_cpu are adjacent 32-bit fields).
  const code = new Asm().hostCall(1).load64(R.rax, ABI.VMCTX_ADDR + field("host_cpu")).ret();
  assert.equal(run(code).kind, "host-call");
  assert.deepEqual(zygote.resume(), { kind: "return" });
  const both = zygote.getRegister(7);
  for (const [side, cpu] of [["host", both & 0xffff_ffffn], ["zygote", both >> 32n]] as const) {
    assert.ok(cpu < 4096n, `the ${side} recorded a CPU number, not NO_CPU (${cpu})`);
  }
});

Deno.test("run: trap reports its pc", () => {
  assert.deepEqual(run(new Asm().trap(1234)), { kind: "trap", pc: 1234 });
});

Deno.test("run: gas is charged in the gas register and out-of-gas reports the block's pc", () => {
  // sub gas, 10; js stub; return. stub: pc = 77; out-of-gas. Two passes place the stub.
  const build = (stub: number) => {
    const code = new Asm().subGas(10).js(stub).ret();
    return { code, stub: code.here };
  };
  const { code } = build(build(0).stub);
  code.setVm32(field("pc"), 77).jmpVm(field("trampolines.out_of_gas"));
  zygote.reset();
  zygote.loadCode(code.build());
  zygote.gas = 25n;
  assert.deepEqual(zygote.run(0), { kind: "return" });
  assert.equal(zygote.gas, 15n);
  assert.deepEqual(zygote.run(0), { kind: "return" });
  assert.equal(zygote.gas, 5n);
  assert.deepEqual(zygote.run(0), { kind: "out-of-gas", pc: 77 });
  assert.equal(zygote.gas, -5n);
});

Deno.test("run: the gas register crosses every exit and entry through VmCtx.gas", () => {
  // Host call: the host sees the gas the guest left and the guest continues with the host's.
  const code = new Asm().subGas(3).hostCall(1).subGas(4).trap(9);
  assert.deepEqual(run(code), { kind: "host-call", id: 1, pc: 0 });
  assert.equal(zygote.gas, -3n, "a reset zeroes the gas; the guest paid 3");
  zygote.gas = 1000n;
  assert.deepEqual(zygote.resume(), { kind: "trap", pc: 9 });
  assert.equal(zygote.gas, 996n);
  // A page fault and a signal report the gas of the moment; a run starts from VmCtx.gas.
  zygote.loadCode(new Asm().subGas(5).load64(R.rax, 0x20000).raw(0x0f, 0x0b).build());
  zygote.gas = 50n;
  assert.equal(zygote.run(0).kind, "page-fault");
  assert.equal(zygote.gas, 45n);
  zygote.memory.map(0x20000, 4096, "read");
  zygote.gas = 7n;
  assert.equal(zygote.run(0).kind, "signal");
  assert.equal(zygote.gas, 2n);
  // A full 64-bit value survives the round trip.
  zygote.loadCode(new Asm().subGas(1).ret().build());
  zygote.gas = -(1n << 63n) + 1n;
  assert.deepEqual(zygote.run(0), { kind: "return" });
  assert.equal(zygote.gas, -(1n << 63n));
});

Deno.test("run: memory faults report the guest address and native address", () => {
  const code = new Asm().load64(R.rax, 0x20008);
  const faultAt = code.here - 3;
  const exit = run(code.ret());
  assert.deepEqual(exit, {
    kind: "page-fault",
    address: 0x20008,
    nativeAddress: ABI.CODE_ADDR + faultAt,
    signal: 11,
  });
  // A null access is a page fault too (the first 64 KiB are never mapped).
  assert.equal((run(new Asm().load64(R.rax, 8).ret()) as { address: number }).address, 8);
});

Deno.test("run: registers at a fault are the guest's", () => {
  const code = new Asm().movImm(R.rbx, 99).movImm(R.r15, 12).load64(R.rax, 0x30000).ret();
  assert.equal(run(code).kind, "page-fault");
  assert.equal(zygote.getRegister(0), 99n);
  assert.equal(zygote.getRegister(12), 12n);
});

Deno.test("run: SIGILL and SIGFPE become signal exits; the zygote keeps working", () => {
  const ill = run(new Asm().raw(0x0f, 0x0b));
  assert.deepEqual(ill, { kind: "signal", signal: 4, nativeAddress: ABI.CODE_ADDR, address: 0n });
  const fpe = run(new Asm().movImm(R.rax, 1).raw(0x31, 0xc9, 0x48, 0xf7, 0xf1));
  assert.equal(fpe.kind, "signal");
  assert.equal((fpe as { signal: number }).signal, 8);
  assert.equal(run(new Asm().ret()).kind, "return");
});

Deno.test("run: a fault outside guest memory is a signal exit with the native address", () => {
  const exit = run(new Asm().storeByte(ABI.IMAGE_ADDR, 1).ret());
  assert.equal(exit.kind, "signal");
  assert.equal((exit as { address: bigint }).address, BigInt(ABI.IMAGE_ADDR));
});

Deno.test("run: an entry beyond the code is refused", () => {
  zygote.reset();
  zygote.loadCode(new Asm().ret().build());
  assertSandboxError(() => zygote.run(8192), "invalid-argument");
  assert.equal(zygote.run(0).kind, "return");
});

Deno.test("run: invalid arguments are rejected before reaching the native side", () => {
  assertSandboxError(() => zygote.getRegister(13), "invalid-argument");
  assertSandboxError(() => zygote.run(-1), "invalid-argument");
  assertSandboxError(() => zygote.setRegisters([1n]), "invalid-argument");
});

Deno.test("run: overflowing the native stack is a signal exit, and the zygote recovers", () => {
  // call itself forever: the stack runs into the unmapped page below it.
  const exit = run(new Asm().raw(0xe8, 0xfb, 0xff, 0xff, 0xff));
  assert.equal(exit.kind, "signal");
  const address = (exit as { address: bigint }).address;
  assert.ok(
    address >= BigInt(ABI.STACK_ADDR) - 0x1000n && address < BigInt(ABI.STACK_ADDR),
    `fault at 0x${address.toString(16)}`,
  );
  assert.equal(run(new Asm().ret()).kind, "return");
});

Deno.test("run: a signal the zygote does not handle kills it, not the host", () => {
  using other = Zygote.spawn();
  other.loadCode(new Asm().raw(0xcc).build()); // int3: SIGTRAP
  const error = assertSandboxError(() => other.run(0), "zygote-killed");
  assert.match(error.message, /SIGTRAP/);
});

Deno.test("run: dynamic jumps go through the read-only jump table at its fixed address", () => {
  // entry: rcx = index 2; jmp [rcx*8 + JUMP_TABLE_ADDR] (through rax as the table base)
  const code = new Asm().movImm(R.rax, ABI.JUMP_TABLE_ADDR).movImm(R.rcx, 2).raw(0xff, 0x24, 0xc8);
  const targets: number[] = [];
  for (let i = 0; i < 3; i++) {
    targets.push(code.here);
    code.movImm(R.rbx, 100 + i).ret();
  }
  const table = new BigUint64Array(targets.map((t) => BigInt(ABI.CODE_ADDR + t)));
  zygote.reset();
  zygote.loadCode(code.build(), new Uint8Array(table.buffer));
  assert.deepEqual(zygote.run(0), { kind: "return" });
  assert.equal(zygote.getRegister(0), 102n);
  // The table cannot be written by the guest.
  zygote.loadCode(
    new Asm().storeByte(ABI.JUMP_TABLE_ADDR, 0).ret().build(),
    new Uint8Array(table.buffer),
  );
  const exit = zygote.run(0);
  assert.equal(exit.kind, "signal");
  assert.equal((exit as { address: bigint }).address, BigInt(ABI.JUMP_TABLE_ADDR));
  // Without a table, the address is unmapped.
  zygote.loadCode(new Asm().load64(R.rax, ABI.JUMP_TABLE_ADDR).ret().build());
  assert.equal(zygote.run(0).kind, "signal");
});

Deno.test("run: code and jump tables beyond their limits are refused", () => {
  assertSandboxError(() => zygote.loadCode(new Uint8Array(ABI.CODE_MAX + 1)), "invalid-argument");
  assertSandboxError(
    () => zygote.loadCode(new Uint8Array(1), new Uint8Array(ABI.JUMP_TABLE_MAX + 8)),
    "invalid-argument",
  );
});

Deno.test("spawn: the zygote and the spawning thread keep the CPUs they may run on", () => {
  // The spawning thread is pinned to one CPU for the clone; both masks are restored after.
  const allowed = () =>
    Deno.readTextFileSync("/proc/thread-self/status").match(/^Cpus_allowed:.*$/m)?.[0];
  const before = allowed();
  using spawned = Zygote.spawn();
  assert.equal(allowed(), before, "the spawning thread");
  assert.equal(
    `Cpus_allowed:\t${procStatus(spawned.pid).get("Cpus_allowed")}`,
    before,
    "the zygote",
  );
});
