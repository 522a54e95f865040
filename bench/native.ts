/**
 * Native sandbox figures: cold spawn, warm instantiate from the pool, host-call round trip and
 * idle zygote RSS, each against its target; then the same through `Sandbox` with compiled PVM
 * code (a host call through a TypeScript handler, instantiating a program from the warm pool and
 * running it to its first exit), each beside the interpreter (execution speed is
 * `bench/execution.ts`). Run with
 * `deno run -A bench/native.ts`; the numbers are medians (and p99) of many samples taken in one
 * run, since machines here are noisy (host-call samples are means of batches: a clock read per
 * call would cost a quarter of the target).
 * @module
 */
import { ABI, fieldOffset } from "../ffi/vmctx.ts";
import { assemble } from "../src/program/asm/index.ts";
import { Program } from "../src/program/program.ts";
import type { BackendName } from "../src/sandbox/backends.ts";
import { MemoryImage, Zygote, ZygotePool } from "../src/sandbox/native/mod.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";

/** One measured figure. */
export interface Figure {
  /** What was measured. */
  readonly name: string;
  /** Median in the unit. */
  readonly median: number;
  /** 99th percentile in the unit (NaN when not meaningful). */
  readonly p99: number;
  /** Unit of median and p99. */
  readonly unit: "ms" | "µs" | "kB";
  /** Target (upper bound) in the same unit. */
  readonly target: number;
}

const le32 = (v: number) => [...new Uint8Array(new Uint32Array([v >>> 0]).buffer)];
const le64 = (v: number) => [...new Uint8Array(new BigUint64Array([BigInt(v)]).buffer)];
/** The rel32 from an instruction ending `end` bytes into the code to VmCtx field `name`. */
const vmctxRel = (name: string, end: number) =>
  le32(ABI.VMCTX_ADDR - ABI.CODE_ADDR + fieldOffset(name) - end);
/**
 * Guest code: `mov rcx, &VmCtx.trampolines.return_to_host; jmp [rcx]`, the same bytes wherever
 * it lies in the code (it also ends longer snippets).
 */
const RETURN = new Uint8Array([
  ...[0x48, 0xb9, ...le64(ABI.VMCTX_ADDR + fieldOffset("trampolines.return_to_host"))],
  ...[0xff, 0x21],
]);
/** Guest code: loop { host call 1 }. */
const HOST_CALL_LOOP = new Uint8Array([
  ...[0xc7, 0x05, ...vmctxRel("exit_arg", 10), ...le32(1)], // mov [rip → exit_arg], 1
  ...[0xff, 0x15, ...vmctxRel("trampolines.host_call", 16)], // call [rip → host_call]
  ...[0xeb, 0xee], // jmp back to the start
]);

/**
 * Round trips timed together: reading the clock costs about 0.1 µs here, a quarter of the
 * host-call target, so a host-call sample is the mean of a batch of this many calls.
 */
const BATCH = 64;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function summarize(samples: Float64Array): { median: number; p99: number } {
  samples.sort();
  return { median: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/**
 * Cold spawn: time from nothing to a zygote ready for work (disposal not included). `p10`, the
 * 10th percentile, shows the work itself where other processes' load makes the median wander.
 */
export function coldSpawn(
  count: number,
  weakIsolation = false,
): { median: number; p99: number; p10: number } {
  Zygote.spawn({ weakIsolation })[Symbol.dispose](); // creates the one-time image memfd
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const zygote = Zygote.spawn({ weakIsolation });
    samples[i] = performance.now() - started;
    zygote[Symbol.dispose]();
  }
  return { ...summarize(samples), p10: percentile(samples, 0.1) };
}

/**
 * Warm instantiate: acquire (reset) + run trivial code + release, from a pool; with `image`,
 * the image is applied to every instance too.
 */
export function warmInstantiate(
  count: number,
  image?: MemoryImage,
): { median: number; p99: number } {
  using pool = new ZygotePool({ size: 2 });
  // The program key: under the default "same-program" policy a zygote is reused for it only.
  const warm = pool.acquire(RETURN);
  warm.loadCode(RETURN);
  pool.release(warm);
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const zygote = pool.acquire(RETURN);
    if (image !== undefined) zygote.memory.applyImage(image);
    const exit = zygote.run(0);
    pool.release(zygote);
    samples[i] = (performance.now() - started) * 1000;
    if (exit.kind !== "return") throw new Error(`unexpected exit ${exit.kind}`);
  }
  return summarize(samples);
}

