import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import { Zygote } from "../src/sandbox/native/mod.ts";
import { Asm, R } from "./native/x86.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";

const FUTEX_WAIT = 0;

/**
 * Guest code that sleeps `ms` inside the kernel and returns: a futex wait on the VmCtx state
 * word (the only futex the filter allows) while it still holds CMD_RUN.
 */
function sleeper(ms: number): Asm {
  // timespec { 0, ms * 1e6 } at 0x10000; futex(&state, FUTEX_WAIT, CMD_RUN, &ts)
  return new Asm()
    .movImm(R.rax, 0).store64(0x10000, R.rax)
    .movImm(R.rax, ms * 1_000_000).store64(0x10008, R.rax)
    .syscall(202, ABI.VMCTX_ADDR, FUTEX_WAIT, ABI.CMD_RUN, 0x10000)
    .ret();
}

Deno.test("async: runAsync and resumeAsync give the same exits as run and resume", async () => {
  using zygote = Zygote.spawn();
  zygote.loadCode(new Asm().movImm(R.rax, 1).hostCall(9, 4).addImm(R.rax, 1).ret().build());
  assert.deepEqual(await zygote.runAsync(0), { kind: "host-call", id: 9, pc: 4 });
  zygote.setRegister(7, 10n);
  assert.deepEqual(await zygote.resumeAsync(), { kind: "return" });
  assert.equal(zygote.getRegister(7), 11n);
  assert.deepEqual(zygote.run(0), { kind: "host-call", id: 9, pc: 4 });
});

Deno.test("async: the zygote is busy until the run settles", async () => {
  using zygote = Zygote.spawn();
  zygote.memory.map(0x10000, 4096, "read-write");
  zygote.loadCode(sleeper(50).build());
  const pending = zygote.runAsync(0);
  assert.equal(zygote.running, true);
  assertSandboxError(() => zygote.getRegister(0), "invalid-argument");
  assertSandboxError(() => zygote.run(0), "invalid-argument");
  assertSandboxError(() => zygote.memory.map(0x20000, 4096, "read"), "invalid-argument");
  assertSandboxError(() => zygote.memory.read(0x10000, 1), "invalid-argument");
  assert.deepEqual(await pending, { kind: "return" });
  assert.equal(zygote.running, false);
});

/** Threads of Deno's blocking pool (where nonblocking FFI calls run). */
function blockingPoolThreads(): number {
  let count = 0;
  for (const task of Deno.readDirSync("/proc/self/task")) {
    const name = Deno.readTextFileSync(`/proc/self/task/${task.name}/comm`).trim();
    if (name.startsWith("tokio-runtime")) count++;
  }
  return count;
}

Deno.test("async: many sandboxes wait concurrently on one pool thread", async () => {
  // 40 guests sleep in the kernel at once. A blocking call per sandbox would occupy all 32
  // threads of Deno's blocking pool; the shared waiter occupies one.
  const zygotes = Array.from({ length: 40 }, () => Zygote.spawn());
  try {
    for (const zygote of zygotes) {
      zygote.memory.map(0x10000, 4096, "read-write");
      zygote.loadCode(sleeper(300).build());
    }
    const before = blockingPoolThreads();
    const runs = Promise.all(zygotes.map((z) => z.runAsync(0)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const during = blockingPoolThreads();
    const exits = await runs;
    assert.ok(exits.every((e) => e.kind === "return"));
    assert.ok(during - before <= 2, `blocking-pool threads went from ${before} to ${during}`);
  } finally {
    for (const zygote of zygotes) zygote[Symbol.dispose]();
  }
});

Deno.test("async: the JS thread stays free during a run", async () => {
  using zygote = Zygote.spawn();
  zygote.memory.map(0x10000, 4096, "read-write");
  zygote.loadCode(sleeper(200).build());
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  await zygote.runAsync(0);
  clearInterval(timer);
  assert.ok(ticks > 0, "no timer ran while the guest ran: the JS thread was blocked");
});

Deno.test("async: timeouts, deaths and disposal reject with typed errors", async () => {
  using looping = Zygote.spawn();
  looping.loadCode(new Asm().raw(0xeb, 0xfe).build());
  await assert.rejects(looping.runAsync(0, { timeoutMs: 100 }), {
    name: "SandboxError",
    kind: "timeout",
  });

  using killed = Zygote.spawn();
  killed.loadCode(new Asm().raw(0xeb, 0xfe).build());
  const run = killed.runAsync(0, { timeoutMs: 60_000 });
  setTimeout(() => Deno.kill(killed.pid, "SIGKILL"), 50);
  await assert.rejects(run, { name: "SandboxError", kind: "zygote-killed" });

  const disposed = Zygote.spawn();
  disposed.loadCode(new Asm().raw(0xeb, 0xfe).build());
  const abandoned = disposed.runAsync(0);
  setTimeout(() => disposed[Symbol.dispose](), 50);
  await assert.rejects(abandoned, { name: "SandboxError", kind: "disposed" });

  using seccomp = Zygote.spawn();
  seccomp.loadCode(new Asm().syscall(41, 2, 1, 0).ret().build());
  await assert.rejects(seccomp.runAsync(0), { name: "SandboxError", kind: "zygote-killed" });
});

Deno.test("async: host-call round trips interleave across sandboxes", async () => {
  const zygotes = Array.from({ length: 4 }, () => Zygote.spawn());
  try {
    const loop = () => {
      const code = new Asm();
      const top = code.here;
      return code.addImm(R.rbx, 1).hostCall(1).jmp(top).build();
    };
    await Promise.all(zygotes.map(async (zygote) => {
      zygote.loadCode(loop());
      let exit = await zygote.runAsync(0);
      for (let i = 0; i < 200; i++) {
        assert.equal(exit.kind, "host-call");
        exit = await zygote.resumeAsync();
      }
      assert.equal(zygote.getRegister(0), 201n);
    }));
  } finally {
    for (const zygote of zygotes) zygote[Symbol.dispose]();
  }
});
