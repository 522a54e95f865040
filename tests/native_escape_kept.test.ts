/**
 * The escape suite, kept mappings: a reset leaves the last user's guest mappings in place
 * (zeroed, hidden from guest code) so the next run of the same program takes them over without
 * page faults. One user's guest code leaves a secret in every region it can reach and tampers
 * with its own mappings; the next user, of the same program and of another one, must find zeros,
 * its own image, and no mapping it did not ask for.
 */
import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import { MemoryImage, type Zygote, ZygotePool } from "../src/sandbox/native/mod.ts";
import { spawnRaw } from "./native/harness.ts";
import { Asm, GUEST_REGISTER, R } from "./native/x86.ts";

const SECRET = 0x5ec2_e75e_c2e7_5ec2n;
const PAGE = ABI.PAGE_SIZE;
/** The layout both users map (the heap only during the first user's host call). */
const IMAGE_AT = 0x10000;
const DATA = 0x30000;
const DATA_BYTES = 2 * PAGE;
const HEAP = DATA + DATA_BYTES;
const STACK = 0xfefdf000;
const HOST_PAGE = 0x50000;
/** Pages the host maps read-write and nobody touches (so a reset finds nothing to zero). */
const SPARE = 0x60000;
/** A page the first user's guest maps itself, outside everything the host mapped. */
const PLANTED = 0x300000;

const SYS_MMAP = 9, SYS_MPROTECT = 10;
const PROT_READ = 1, MAP_SHARED_FIXED = 0x11;

function imageOf(fill: number): MemoryImage {
  return new MemoryImage([
    { address: IMAGE_AT, bytes: new Uint8Array(PAGE).fill(fill), access: "read" },
  ]);
}

/**
 * Maps the layout as a program's user would: image, data, stack, a page the host fills and two
 * spare pages.
 */
function mapLayout(zygote: Zygote, image: MemoryImage): void {
  zygote.memory.applyImage(image);
  zygote.memory.map(DATA, DATA_BYTES, "read-write");
  zygote.memory.map(STACK, PAGE, "read-write");
  zygote.memory.map(HOST_PAGE, PAGE, "read-write");
  zygote.memory.map(SPARE, 2 * PAGE, "read-write");
}

/** Appends `rep stosq` of SECRET over [start, start + bytes). */
function fill(code: Asm, start: number, bytes: number): Asm {
  code.movImm(R.rdi, start).movImm(R.rcx, bytes / 8).movImm(R.rax, SECRET);
  return code.raw(0xf3, 0x48, 0xab);
}

/** Appends code ORing every qword of [start, start + bytes) into `into` (r10, r11, r12, r14). */
function orRange(code: Asm, start: number, bytes: number, into: number): Asm {
  code.movImm(R.rsi, start).movImm(R.rcx, bytes / 8).movImm(into, 0);
  const loop = code.here;
  code.raw(0x4c, 0x0b, ((into & 7) << 3) | 6); // or <into>, [rsi]
  code.raw(0x48, 0x83, 0xc6, 0x08); // add rsi, 8
  code.raw(0x48, 0xff, 0xc9); // dec rcx
  return code.raw(0x75, (loop - (code.here + 2)) & 0xff); // jnz loop
}

/**
 * The first user: SECRET in its data, stack and host-filled page (all read once, so every page
 * is mapped in the zygote's page tables), then a host call during which the host maps the heap,
 * then SECRET in the heap.
 */
function leaveSecrets(): Asm {
  const code = new Asm().load64(R.rbx, IMAGE_AT).load64(R.rbx, HOST_PAGE);
  fill(code, DATA, DATA_BYTES);
  fill(code, STACK, PAGE);
  fill(code, HOST_PAGE, PAGE).hostCall(1);
  return fill(code, HEAP, PAGE);
}

function reg(zygote: Zygote, x86: number): bigint {
  return zygote.getRegister(GUEST_REGISTER.indexOf(x86));
}

/** Minor page faults of process `pid` so far (/proc/<pid>/stat, field 10). */
function minorFaults(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
}

/** Runs the first user of a pool's zygote for program `key`; returns the released zygote. */
function firstUser(pool: ZygotePool, key: string, tamper: Asm = new Asm()): Zygote {
  const first = pool.acquire(key);
  mapLayout(first, imageOf(0x11));
  first.memory.write(HOST_PAGE, new Uint8Array(PAGE).fill(0x5e));
  first.loadCode(new Asm().raw(...leaveSecrets().bytes, ...tamper.bytes).ret().build());
  assert.equal(first.run(0).kind, "host-call");
  first.memory.map(HEAP, PAGE, "read-write");
  assert.deepEqual(first.resume(), { kind: "return" });
  const heap = new DataView(first.memory.read(HEAP, 8).buffer);
  assert.equal(heap.getBigUint64(0, true), SECRET, "the secret is there before the reset");
  pool.release(first);
  return first;
}