/** A memory image of 64 KiB read-only (shared) + 4 KiB read-write (copied). */
export function sampleImage(): MemoryImage {
  return new MemoryImage([
    { address: 0x10000, bytes: new Uint8Array(65536).fill(7), access: "read" },
    { address: 0x30000, bytes: new Uint8Array(4096).fill(9), access: "read-write" },
  ]);
}

/**
 * Reset of a sandbox whose guest wrote 1 MiB (256 pages), until the zygote is ready for the next
 * user (the reset and a command after it: whatever work a reset leaves to the zygote counts).
 */
export function resetDirty(count: number): { median: number; p99: number } {
  using zygote = Zygote.spawn();
  // rep stosb over 1 MiB at 0x100000, then return.
  zygote.loadCode(
    new Uint8Array([
      ...[0x48, 0xbf, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00], // mov rdi, 0x100000
      ...[0x48, 0xb9, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00], // mov rcx, 0x100000
      ...[0xb0, 0x5a, 0xf3, 0xaa], // mov al, 0x5a; rep stosb
      ...RETURN,
    ]),
  );
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    zygote.memory.map(0x100000, 1 << 20, "read-write");
    if (zygote.run(0).kind !== "return") throw new Error("dirtying code is broken");
    const started = performance.now();
    zygote.reset();
    zygote.sync();
    samples[i] = (performance.now() - started) * 1000;
  }
  return summarize(samples);
}

/**
 * Host-call round trip: resume → guest → host-call exit back in the host; median and p99 of
 * the means of batches of BATCH round trips.
 */
export function hostCallRoundTrip(count: number): { median: number; p99: number } {
  using zygote = Zygote.spawn();
  zygote.loadCode(HOST_CALL_LOOP);
  if (zygote.run(0).kind !== "host-call") throw new Error("host-call benchmark code is broken");
  const samples = new Float64Array(Math.ceil(count / BATCH));
  for (let b = 0; b < samples.length; b++) {
    const started = performance.now();
    for (let i = 0; i < BATCH; i++) {
      const exit = zygote.resume();
      if (exit.kind !== "host-call") throw new Error(`unexpected exit ${exit.kind}`);
    }
    samples[b] = (performance.now() - started) * 1000 / BATCH;
  }
  return summarize(samples);
}

/**
 * Host-call round trip through `resumeAsync` (the shared waiter; the JS thread stays free); means
 * of batches like `hostCallRoundTrip`.
 */
export async function hostCallRoundTripAsync(
  count: number,
): Promise<{ median: number; p99: number }> {
  using zygote = Zygote.spawn();
  zygote.loadCode(HOST_CALL_LOOP);
  if ((await zygote.runAsync(0)).kind !== "host-call") throw new Error("benchmark code is broken");
  const samples = new Float64Array(Math.ceil(count / BATCH));
  for (let b = 0; b < samples.length; b++) {
    const started = performance.now();
    for (let i = 0; i < BATCH; i++) {
      const exit = await zygote.resumeAsync();
      if (exit.kind !== "host-call") throw new Error(`unexpected exit ${exit.kind}`);
    }
    samples[b] = (performance.now() - started) * 1000 / BATCH;
  }
  return summarize(samples);
}

