import assert from "node:assert/strict";
import { nativeLibrary } from "../ffi/library.ts";
import { Zygote, ZygotePool } from "../src/sandbox/native/mod.ts";
import { Asm, R } from "./native/x86.ts";
import { childPids, openFdCount, processExists, sandboxMappings } from "./native/harness.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";
import { evalWithGc } from "./fixtures.ts";

const LOOP_FOREVER = () => new Asm().raw(0xeb, 0xfe);

/** What a leak would change. The library's one long-lived fd (the zygote image) exists first. */
function resources() {
  Zygote.spawn()[Symbol.dispose]();
  return {
    fds: openFdCount(),
    sandboxMappings: sandboxMappings(),
    children: childPids(),
    live: nativeLibrary().symbols.pvmbox_live_count(),
  };
}

function killLater(pid: number, seconds: number): Deno.ChildProcess {
  return new Deno.Command("sh", { args: ["-c", `sleep ${seconds}; kill -9 ${pid}`] }).spawn();
}

Deno.test("faults: SIGKILL mid-run gives a typed error, noticed long before the run's limit", async () => {
  using zygote = Zygote.spawn();
  zygote.loadCode(LOOP_FOREVER().build());
  const killer = killLater(zygote.pid, 0.2);
  // With a 60 s limit, "zygote-killed" (not "timeout") proves the death itself was noticed.
  const error = assertSandboxError(() => zygote.run(0, { timeoutMs: 60_000 }), "zygote-killed");
  await killer.status;
  assert.match(error.message, /SIGKILL/);
  assert.equal(zygote.usable, false);
  assertSandboxError(() => zygote.run(0), "zygote-killed");
});

Deno.test("faults: a zygote killed while parked in a host call is reported on resume", () => {
  using zygote = Zygote.spawn();
  zygote.loadCode(new Asm().hostCall(3).ret().build());
  assert.equal(zygote.run(0).kind, "host-call");
  Deno.kill(zygote.pid, "SIGKILL");
  assertSandboxError(() => zygote.resume(), "zygote-killed");
});

Deno.test("faults: the wall-clock limit kills a runaway guest", () => {
  using zygote = Zygote.spawn({ timeoutMs: 100 });
  zygote.loadCode(LOOP_FOREVER().build());
  const started = performance.now();
  assertSandboxError(() => zygote.run(0), "timeout");
  const took = performance.now() - started;
  assert.ok(took >= 100, `stopped after ${took.toFixed(0)} ms, before its limit`);
  assert.ok(!processExists(zygote.pid));
  // A per-run limit overrides the zygote's default.
  using other = Zygote.spawn();
  other.loadCode(LOOP_FOREVER().build());
  assertSandboxError(() => other.run(0, { timeoutMs: 50 }), "timeout");
});

Deno.test("faults: the pool replaces a killed zygote", () => {
  using pool = new ZygotePool({ size: 2 });
  const victim = pool.acquire();
  victim.loadCode(LOOP_FOREVER().build());
  victim.kill();
  assertSandboxError(() => victim.run(0), "zygote-killed");
  pool.release(victim);
  assert.equal(pool.idle, 1, "the broken zygote is not kept");
  const a = pool.acquire();
  const b = pool.acquire(); // spawned on demand
  assert.notEqual(a.pid, b.pid);
  for (const z of [a, b]) {
    z.loadCode(new Asm().ret().build());
    assert.equal(z.run(0).kind, "return");
    pool.release(z);
  }
  assert.equal(pool.idle, 2);
});

Deno.test("faults: 10,000 acquire/run/release cycles leave no processes, fds or mappings", () => {
  const before = resources();
  {
    using pool = new ZygotePool({ size: 1 });
    const code = new Asm().addImm(R.rbx, 1).ret().build();
    for (let i = 0; i < 10_000; i++) {
      const zygote = pool.acquire(code);
      if (i === 0 || i % 97 === 0) zygote.loadCode(code);
      zygote.memory.map(0x10000, 4096, "read-write");
      assert.equal(zygote.run(0).kind, "return");
      pool.release(zygote);
    }
  }
  assert.deepEqual(resources(), before);
});

Deno.test("faults: 200 spawn/run/dispose cycles leave no processes, fds or mappings", () => {
  const before = resources();
  const pids = new Set<number>();
  for (let i = 0; i < 200; i++) {
    using zygote = Zygote.spawn();
    pids.add(zygote.pid);
    zygote.loadCode(new Asm().ret().build());
    assert.equal(zygote.run(0).kind, "return");
  }
  assert.equal(pids.size, 200);
  assert.deepEqual(resources(), before);
  for (const pid of pids) assert.ok(!processExists(pid));
});

Deno.test("faults: zygotes spawn and run from several threads at once", async () => {
  const url = new URL("./native/worker_spawn.ts", import.meta.url);
  const workers = [1, 2, 3].map(() => new Worker(url, { type: "module" }));
  const results = await Promise.all(
    workers.map((worker, tag) =>
      new Promise<string[]>((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(e.message);
        worker.postMessage({ count: 20, tag });
      })
    ),
  );
  for (const worker of workers) worker.terminate();
  results.forEach((values, tag) => {
    assert.deepEqual(values, Array.from({ length: 20 }, (_, i) => String(tag * 1000 + i)));
  });
});

Deno.test("faults: a zygote dropped without dispose is reclaimed by the garbage collector", async () => {
  const script = `
    import { Zygote } from ${
    JSON.stringify(new URL("../src/sandbox/native/mod.ts", import.meta.url).href)
  };
    let pid = 0;
    let view;
    (() => {
      const zygote = Zygote.spawn();
      pid = zygote.pid;
      zygote.memory.map(0x10000, 4096, "read-write");
      view = zygote.memory.view(0x10000, 16);
    })();
    for (let i = 0; i < 50 && view.length !== 0; i++) {
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    let gone = true;
    try { gone = !/State:\\s+[^Z]/.test(Deno.readTextFileSync("/proc/" + pid + "/status")); } catch {}
    console.log(JSON.stringify({ detached: view.length === 0, gone }));`;
  assert.deepEqual(await evalWithGc(script), { detached: true, gone: true });
});
