import assert from "node:assert/strict";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import { assertSandboxError, program } from "./sandbox_helpers.ts";
import { forEachBackend } from "./backends.ts";

// Block A (pc 0): 3 instructions; block B (`next`): 2 instructions.
const TWO_BLOCKS = program(`
    load_imm a0, 1
    load_imm a1, 2
    jump next
next:
    add_64 a2, a0, a1
    trap
`);

forEachBackend("out-of-gas at the first block: nothing runs, nothing is charged", (backend) => {
  using sb = Sandbox.create(TWO_BLOCKS, { backend, gas: 2n });
  const exit = sb.run();
  assert.deepEqual(exit, { kind: "out-of-gas", pc: 0 });
  assert.equal(sb.gas, 2n);
  assert.equal(sb.pc, 0);
  assert.deepEqual([...sb.regs], new Array(13).fill(0n));
});

forEachBackend(
  "out-of-gas at a later block that does not fit, then add gas and resume",
  (backend) => {
    using sb = Sandbox.create(TWO_BLOCKS, { backend, gas: 4n });
    const first = sb.run();
    const next = first.pc;
    assert.equal(first.kind, "out-of-gas");
    assert.ok(next > 0, "stops at the start of the second block");
    assert.equal(sb.gas, 1n, "the first block (3) was paid, the second (2) was not");
    assert.equal(sb.regs[7], 1n);
    assert.equal(sb.regs[8], 2n);
    assert.equal(sb.regs[9], 0n, "nothing of the unpaid block ran");
    sb.gas += 10n;
    const second = sb.run();
    assert.deepEqual(second, { kind: "panic", pc: next + 3 /* add_64 is 3 bytes */ });
    assert.equal(sb.regs[9], 3n);
    assert.equal(sb.gas, 9n);
  },
);

const FIBONACCI = program(
  await Deno.readTextFile(new URL("../examples/fibonacci.s", import.meta.url)),
);

forEachBackend(
  "a loop run in small gas slices ends exactly like one run with enough gas",
  (backend) => {
    using whole = Sandbox.create(FIBONACCI, { backend, gas: 1_000_000n });
    assert.equal(whole.run().kind, "halt");
    const used = 1_000_000n - whole.gas;
    assert.equal(whole.regs[7], 6765n, "fib(20)");

    using sliced = Sandbox.create(FIBONACCI, { backend, gas: 0n });
    let outOfGas = 0;
    let exit = sliced.run();
    while (exit.kind === "out-of-gas") {
      outOfGas++;
      sliced.gas += 7n;
      exit = sliced.run();
    }
    assert.equal(exit.kind, "halt");
    assert.ok(outOfGas > 10, `stopped ${outOfGas} times`);
    assert.equal(sliced.regs[7], 6765n);
    assert.equal(7n * BigInt(outOfGas) - sliced.gas, used, "the same total gas");
  },
);

const HOST_CALLS = program(`
.rw_data
buffer:
    .string "abc"
.code
    load_imm a0, buffer
    load_imm a1, 3
    ecalli 42                   ; host: upper-cases the buffer, returns its length + 100
    load_u8 a2, [buffer]        ; reads what the host wrote
    add_imm_64 a3, a0, 1
    jump_ind ra, 0
`);

forEachBackend(
  "host call: exit id and pc, register and memory effects, resume after ecalli",
  (backend) => {
    using sb = Sandbox.create(HOST_CALLS, { backend, gas: 1000n });
    const exit = sb.run();
    assert.equal(exit.kind, "host-call");
    if (exit.kind !== "host-call") return;
    assert.equal(exit.id, 42);
    assert.ok(sb.pc > exit.pc, "resumes after the ecalli");
    const address = Number(sb.regs[7]), length = Number(sb.regs[8]);
    const text = new TextDecoder().decode(sb.memory.read(address, length));
    assert.equal(text, "abc");
    sb.memory.write(address, new TextEncoder().encode(text.toUpperCase()));
    sb.regs[7] = BigInt(length + 100);
    const gasAfterCall = sb.gas;
    assert.equal(sb.run().kind, "halt");
    assert.equal(sb.regs[9], BigInt("A".charCodeAt(0)));
    assert.equal(sb.regs[10], 104n);
    assert.equal(gasAfterCall, 994n, "the whole block (ecalli is no terminator) was paid on entry");
    assert.equal(sb.gas, gasAfterCall, "resuming after the call costs nothing more");
  },
);

const SBRK = program(`
.stack_size 0x1000
.heap_pages 1
.rw_data
    .u64 7
.code
    load_imm t0, 0
    sbrk a0, t0                 ; a0 = current heap top
    load_imm t0, 5000
    sbrk a1, t0                 ; a1 = old top; the heap grows by 5000 bytes
    load_imm t0, 0
    sbrk a2, t0                 ; a2 = new top
    store_imm_ind_u8 [a1 + 4999], 0x5a
    jump_ind ra, 0
`);