/**
 * The floor under any host-call round trip: one cache line passed from this thread to a spinning
 * worker thread and back (two CPU-to-CPU transfers, as a post and a report are). On a virtual
 * machine it depends on where the hypervisor runs the two virtual CPUs, and it can change while
 * the machine runs. Median and p99 of the means of batches of BATCH.
 */
export async function cacheLineRoundTrip(count: number): Promise<{ median: number; p99: number }> {
  const buffer = new SharedArrayBuffer(64);
  const word = new Int32Array(buffer);
  const worker = new Worker(new URL("./cache_line_worker.ts", import.meta.url), { type: "module" });
  const done = new Promise((resolve) => worker.onmessage = resolve);
  const samples = new Float64Array(Math.ceil(count / BATCH));
  worker.postMessage({ buffer, count: samples.length * BATCH });
  let started = performance.now();
  for (let i = 0; i < samples.length * BATCH; i++) {
    Atomics.store(word, 0, 2 * i + 1);
    while (Atomics.load(word, 0) !== 2 * i + 2) { /* spin */ }
    if ((i + 1) % BATCH === 0) {
      const now = performance.now();
      samples[(i + 1) / BATCH - 1] = (now - started) * 1000 / BATCH;
      started = now;
    }
  }
  await done;
  worker.terminate();
  return summarize(samples);
}

/** Resident memory of idle pooled zygotes after they have run, in kB. */
export function idleRss(count: number): { median: number; p99: number } {
  using pool = new ZygotePool({ size: count });
  const leased = Array.from({ length: count }, () => pool.acquire());
  for (const zygote of leased) {
    zygote.loadCode(RETURN);
    zygote.run(0);
  }
  const samples = new Float64Array(
    leased.map((z) => {
      const line = Deno.readTextFileSync(`/proc/${z.pid}/status`).split("\n").find((l) =>
        l.startsWith("VmRSS:")
      );
      return Number(line?.match(/(\d+)/)?.[1] ?? NaN);
    }),
  );
  for (const zygote of leased) pool.release(zygote);
  return summarize(samples);
}

/** Compiled PVM code that makes host call 1 forever. */
const HOST_CALL_PROGRAM = Program.parse(assemble(`
.stack_size 0x1000
loop:
    ecalli 1
    jump loop
`));

/**
 * Host-call round trip through `Sandbox.invoke` and a TypeScript handler: from one handler call
 * to the next (the handler returns → registers to the guest → resume → ecalli → exit →
 * registers back → the handler is called); median and p99 of the means of batches of BATCH.
 */
export function sandboxHostCall(
  backend: BackendName,
  count: number,
): { median: number; p99: number } {
  using sb = Sandbox.create(HOST_CALL_PROGRAM, { backend, gas: 1n << 62n });
  const samples = new Float64Array(Math.ceil(count / BATCH));
  let calls = 0, last = 0;
  sb.invoke({
    hostCalls: {
      1: () => {
        if (calls % BATCH === 0) {
          const now = performance.now();
          if (calls > 0) samples[calls / BATCH - 1] = (now - last) * 1000 / BATCH;
          last = now;
        }
        if (calls++ === samples.length * BATCH) return "stop";
      },
    },
  });
  return summarize(samples);
}

/** A standard program with read-only data, read-write data, a stack and heap growth. */
const MEMORY_EXAMPLE = new URL("../examples/memory.s", import.meta.url);

/**
 * Instantiate and run to the first exit: `Sandbox.create` (standard initialization; on native a
 * reset zygote from the warm pool, code already compiled and loaded) + `run()` to the program's
 * halt + dispose.
 */
export function sandboxInstantiate(
  backend: BackendName,
  count: number,
): { median: number; p99: number } {
  const program = Program.parse(assemble(Deno.readTextFileSync(MEMORY_EXAMPLE)));
  const once = (): number => {
    const started = performance.now();
    using sb = Sandbox.create(program, { backend, gas: 1_000_000n });
    const exit = sb.run();
    if (exit.kind !== "halt") throw new Error(`memory.s ended with ${exit.kind}`);
    return (performance.now() - started) * 1000;
  };
  once(); // compiles (native) or analyses (interpreter) once; every later instance reuses it
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) samples[i] = once();
  return summarize(samples);
}

