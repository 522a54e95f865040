import assert from "node:assert/strict";
import { encodeBlob } from "../src/program/blob.ts";
import { Program } from "../src/program/program.ts";
import type { HostCallHandler } from "../src/sandbox/invoke.ts";
import { invokeProgram, Sandbox } from "../src/sandbox/sandbox.ts";
import { assertSandboxError, program } from "./sandbox_helpers.ts";
import { forEachBackend } from "./backends.ts";

// Sums the argument bytes after asking the host (call 7) for a starting value; halts with the
// 8-byte little-endian sum as output, in a buffer it gets from sbrk.
const SUM = program(`
.stack_size 0x1000
    move_reg s0, a0             ; argument address
    move_reg s1, a1             ; argument length
    ecalli 7                    ; a0 = start value from the host
    load_imm t0, 0
    fallthrough
loop:
    branch_ge_u t0, s1, done
    add_64 t1, s0, t0
    load_ind_u8 t1, [t1]
    add_64 a0, a0, t1
    add_imm_64 t0, t0, 1
    jump loop
done:
    move_reg s0, a0
    load_imm t0, 8
    sbrk a0, t0
    store_ind_u64 [a0], s0
    load_imm a1, 8
    jump_ind ra, 0
`);

const ARGS = Uint8Array.of(1, 2, 3, 4);
const littleEndian = (n: bigint) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
};

forEachBackend("invoke: halt with output, gas used and host calls serviced", (backend) => {
  const start: HostCallHandler = () => 1000n;
  const result = invokeProgram(SUM, { backend, gas: 10_000n, args: ARGS, hostCalls: { 7: start } });
  assert.equal(result.status, "halt");
  assert.equal(result.exit.kind, "halt");
  assert.deepEqual(result.output, littleEndian(1010n));
  assert.equal(result.hostCallsServiced, 1);
  assert.equal(result.gasUsed + result.gasLeft, 10_000n);
  assert.ok(result.gasUsed > 20n && result.gasUsed < 100n, `${result.gasUsed}`);
});

forEachBackend(
  "invoke: unknown host call ends with a clear status; the caller can resume",
  (backend) => {
    using sb = Sandbox.create(SUM, { backend, gas: 10_000n, args: ARGS });
    const first = sb.invoke();
    assert.equal(first.status, "unknown-host-call");
    assert.deepEqual(first.exit, { kind: "host-call", pc: 4, id: 7 });
    assert.equal(first.output, undefined);
    sb.regs[7] = 5n;
    const rest = sb.invoke();
    assert.equal(rest.status, "halt");
    assert.deepEqual(rest.output, littleEndian(15n));
  },
);

forEachBackend("invoke: a handler can stop, and another invoke continues", (backend) => {
  using sb = Sandbox.create(SUM, { backend, gas: 10_000n, args: ARGS });
  const stopped = sb.invoke({ hostCalls: { 7: () => "stop" } });
  assert.equal(stopped.status, "host-call-stopped");
  assert.equal(stopped.hostCallsServiced, 1);
  assert.equal(sb.regs[7], 0xfeff0000n, "a stopping handler leaves φ7 alone");
  sb.regs[7] = 0n;
  const done = sb.invoke({ hostCalls: {} });
  assert.equal(done.status, "halt");
  assert.deepEqual(done.output, littleEndian(10n));
});

forEachBackend("invoke: out-of-gas, then more gas through invoke({gas})", (backend) => {
  using sb = Sandbox.create(SUM, { backend, gas: 15n, args: ARGS });
  const handlers = { 7: () => 0n };
  const starved = sb.invoke({ hostCalls: handlers });
  assert.equal(starved.status, "out-of-gas");
  assert.equal(starved.gasUsed + starved.gasLeft, 15n);
  const finished = sb.invoke({ gas: 1000n, hostCalls: handlers });
  assert.equal(finished.status, "halt");
  assert.deepEqual(finished.output, littleEndian(10n));
});

const FAULT = program(`
.stack_size 0x1000
    load_u64 a0, [0x70000]
    jump_ind ra, 0
`);

forEachBackend("invoke: panic and page fault, with and without a page-fault handler", (backend) => {
  const panicked = invokeProgram(program("trap"), { backend, gas: 10n });
  assert.equal(panicked.status, "panic");
  assert.deepEqual(panicked.exit, { kind: "panic", pc: 0 });

  const faulted = invokeProgram(FAULT, { backend, gas: 10n });
  assert.equal(faulted.status, "page-fault");
  assert.deepEqual(faulted.exit, { kind: "page-fault", pc: 0, address: 0x70000 });

  let faults = 0;
  const served = invokeProgram(FAULT, {
    backend,
    gas: 10n,
    onPageFault: (sb, fault) => {
      faults++;
      sb.memory.map(fault.address, 4096, "read");
      sb.memory.write(fault.address, littleEndian(99n));
      return "retry";
    },
  });
  assert.equal(served.status, "halt");
  assert.equal(served.regs[7], 99n);
  assert.equal(faults, 1);

  const unfixed = invokeProgram(FAULT, { backend, gas: 10n, onPageFault: () => "retry" });
  assert.equal(unfixed.status, "page-fault", "a retry that does not map the page stops");
});

forEachBackend("invoke: a raw blob runs bare", (backend) => {
  const raw = Program.parse(
    encodeBlob({ jumpTable: [], code: Uint8Array.of(10, 5), bitmask: Uint8Array.of(1) }),
  );
  assert.equal(raw.container, "raw");
  const result = invokeProgram(raw, { backend, gas: 10n, hostCalls: { 5: () => 9n } });
  assert.equal(result.status, "panic", "ecalli 5, then the trap past the end of the code");
  assert.equal(result.regs[7], 9n);
  assert.equal(result.output, undefined);
});

forEachBackend("invoke: handler results are checked", (backend) => {
  const bad = () =>
    invokeProgram(SUM, { backend, gas: 100n, hostCalls: { 7: () => 5 as unknown as bigint } });
  assertSandboxError(bad, "invalid-argument", /returned 5; return nothing, a bigint/);
  const promised = () =>
    invokeProgram(SUM, {
      backend,
      gas: 100n,
      hostCalls: { 7: (() => Promise.resolve(1n)) as never },
    });
  assertSandboxError(promised, "invalid-argument", /returned a promise; use invokeAsync/);
});

forEachBackend("invokeAsync: handlers may be async", async (backend) => {
  using sb = Sandbox.create(SUM, { backend, gas: 10_000n, args: ARGS });
  const result = await sb.invokeAsync({
    hostCalls: {
      7: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return 32n;
      },
    },
  });
  assert.equal(result.status, "halt");
  assert.deepEqual(result.output, littleEndian(42n));
});