forEachBackend(
  "sbrk: starts after rw data and heap pages, grows, maps the new pages",
  (backend) => {
    using sb = Sandbox.create(SBRK, { backend, gas: 1000n });
    const rwStart = 0x20000;
    const initialTop = rwStart + 4096 + 4096; // one page of rw data, one heap page
    assert.equal(sb.heapTop, initialTop);
    assert.equal(sb.memory.accessAt(initialTop), "none");
    assert.equal(sb.run().kind, "halt");
    assert.equal(sb.regs[7], BigInt(initialTop));
    assert.equal(sb.regs[8], BigInt(initialTop));
    assert.equal(sb.regs[9], BigInt(initialTop + 5000));
    assert.equal(sb.heapTop, initialTop + 5000);
    assert.equal(sb.memory.accessAt(initialTop + 4999), "read-write");
    assert.equal(sb.memory.read(initialTop + 4999, 1)[0], 0x5a);
  },
);

const GROW = program(`
    sbrk a1, a0
    trap
`);

forEachBackend(
  "sbrk fails with 0 past 0xFFFF0000 or past the mapped-page limit, and changes nothing",
  (backend) => {
    for (const [top, amount] of [[0xfffe0000, 0x10001], [0x10000, 0x8000_0000]]) {
      using sb = Sandbox.create(GROW, { backend, gas: 10n });
      sb.heapTop = top;
      sb.regs[7] = BigInt(amount);
      assert.equal(sb.run().kind, "panic");
      assert.equal(sb.regs[8], 0n, `sbrk(${amount}) from 0x${top.toString(16)}`);
      assert.equal(sb.heapTop, top);
      assert.equal(sb.memory.accessAt(top), "none");
    }
  },
);

forEachBackend("the host maps only 0x10000…0xFFFF0000", (backend) => {
  using sb = Sandbox.create(GROW, { backend });
  for (const [address, length] of [[0, 4096], [0xf000, 8192], [0xffff0000, 4096]]) {
    assertSandboxError(
      () => sb.memory.map(address, length, "read"),
      "invalid-argument",
      /leaves mappable guest memory/,
    );
  }
  sb.memory.map(0x10000, 4096, "read");
  sb.memory.map(0xfffef000, 4096, "read");
});

const FAULTING_LOAD = program(`
.stack_size 0x1000
    load_imm a0, 5
    load_u32 a1, [0x50004]      ; 0x50000 is not mapped
    add_64 a2, a0, a1
    jump_ind ra, 0
`);

forEachBackend(
  "page fault: the host maps the page and run() re-runs the instruction",
  (backend) => {
    using sb = Sandbox.create(FAULTING_LOAD, { backend, gas: 100n });
    const fault = sb.run();
    assert.equal(fault.kind, "page-fault");
    if (fault.kind !== "page-fault") return;
    assert.equal(fault.address, 0x50000);
    assert.equal(sb.pc, fault.pc, "the faulting instruction runs again");
    assert.equal(sb.regs[8], 0n, "the load did not happen");
    assert.equal(sb.gas, 96n, "the block was charged once, on entry");
    sb.memory.map(0x50000, 4096, "read");
    sb.memory.write(0x50004, Uint8Array.of(0x10, 0x20, 0, 0));
    assert.equal(sb.run().kind, "halt");
    assert.equal(sb.regs[8], 0x2010n);
    assert.equal(sb.regs[9], 0x2015n);
    assert.equal(sb.gas, 96n, "resuming inside a paid block costs nothing more");
  },
);

forEachBackend("registers, gas and pc can be changed between runs", (backend) => {
  using sb = Sandbox.create(TWO_BLOCKS, { backend, gas: 100n });
  const exit = sb.run(); // panics at the trap with a2 = 3
  assert.equal(exit.kind, "panic");
  sb.pc = exit.pc - 3; // back to add_64, which starts no block: charged as a new entry
  sb.setRegister(7, 40n);
  sb.regs[8] = 2n;
  sb.gas = 50n;
  assert.equal(sb.run().kind, "panic");
  assert.equal(sb.getRegister(9), 42n);
  assert.equal(sb.gas, 48n);
});

const CALL_THEN_JUMP = program(`
    ecalli 1
    load_imm a0, 5
    jump next
next:
    load_imm a1, 6
    trap
`);

forEachBackend(
  "after a host call the rest of the paid block runs even with gas set to 0",
  (backend) => {
    using sb = Sandbox.create(CALL_THEN_JUMP, { backend, gas: 10n });
    assert.equal(sb.run().kind, "host-call");
    assert.equal(sb.gas, 7n, "the first block (3 instructions) was paid on entry");
    sb.gas = 0n;
    const exit = sb.run();
    assert.equal(exit.kind, "out-of-gas");
    assert.equal(sb.regs[7], 5n, "load_imm after the ecalli ran without new gas");
    assert.equal(sb.regs[8], 0n, "the next block did not");
    assert.equal(sb.pc, exit.pc);
  },
);
