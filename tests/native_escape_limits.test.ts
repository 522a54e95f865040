/**
 * The escape suite, limits and pooling: guest code exhausts memory, reaches past guest memory
 * with a 32-bit displacement, or ends in something unusual; the host answers with typed errors,
 * and a pool hands zygotes only to the users its recycling policy allows.
 */
import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import {
  DEFAULT_RECYCLE_POLICY,
  DEFAULT_TIMEOUT_MS,
  Zygote,
  ZygotePool,
} from "../src/sandbox/native/mod.ts";
import { Asm, R } from "./native/x86.ts";
import { processExists } from "./native/harness.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";

const MIB = 1 << 20;

/** Guest code that maps 64 MiB of guest memory itself (allowed) and writes every byte. */
function hog(): Asm {
  const base = 0x1000_0000, length = 64 * MIB;
  return new Asm()
    .syscall(9, base, length, 3, 0x11, ABI.FD_MEMORY, base)
    .movImm(R.rdi, base).movImm(R.rcx, length).movImm(R.rax, 0x5a)
    .raw(0xf3, 0xaa) // rep stosb
    .ret();
}

Deno.test("escape: a guest past its memory budget gets a typed error, not a host OOM", async () => {
  using zygote = Zygote.spawn({ memoryLimitBytes: 8 * MIB });
  zygote.loadCode(hog().build());
  assertSandboxError(() => zygote.run(0), "memory-limit");
  assert.ok(!processExists(zygote.pid));
  assertSandboxError(() => zygote.run(0), "memory-limit");
  // The same through the asynchronous waiter.
  using other = Zygote.spawn({ memoryLimitBytes: 8 * MIB });
  other.loadCode(hog().build());
  await assert.rejects(other.runAsync(0), { name: "SandboxError", kind: "memory-limit" });
  // Within its budget the same guest runs to the end.
  using roomy = Zygote.spawn({ memoryLimitBytes: 128 * MIB });
  roomy.loadCode(hog().build());
  assert.deepEqual(roomy.run(0), { kind: "return" });
});

Deno.test("escape: limits are finite by default and opting out is explicit", () => {
  assert.ok(Number.isFinite(DEFAULT_TIMEOUT_MS) && DEFAULT_TIMEOUT_MS > 0);
  using zygote = Zygote.spawn();
  assert.equal(zygote.timeoutMs, DEFAULT_TIMEOUT_MS);
  using unbounded = Zygote.spawn({ timeoutMs: Infinity, memoryLimitBytes: Infinity });
  assert.equal(unbounded.timeoutMs, Infinity);
  for (const timeoutMs of [0, -1, NaN]) {
    assertSandboxError(() => Zygote.spawn({ timeoutMs }), "invalid-argument");
  }
  assertSandboxError(() => Zygote.spawn({ memoryLimitBytes: 0 }), "invalid-argument");
  for (const keepResidentBytes of [-1, 0.5, NaN, Infinity]) {
    assertSandboxError(() => Zygote.spawn({ keepResidentBytes }), "invalid-argument");
  }
  zygote.loadCode(new Asm().raw(0xeb, 0xfe).build()); // jmp $
  assertSandboxError(() => zygote.run(0, { timeoutMs: 0 }), "invalid-argument");
  assertSandboxError(() => zygote.run(0, { timeoutMs: 100 }), "timeout");
});

Deno.test("escape: a guest address plus a 32-bit displacement cannot reach the zygote", () => {
  using zygote = Zygote.spawn();
  // mov rax, [rbx + 0x7fffffff] with rbx = 0xffffffff: no 0x67 prefix, so no wrap at 4 GiB.
  zygote.loadCode(
    new Asm().movImm(R.rbx, 0xffff_ffff).raw(0x48, 0x8b, 0x83, 0xff, 0xff, 0xff, 0x7f).ret()
      .build(),
  );
  const exit = zygote.run(0);
  assert.equal(exit.kind, "signal");
  const address = (exit as { address: bigint }).address;
  assert.equal(address, 0xffff_ffffn + 0x7fff_ffffn);
  assert.ok(address < BigInt(ABI.CODE_ADDR), "it lands in the unmapped gap");
});

Deno.test("escape: pools recycle only as their policy allows", async () => {
  assert.equal(DEFAULT_RECYCLE_POLICY, "same-program");
  const ret = new Asm().ret().build();
  {
    using pool = new ZygotePool({ size: 1 });
    const a = pool.acquire("A");
    a.loadCode(ret);
    a.run(0);
    pool.release(a);
    const b = pool.acquire("B");
    assert.notEqual(b.pid, a.pid, "another program never gets a used zygote");
    pool.release(b);
    const again = pool.acquire("A");
    assert.equal(again.pid, a.pid, "the same program does");
    pool.release(again);
    assert.notEqual(pool.acquire().pid, a.pid, "nor does a user without a program key");
  }
  {
    using pool = new ZygotePool({ size: 1, recycle: "never" });
    const a = pool.acquire("A");
    a.loadCode(ret);
    a.run(0);
    pool.release(a);
    assert.ok(!processExists(a.pid), "used zygotes are disposed");
    await pool.refilled();
    assert.equal(pool.idle, 1, "a fresh one was spawned in the background");
    const b = pool.acquire("A");
    assert.notEqual(b.pid, a.pid);
    pool.release(b);
    await pool.refilled();
  }
});

Deno.test("escape: a zygote whose run ended in a signal is never pooled", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  const z = pool.acquire();
  z.loadCode(new Asm().raw(0x0f, 0x0b).build()); // ud2
  assert.equal(z.run(0).kind, "signal");
  assert.equal(z.reusable, false);
  pool.release(z);
  assert.ok(!processExists(z.pid));
  assert.equal(pool.idle, 0);
});
