/**
 * The escape suite, forged reports and what the host reads back: guest code writes reports,
 * errnos and facts into the VmCtx itself, keeps running after a forged report, storms the host
 * with futex wakes, or exits with a status of its choosing. Each attempt ends in a killed zygote
 * or a clean typed outcome, and a pool never hands such a zygote to anyone else.
 */
import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import { Zygote, ZygotePool } from "../src/sandbox/native/mod.ts";
import { Asm, field, R } from "./native/x86.ts";
import { processExists, spawnRaw } from "./native/harness.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";

/**
 * Appends to `code` (RIP-relative, so in place, not copied): write `report` into the state word,
 * then spin forever (still "running" after the forgery).
 */
function forge(report: number, code: Asm = new Asm()): Asm {
  return code.setVm32(field("state"), report).raw(0xeb, 0xfe);
}

Deno.test("escape: a forged 'return' that keeps running is never handed to another user", () => {
  using pool = new ZygotePool({ size: 1 });
  const forger = pool.acquire("forger");
  forger.loadCode(forge(ABI.REPORT_RETURN).build());
  assert.deepEqual(forger.run(0), { kind: "return" }, "the host cannot tell the forgery itself");
  const pid = forger.pid;
  pool.release(forger); // the post-reset probe gets no answer: the zygote is killed, not kept
  assert.equal(forger.usable, false);
  assert.ok(!processExists(pid), "the forging zygote is gone");
  assert.equal(pool.idle, 0);
  const next = pool.acquire("forger");
  assert.notEqual(next.pid, pid);
  next.loadCode(new Asm().movImm(R.rax, 7).ret().build());
  assert.deepEqual(next.run(0), { kind: "return" });
  pool.release(next);
});

Deno.test("escape: a forged error report with an impossible errno is a protocol violation", () => {
  for (const errno of [0, 4096, 0xffff_ffff]) {
    using zygote = Zygote.spawn();
    const code = new Asm().setVm32(field("error_errno"), errno);
    zygote.loadCode(forge(ABI.REPORT_ERROR, code).build());
    assertSandboxError(() => zygote.run(0), "protocol-violation");
    assert.ok(!processExists(zygote.pid), `errno ${errno}: the zygote is killed`);
  }
});

Deno.test("escape: a report during a memory-operation flush is bounded by the time limit", () => {
  using zygote = Zygote.spawn({ timeoutMs: 200 });
  zygote.loadCode(forge(ABI.REPORT_HOST_CALL).build());
  assert.equal(zygote.run(0).kind, "host-call");
  // More operations than the queue holds force a flush the spinning guest never answers.
  const flood = () => {
    for (let page = 0; page <= ABI.MAX_MEMOPS; page++) {
      zygote.memory.map(0x100000 + page * 8192, 4096, "read");
    }
  };
  assertSandboxError(flood, "timeout");
  assert.ok(!processExists(zygote.pid));
});

Deno.test("escape: facts rewritten by guest code do not change what the host reports", () => {
  using zygote = Zygote.spawn();
  const before = zygote.facts();
  const code = new Asm();
  for (const name of ["uid", "pid", "no_new_privs", "root_entries"]) {
    code.setVm32(field(`facts.${name}`), 0x4141);
  }
  zygote.loadCode(code.ret().build());
  assert.equal(zygote.run(0).kind, "return");
  assert.deepEqual(zygote.facts(), before);
});

Deno.test("escape: an exit status of the guest's choosing is reported without blame", () => {
  for (const status of [101, 111, 120, 164]) {
    using zygote = Zygote.spawn();
    zygote.loadCode(new Asm().syscall(231, status).build()); // exit_group(status)
    const error = assertSandboxError(() => zygote.run(0), "zygote-died");
    assert.match(error.message, new RegExp(`status ${status}\\b`));
    assert.doesNotMatch(error.message, /faulted|SIG[A-Z]+/, "no interpretation of the status");
  }
});

Deno.test("escape: a FUTEX_WAKE storm on the state word does not keep the host busy", () => {
  using zygote = Zygote.spawn();
  // 300,000 wakes of the state word (allowed), then return.
  const code = new Asm().movImm(R.r12, 300_000);
  const loop = code.here;
  code.syscall(202, ABI.VMCTX_ADDR, 1, 1, 0, 0, 0);
  code.raw(0x49, 0xff, 0xcc); // dec r12
  code.raw(0x0f, 0x85, ...new Uint8Array(new Int32Array([loop - (code.here + 6)]).buffer));
  zygote.loadCode(code.ret().build());
  const cpuBefore = hostCpuSeconds();
  const started = performance.now();
  assert.deepEqual(zygote.run(0), { kind: "return" });
  const wall = (performance.now() - started) / 1000;
  const cpu = hostCpuSeconds() - cpuBefore;
  // Woken for every call, the host would burn about as much CPU as the storm takes; after a few
  // dozen wakes that change nothing it sleeps plain slices instead.
  assert.ok(cpu < wall / 2, `host CPU ${cpu.toFixed(3)} s over ${wall.toFixed(3)} s`);
});

/** User + system CPU time of this process, in seconds (clock ticks of 10 ms). */
function hostCpuSeconds(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

Deno.test("escape: a memory operation whose length would wrap is refused", () => {
  // The public API validates ranges first; the library must hold on its own. An address near
  // 2^64 passes a naive `address + length <= end` check once the sum wraps.
  const { symbols, handle } = spawnRaw();
  try {
    const op = (address: bigint, length: bigint) =>
      symbols.pvmbox_memory_op(handle, ABI.MEMOP_MAP, address, length, ABI.ACCESS_READ, 10n ** 9n);
    assert.equal(op(2n ** 64n - 4096n, 8192n), 22, "EINVAL");
    assert.equal(op(0x10000n, 2n ** 64n - 0x10000n), 22, "EINVAL");
    assert.equal(op(0x10000n, 4096n), 0, "a valid operation is queued");
  } finally {
    symbols.pvmbox_dispose(handle);
  }
});