/** Runs every measurement. */
export async function benchNative(scale = 1): Promise<Figure[]> {
  const cold = coldSpawn(Math.round(60 * scale));
  const coldWeak = coldSpawn(Math.round(60 * scale), true);
  const warm = warmInstantiate(Math.round(20_000 * scale));
  const warmImage = warmInstantiate(Math.round(5_000 * scale), sampleImage());
  const reset = resetDirty(Math.round(200 * scale));
  const roundTrip = hostCallRoundTrip(Math.round(100_000 * scale));
  const roundTripAsync = await hostCallRoundTripAsync(Math.round(5_000 * scale));
  const rss = idleRss(4);
  const sandboxCall = sandboxHostCall("native", Math.round(100_000 * scale));
  const floor = await cacheLineRoundTrip(Math.round(50_000 * scale));
  const sandboxCallInterpreter = sandboxHostCall("interpreter", Math.round(100_000 * scale));
  const instantiate = sandboxInstantiate("native", Math.round(5_000 * scale));
  const instantiateInterpreter = sandboxInstantiate("interpreter", Math.round(5_000 * scale));
  return [
    { name: "cold spawn (full isolation)", unit: "ms", target: 3, ...cold },
    { name: "cold spawn (weak profile, for comparison)", unit: "ms", target: 3, ...coldWeak },
    { name: "warm reset + empty run + release (pool)", unit: "µs", target: 10, ...warm },
    {
      name: "  same + image (64 KiB ro shared, 4 KiB rw copied)",
      unit: "µs",
      target: 10,
      ...warmImage,
    },
    { name: "  reset after the guest dirtied 1 MiB", unit: "µs", target: 10, ...reset },
    { name: "host-call round trip", unit: "µs", target: 1, ...roundTrip },
    {
      name: "  same through resumeAsync (shared waiter)",
      unit: "µs",
      target: 1,
      ...roundTripAsync,
    },
    { name: "idle zygote RSS", unit: "kB", target: 64, ...rss },
    {
      name: "Sandbox host call via a TS handler, compiled PVM",
      unit: "µs",
      target: 0.4,
      ...sandboxCall,
    },
    {
      name: "  floor: a cache line to another thread and back",
      unit: "µs",
      target: 0.4,
      ...floor,
    },
    {
      name: "  same on the interpreter (for comparison)",
      unit: "µs",
      target: 0.4,
      ...sandboxCallInterpreter,
    },
    {
      name: "Sandbox create (warm pool) + run memory.s + dispose",
      unit: "µs",
      target: 50,
      ...instantiate,
    },
    {
      name: "  same on the interpreter (for comparison)",
      unit: "µs",
      target: 50,
      ...instantiateInterpreter,
    },
  ];
}

/** Formats figures as an aligned table with the ratio to each target. */
export function formatFigures(figures: readonly Figure[]): string {
  const rows = figures.map((f) => {
    const digits = f.unit === "kB" ? 0 : f.median < 10 ? 2 : 1;
    return [
      f.name,
      `${f.median.toFixed(digits)} ${f.unit}`,
      Number.isNaN(f.p99) ? "" : `${f.p99.toFixed(digits)} ${f.unit}`,
      `≤ ${f.target} ${f.unit}`,
      `${(f.median / f.target).toFixed(2)}×`,
    ];
  });
  const header = ["native sandbox", "median", "p99", "target", "median/target"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ")).join("\n");
}

if (import.meta.main) {
  const scale = Number(Deno.env.get("PVMBOX_BENCH_SCALE") ?? "1");
  const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(`load average ${load()} on ${navigator.hardwareConcurrency} CPUs`);
  console.log(formatFigures(await benchNative(scale)));
  console.log(`\nload average ${load()}`);
}
