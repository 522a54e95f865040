/**
 * What the zygote's hardening costs, step by step: guest code times each step's instructions
 * with RDTSC inside the zygote (the best of several trials, so other load on the machine does
 * not count), converted to nanoseconds with the TSC rate measured against the host's clock.
 * Run with `deno run -A bench/hardening.ts`.
 * @module
 */
import { ABI, fieldOffset } from "../ffi/vmctx.ts";
import { Zygote } from "../src/sandbox/native/mod.ts";

/** Iterations of a step per trial. */
const ITERATIONS = 1000;
const TRIALS = 15;
/** Guest address of the clean XSAVE image the entry step restores. */
const IMAGE_AT = 0x10000;

const le32 = (v: number) => [...new Uint8Array(new Uint32Array([v >>> 0]).buffer)];
const le64 = (v: number) => [...new Uint8Array(new BigUint64Array([BigInt(v)]).buffer)];
/** mov r64, imm64 for rax (0), rcx (1), rdx (2), rsi (6), rdi (7). */
const movImm = (reg: number, v: number) => [0x48, 0xb8 + reg, ...le64(v)];
/** rdtsc; shl rdx, 32; or rax, rdx: the TSC in rax. */
const RDTSC = [0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0];
const SYSCALL = [0x0f, 0x05];
/** `mov rcx, &VmCtx.trampolines.return_to_host; jmp [rcx]` (the same bytes anywhere in the code). */
const RETURN = [
  ...movImm(1, ABI.VMCTX_ADDR + fieldOffset("trampolines.return_to_host")),
  ...[0xff, 0x21],
];

/** Raw syscall `nr` with up to three arguments (rdi, rsi, rdx). */
function syscall(nr: number, ...args: number[]): number[] {
  const regs = [7, 6, 2];
  return [...movImm(0, nr), ...args.flatMap((a, i) => movImm(regs[i], a)), ...SYSCALL];
}

/** Guest code running `body` ITERATIONS times; returns with the elapsed TSC ticks in rax. */
function timed(body: number[]): Uint8Array {
  const head = [...RDTSC, 0x49, 0x89, 0xc6, 0x49, 0xbf, ...le64(ITERATIONS)]; // r14 = tsc; r15 = n
  const loop = [...body, 0x49, 0xff, 0xcf]; // dec r15
  const back = -(loop.length + 6);
  const tail = [...RDTSC, 0x4c, 0x29, 0xf0, ...RETURN]; // rax -= r14
  return new Uint8Array([...head, ...loop, 0x0f, 0x85, ...le32(back), ...tail]);
}

/** rep stosb of zeros over [address, address + length). */
function zero(address: number, length: number): number[] {
  return [...movImm(7, address), ...movImm(1, length), 0x31, 0xc0, 0xf3, 0xaa];
}

/** The steps, each as the instructions the zygote runs for it. */
const STEPS: [string, number[]][] = [
  ["(empty loop, subtracted from the rest)", []],
  ["every entry: XRSTOR of the clean image + RFLAGS", [
    ...[0x31, 0xc9, 0x0f, 0x01, 0xd0], // xor ecx, ecx; xgetbv
    ...[0x25, ...le32(~0x60000)], // and eax, ~AMX
    ...movImm(1, IMAGE_AT),
    ...[0x48, 0x0f, 0xae, 0x29], // xrstor64 [rcx]
    ...[0x68, 0x02, 0x02, 0x00, 0x00, 0x9d], // push 0x202; popfq
  ]],
  ["every reset: zero the stack top and the signal stack", [
    ...zero(ABI.STACK_ADDR + ABI.STACK_SIZE - ABI.STACK_HOT_SIZE, ABI.STACK_HOT_SIZE),
    ...zero(ABI.SIGSTACK_ADDR, ABI.SIGSTACK_SIZE),
  ]],
  ["every reset: discard the rest of the stack (madvise)", [
    ...syscall(28, ABI.STACK_ADDR, ABI.STACK_SIZE - ABI.STACK_HOT_SIZE, 4),
  ]],
  ["every reset: unmap everything below CODE_ADDR", [...syscall(11, 0, ABI.CODE_ADDR)]],
  ["  (before: unmap guest memory only)", [
    ...syscall(11, ABI.GUEST_START, ABI.GUEST_END - ABI.GUEST_START),
  ]],
  ["one syscall through the filter (FUTEX_WAKE on the state word)", [
    ...syscall(202, ABI.VMCTX_ADDR, 1, 1),
  ]],
];

/** Runs every step; resolves to [name, nanoseconds per execution] rows. */
export async function benchHardening(): Promise<[string, number][]> {
  using zygote = Zygote.spawn({ timeoutMs: 60_000 });
  zygote.memory.map(IMAGE_AT, 4096, "read-write");
  const image = new Uint8Array(4096);
  image.set([0x80, 0x1f], 24); // MXCSR default; everything else in its initial state
  zygote.memory.write(IMAGE_AT, image);
  zygote.loadCode(new Uint8Array([...RDTSC, ...RETURN]));
  const tsc = () => (zygote.run(0), zygote.getRegister(7));
  const [c0, t0] = [tsc(), performance.now()];
  await new Promise((resolve) => setTimeout(resolve, 300));
  const [c1, t1] = [tsc(), performance.now()];
  const ticksPerNs = Number(c1 - c0) / ((t1 - t0) * 1e6);
  const rows: [string, number][] = [];
  let empty = 0;
  for (const [name, body] of STEPS) {
    zygote.loadCode(timed(body));
    let best = Infinity;
    for (let trial = 0; trial < TRIALS; trial++) {
      zygote.run(0);
      best = Math.min(best, Number(zygote.getRegister(7)) / ITERATIONS);
    }
    if (rows.length === 0) empty = best;
    rows.push([name, (best - empty) / ticksPerNs]);
  }
  return rows;
}

if (import.meta.main) {
  for (const [name, ns] of await benchHardening()) {
    console.log(`${name.padEnd(56)} ${ns.toFixed(0).padStart(6)} ns`);
  }
}