/** Guest code reading every region the layout maps: data, stack, host page, image. */
function lookEverywhere(): Asm {
  const code = new Asm();
  orRange(code, DATA, DATA_BYTES, R.r10);
  orRange(code, STACK, PAGE, R.r11);
  orRange(code, HOST_PAGE, PAGE, R.r12);
  return code.load64(R.rax, IMAGE_AT);
}

Deno.test("escape: the next run of the same program finds its kept layout zeroed, mapped, and nothing else", () => {
  using pool = new ZygotePool({ size: 1 });
  const first = firstUser(pool, "program");
  const next = pool.acquire("program");
  assert.equal(next, first, "the same process serves the next run");
  mapLayout(next, imageOf(0x11));
  // The host call first: newly loaded code faults in its own page on the first run.
  next.loadCode(new Asm().hostCall(1).raw(...lookEverywhere().bytes).ret().build());
  assert.equal(next.run(0).kind, "host-call");
  const before = minorFaults(next.pid);
  assert.deepEqual(next.resume(), { kind: "return" });
  assert.equal(minorFaults(next.pid) - before, 0, "the kept pages arrive mapped");
  assert.equal(reg(next, R.r10), 0n, "data reads as zero");
  assert.equal(reg(next, R.r11), 0n, "stack reads as zero");
  assert.equal(reg(next, R.r12), 0n, "the page the host filled reads as zero");
  assert.equal(reg(next, R.rax), 0x1111111111111111n, "the image is the program's own");
  for (const [address, bytes] of [[DATA, DATA_BYTES], [STACK, PAGE], [HOST_PAGE, PAGE]]) {
    assert.deepEqual(next.memory.read(address, bytes), new Uint8Array(bytes), "host reads zeros");
  }
  // The heap is kept too, but this user has not mapped it: it faults like an unmapped page.
  next.loadCode(new Asm().load64(R.rax, HEAP).ret().build());
  const exit = next.run(0);
  assert.equal(exit.kind, "page-fault");
  assert.equal((exit as { address: number }).address, HEAP);
  // Mapped again, it is taken over: zero, like any newly mapped page.
  next.memory.map(HEAP, PAGE, "read-write");
  next.loadCode(orRange(new Asm(), HEAP, PAGE, R.r14).ret().build());
  assert.deepEqual(next.run(0), { kind: "return" });
  assert.equal(reg(next, R.r14), 0n, "the heap reads as zero");
  assert.deepEqual(next.memory.read(HEAP, PAGE), new Uint8Array(PAGE));
  pool.release(next);
});

Deno.test("escape: what a program did to its kept mappings does not reach another program", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  // The first program remaps one spare page read-only from the image file, makes the other
  // read-only, and maps a page of its own: all allowed by the filter, none asked for by the host.
  const tamper = new Asm()
    .syscall(SYS_MMAP, SPARE, PAGE, PROT_READ, MAP_SHARED_FIXED, ABI.FD_IMAGE, SPARE)
    .syscall(SYS_MPROTECT, SPARE + PAGE, PAGE, PROT_READ)
    .syscall(SYS_MMAP, PLANTED, PAGE, 3, MAP_SHARED_FIXED, ABI.FD_MEMORY, PLANTED);
  fill(tamper, PLANTED, PAGE);
  const first = firstUser(pool, "first program", tamper);
  const next = pool.acquire("another program");
  assert.equal(next, first, "the same process serves the other program");
  mapLayout(next, imageOf(0x22));
  const code = lookEverywhere();
  orRange(code, SPARE, 2 * PAGE, R.r14);
  // Writes where the host mapped read-write: a read-only leftover would fault.
  code.movImm(R.rbx, 7).store64(SPARE, R.rbx).store64(SPARE + PAGE, R.rbx);
  next.loadCode(code.ret().build());
  assert.deepEqual(next.run(0), { kind: "return" }, "the spare pages are writable");
  assert.equal(reg(next, R.r14), 0n, "spare pages read as zero");
  assert.equal(reg(next, R.r10), 0n, "data reads as zero");
  assert.equal(reg(next, R.r11), 0n, "stack reads as zero");
  assert.equal(reg(next, R.r12), 0n, "the page the host filled reads as zero");
  assert.equal(reg(next, R.rax), 0x2222222222222222n, "the image is its own");
  for (const address of [HEAP, PLANTED]) {
    next.loadCode(new Asm().load64(R.rax, address).ret().build());
    const exit = next.run(0);
    assert.equal(exit.kind, "page-fault", `0x${address.toString(16)} is not mapped`);
    assert.equal((exit as { address: number }).address, address);
  }
  // What the first program wrote where the host mapped nothing is gone too.
  next.memory.map(PLANTED, PAGE, "read-write");
  next.loadCode(orRange(new Asm(), PLANTED, PAGE, R.r10).ret().build());
  assert.deepEqual(next.run(0), { kind: "return" });
  assert.equal(reg(next, R.r10), 0n, "the planted page reads as zero");
  pool.release(next);
});

Deno.test("escape: a program that made memory it dirtied read-only loses its zygote at the reset", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  // Dirty pages in mappings the zygote holds read-write are zeroed by the zygote's own stores:
  // where guest code changed such a mapping, they fault outside guest code, which kills it.
  const tamper = new Asm()
    .syscall(SYS_MMAP, DATA + PAGE, PAGE, PROT_READ, MAP_SHARED_FIXED, ABI.FD_IMAGE, DATA + PAGE)
    .syscall(SYS_MPROTECT, STACK, PAGE, PROT_READ);
  const first = firstUser(pool, "first program", tamper);
  assert.equal(first.usable, false, "the zygote died in its reset");
  assert.equal(pool.idle, 0, "and is not offered again");
  const next = pool.acquire("first program");
  assert.notEqual(next, first);
  mapLayout(next, imageOf(0x11));
  next.loadCode(lookEverywhere().ret().build());
  assert.deepEqual(next.run(0), { kind: "return" });
  assert.equal(reg(next, R.r10) | reg(next, R.r11) | reg(next, R.r12), 0n, "only zeros");
  pool.release(next);
});

Deno.test("escape: a mapping still queued at a reset is not kept", () => {
  using pool = new ZygotePool({ size: 1 });
  const zygote = pool.acquire("program");
  zygote.memory.map(DATA, PAGE, "read-write");
  // Never applied: the zygote does not hold it, so the reset must not count it as kept.
  zygote.reset();
  zygote.memory.map(DATA, PAGE, "read-write");
  zygote.loadCode(new Asm().movImm(R.rax, SECRET).store64(DATA, R.rax).ret().build());
  assert.deepEqual(zygote.run(0), { kind: "return" }, "the page was mapped");
  pool.release(zygote);
});

Deno.test("escape: after a failed memory operation, kept mappings are unmapped before guest code runs", () => {
  // A failed operation stops the queue, so operations behind it (hiding the kept mappings) never
  // happen; the library must not rely on them. Driven through the library to queue the failure.
  const { symbols, handle } = spawnRaw();
  const timeout = 10n ** 10n;
  const op = (kind: number, address: number, access: number) =>
    symbols.pvmbox_memory_op(handle, kind, BigInt(address), BigInt(PAGE), access, timeout);
  const load = (code: Asm) => {
    const bytes = code.build();
    const table = new Uint8Array(0);
    assert.equal(symbols.pvmbox_load_code(handle, bytes, BigInt(bytes.length), table, 0n), 0);
  };
  try {
    assert.equal(op(ABI.MEMOP_MAP, DATA, ABI.ACCESS_READ_WRITE), 0);
    assert.equal(op(ABI.MEMOP_MAP, HEAP, ABI.ACCESS_READ_WRITE), 0);
    load(new Asm().ret());
    assert.equal(symbols.pvmbox_run(handle, 0n, timeout), ABI.REPORT_RETURN);
    assert.equal(symbols.pvmbox_reset(handle, timeout), ABI.REPORT_IDLE);
    assert.equal(op(ABI.MEMOP_MAP, DATA, ABI.ACCESS_READ_WRITE), 0, "data is taken over");
    // Changing the protection of a page nobody mapped fails in the zygote.
    assert.equal(op(ABI.MEMOP_PROTECT, PLANTED, ABI.ACCESS_READ), 0);
    assert.equal(symbols.pvmbox_run(handle, 0n, timeout), ABI.REPORT_ERROR);
    load(new Asm().load64(R.rax, HEAP).ret());
    assert.equal(
      symbols.pvmbox_run(handle, 0n, timeout),
      ABI.REPORT_PAGE_FAULT,
      "the kept heap is out of the guest's reach",
    );
  } finally {
    symbols.pvmbox_dispose(handle);
  }
});
