/**
 * The escape suite, reset residue: one user's guest code leaves a secret everywhere it can (vector
 * and mask registers, x87 and MXCSR state, flags, both stacks, the signal frame, the VmCtx page,
 * read-only images), and the next user of the same pooled zygote looks for it everywhere. The
 * pool recycles with "reuse" here: the most permissive policy, where only the reset stands
 * between the two users.
 */
import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import { MemoryImage, type Zygote, ZygotePool } from "../src/sandbox/native/mod.ts";
import { Asm, field, GUEST_REGISTER, R } from "./native/x86.ts";

const SECRET = 0x5ec2_e75e_c2e7_5ec2n;
const SCRATCH = 0x10000;
const AVX512 = Deno.readTextFileSync("/proc/cpuinfo").includes(" avx512f");

/** Guest register index of x86 register `reg`. */
function guest(reg: number): number {
  return GUEST_REGISTER.indexOf(reg);
}

/**
 * Appends code that counts the qwords equal to SECRET in [start, start + bytes) into `into`
 * (r8…r15); it uses rsi, rcx and r9 as well.
 */
function countSecrets(code: Asm, start: number, bytes: number, into: number): Asm {
  code.movImm(R.rsi, start).movImm(R.rcx, bytes / 8).movImm(R.r9, SECRET).movImm(into, 0);
  const loop = code.here;
  code.raw(0x4c, 0x39, 0x0e); // cmp [rsi], r9
  code.raw(0x75, 0x03); // jne +3
  code.raw(0x49, 0xff, 0xc0 | (into & 7)); // inc <into>
  code.raw(0x48, 0x83, 0xc6, 0x08); // add rsi, 8
  code.raw(0x48, 0xff, 0xc9); // dec rcx
  return code.raw(0x75, (loop - (code.here + 2)) & 0xff); // jnz loop
}

/** The attacker, first run: SECRET on both stacks (the signal frame) and in the VmCtx page. */
function leaveMemorySecrets(): Asm {
  const code = new Asm().movImm(R.rax, SECRET);
  for (let i = 0; i < 64; i++) code.raw(0x50); // push rax: residue on the zygote stack
  code.store64(ABI.STACK_ADDR + 0x100, R.rax); // the far end of the stack too
  for (const name of ["pc", "exit_arg", "heap_top", "facts.uid", "counter_host_calls", "message"]) {
    code.movImm(R.rcx, ABI.VMCTX_ADDR + field(name)).raw(0x48, 0x89, 0x01); // mov [rcx], rax
  }
  code.store64(ABI.VMCTX_ADDR + ABI.VMCTX_SIZE - 8, R.rax); // the page past the struct
  // Fault with the secret in registers: the kernel writes it into the signal frame.
  return code.movImm(R.rbx, SECRET).load64(R.rdx, 0x20);
}

/**
 * The attacker, second run: SECRET in vector and mask registers, x87 and MXCSR changed, the
 * direction and alignment-check flags set, then an ordinary return (a signal would reset the
 * vector state on its own).
 */
function leaveRegisterSecrets(): Asm {
  const code = new Asm().movImm(R.rax, SECRET);
  code.raw(0x66, 0x48, 0x0f, 0x6e, 0xf8); // movq xmm7, rax
  code.raw(0xc4, 0xe3, 0x45, 0x38, 0xff, 0x01); // vinserti128 ymm7, ymm7, xmm7, 1
  if (AVX512) code.raw(0xc4, 0xe1, 0xfb, 0x92, 0xc8); // kmovq k1, rax
  code.movImm(R.rdx, 0xff80).store64(SCRATCH, R.rdx).raw(0x0f, 0xae, 0x11); // ldmxcsr [rcx]
  code.movImm(R.rdx, 0x0c7f).store64(SCRATCH, R.rdx).raw(0xd9, 0x29); // fldcw [rcx]
  code.raw(0xd9, 0xe8, 0xd9, 0xe8); // fld1; fld1
  code.raw(0xfd); // std
  code.raw(0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x00, 0x04, 0x00, 0x9d); // set AC in RFLAGS
  return code.ret();
}

/** The next user: reads everything back into guest registers and returns. */
function lookForSecrets(): Asm {
  const code = new Asm().raw(0x9c, 0x41, 0x58); // pushfq; pop r8 (first: the entry flags)
  code.raw(0x66, 0x48, 0x0f, 0x7e, 0xf8); // movq rax, xmm7
  code.raw(0xc4, 0xe3, 0x7d, 0x39, 0xfa, 0x01); // vextracti128 xmm2, ymm7, 1
  code.raw(0x66, 0x48, 0x0f, 0x7e, 0xd3); // movq rbx, xmm2
  if (AVX512) code.raw(0xc4, 0xe1, 0xfb, 0x93, 0xd1); // kmovq rdx, k1
  else code.movImm(R.rdx, 0);
  code.movImm(R.rcx, SCRATCH).raw(0x0f, 0xae, 0x19); // stmxcsr [rcx]
  code.raw(0x48, 0x8b, 0x29); // mov rbp, [rcx]
  code.movImm(R.rcx, SCRATCH + 8).raw(0xd9, 0x39); // fnstcw [rcx]
  code.raw(0x4c, 0x8b, 0x31); // mov r14, [rcx]
  code.movImm(R.rcx, SCRATCH + 16).raw(0xdd, 0x39); // fnstsw [rcx] (TOP: x87 stack depth)
  code.raw(0x48, 0x8b, 0x39); // mov rdi, [rcx]
  countSecrets(code, ABI.STACK_ADDR, ABI.STACK_SIZE, R.r10);
  countSecrets(code, ABI.SIGSTACK_ADDR, ABI.SIGSTACK_SIZE, R.r11);
  countSecrets(code, ABI.VMCTX_ADDR, ABI.VMCTX_SIZE, R.r12);
  return code.ret();
}

function read(zygote: Zygote, reg: number): bigint {
  return zygote.getRegister(guest(reg));
}

Deno.test("escape: no register, flag, vector, stack, signal-frame or VmCtx residue reaches the next user", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  const attacker = pool.acquire();
  attacker.memory.map(SCRATCH, 4096, "read-write");
  attacker.loadCode(leaveMemorySecrets().build());
  assert.equal(attacker.run(0).kind, "page-fault", "the attacker ends in an ordinary page fault");
  // The residue is there before the reset: the scan can see it.
  attacker.loadCode(lookForSecrets().build());
  assert.equal(attacker.run(0).kind, "return");
  assert.ok(read(attacker, R.r10) > 0n, "the scan finds secrets left on the stack");
  assert.ok(read(attacker, R.r11) > 0n, "and in the signal frame");
  attacker.loadCode(leaveMemorySecrets().build());
  assert.equal(attacker.run(0).kind, "page-fault");
  attacker.loadCode(leaveRegisterSecrets().build());
  assert.equal(attacker.run(0).kind, "return", "std and AC do not break the zygote's exit path");
  pool.release(attacker);

  const next = pool.acquire();
  assert.equal(next, attacker, "the same process serves the next user");
  next.memory.map(SCRATCH, 4096, "read-write");
  next.loadCode(lookForSecrets().build());
  assert.deepEqual(next.run(0), { kind: "return" });
  assert.equal(read(next, R.r8), 0x202n, "RFLAGS on entry: IF and the reserved bit only");
  assert.equal(read(next, R.rax), 0n, "xmm7");
  assert.equal(read(next, R.rbx), 0n, "upper half of ymm7");
  assert.equal(read(next, R.rdx), 0n, "mask register k1");
  assert.equal(read(next, R.rbp) & 0xffffn, 0x1f80n, "MXCSR at its default");
  assert.equal(read(next, R.r14) & 0xffffn, 0x037fn, "x87 control word at its default");
  assert.equal((read(next, R.rdi) >> 11n) & 7n, 0n, "x87 stack empty");
  assert.equal(read(next, R.r10), 0n, "no secret on the zygote stack");
  assert.equal(read(next, R.r11), 0n, "no secret on the signal stack");
  assert.equal(read(next, R.r12), 0n, "no secret in the VmCtx page");
  pool.release(next);
});

Deno.test("escape: an earlier program's read-only image cannot be mapped by a later one", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  const secret = new Uint8Array(4096).fill(0x5e);
  const first = pool.acquire();
  first.memory.applyImage(
    new MemoryImage([{ address: 0x100000, bytes: secret, access: "read" }]),
  );
  first.loadCode(new Asm().load64(R.rax, 0x100000).ret().build());
  assert.equal(first.run(0).kind, "return");
  assert.equal(first.getRegister(guest(R.rax)), 0x5e5e5e5e5e5e5e5en);
  pool.release(first);

  const second = pool.acquire();
  assert.equal(second, first);
  second.memory.applyImage(
    new MemoryImage([{ address: 0x200000, bytes: new Uint8Array([1]), access: "read" }]),
  );
  // The guest maps the image fd where the old image was (file offset = address, as allowed).
  const PROT_READ = 1, MAP_SHARED_FIXED = 0x11, MMAP = 9;
  second.loadCode(
    new Asm()
      .syscall(MMAP, 0x100000, 4096, PROT_READ, MAP_SHARED_FIXED, ABI.FD_IMAGE, 0x100000)
      .load64(R.rbx, 0x100000).ret().build(),
  );
  assert.deepEqual(second.run(0), { kind: "return" });
  assert.equal(second.getRegister(guest(R.rax)), 0x100000n, "the mapping itself is allowed");
  assert.equal(second.getRegister(guest(R.rbx)), 0n, "but the old image is gone");
  pool.release(second);
});

Deno.test("escape: a guest mapping left below the zygote's regions is gone after a reset", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  const first = pool.acquire();
  // The guest maps guest memory itself (allowed: memory fd, offset = address) and fills it.
  first.loadCode(
    new Asm()
      .syscall(9, 0x300000, 4096, 3, 0x11, ABI.FD_MEMORY, 0x300000)
      .movImm(R.rax, SECRET).store64(0x300000, R.rax).ret().build(),
  );
  assert.equal(first.run(0).kind, "return");
  pool.release(first);
  const second = pool.acquire();
  assert.equal(second, first);
  second.loadCode(new Asm().load64(R.rax, 0x300000).ret().build());
  const exit = second.run(0);
  assert.equal(exit.kind, "page-fault", "the host never mapped it; the reset unmapped it");
  assert.equal((exit as { address: number }).address, 0x300000);
  pool.release(second);
});

/** Minor page faults of process `pid` so far (/proc/<pid>/stat, field 10). */
function minorFaults(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
}

// A reset zeroes up to `keepResidentBytes` of dirty pages in place and pre-faults them for the
// next user: the secret must be gone from those pages as from the freed ones.
const KEPT_BYTES = 16 * ABI.PAGE_SIZE;
const SECRET_RANGE = 0x100000;
const SECRET_BYTES = 2 * KEPT_BYTES;

for (const recycle of ["reuse", "same-program"] as const) {
  Deno.test(`escape: a secret in pages a reset keeps resident reads as zero for the next user (${recycle})`, () => {
    using pool = new ZygotePool({ size: 1, recycle, keepResidentBytes: KEPT_BYTES });
    const first = pool.acquire("program");
    first.memory.map(SECRET_RANGE, SECRET_BYTES, "read-write");
    const fill = new Asm().movImm(R.rdi, SECRET_RANGE).movImm(R.rcx, SECRET_BYTES / 8);
    fill.movImm(R.rax, SECRET).raw(0xf3, 0x48, 0xab); // rep stosq
    first.loadCode(fill.ret().build());
    assert.equal(first.run(0).kind, "return");
    const written = new DataView(first.memory.read(SECRET_RANGE + SECRET_BYTES - 8, 8).buffer);
    assert.equal(written.getBigUint64(0, true), SECRET, "the secret is there before the reset");
    pool.release(first);

    const next = pool.acquire("program");
    assert.equal(next, first, "the same process serves the next user");
    next.memory.map(SECRET_RANGE, SECRET_BYTES, "read-write");
    // Touch every page for writing without changing it, counting the faults.
    next.loadCode(touchPages(SECRET_RANGE, SECRET_BYTES).build());
    next.sync();
    const before = minorFaults(next.pid);
    assert.equal(next.run(0).kind, "return");
    const faults = minorFaults(next.pid) - before;
    assert.ok(
      faults <= (SECRET_BYTES - KEPT_BYTES) / ABI.PAGE_SIZE + 2,
      `the kept pages arrive mapped: ${faults} faults for ${SECRET_BYTES / ABI.PAGE_SIZE} pages`,
    );
    next.loadCode(countSecrets(new Asm(), SECRET_RANGE, SECRET_BYTES, R.r10).ret().build());
    assert.equal(next.run(0).kind, "return");
    assert.equal(read(next, R.r10), 0n, "guest loads find no secret");
    assert.deepEqual(
      next.memory.read(SECRET_RANGE, SECRET_BYTES),
      new Uint8Array(SECRET_BYTES),
      "host reads find only zeros",
    );
    pool.release(next);
  });
}

/** Guest code writing one byte (unchanged) of each page of [start, start + bytes). */
function touchPages(start: number, bytes: number): Asm {
  const code = new Asm().movImm(R.rsi, start).movImm(R.rcx, bytes / ABI.PAGE_SIZE);
  const loop = code.here;
  code.raw(0x80, 0x06, 0x00); // add byte [rsi], 0
  code.raw(0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00); // add rsi, 4096
  code.raw(0x48, 0xff, 0xc9); // dec rcx
  return code.raw(0x75, (loop - (code.here + 2)) & 0xff).ret(); // jnz loop
}

Deno.test("escape: pages kept resident for the next user take at most a quarter of its memory limit", () => {
  const limit = 16 << 20, dirtied = 8 << 20;
  using pool = new ZygotePool({
    size: 1,
    recycle: "reuse",
    memoryLimitBytes: limit,
    keepResidentBytes: 64 << 20,
  });
  const first = pool.acquire();
  first.memory.map(SECRET_RANGE, dirtied, "read-write");
  first.loadCode(touchPages(SECRET_RANGE, dirtied).build());
  assert.equal(first.run(0).kind, "return");
  pool.release(first);
  const next = pool.acquire();
  assert.equal(next, first);
  next.memory.map(SECRET_RANGE, dirtied, "read-write");
  next.loadCode(touchPages(SECRET_RANGE, dirtied).build());
  next.sync();
  const before = minorFaults(next.pid);
  assert.equal(next.run(0).kind, "return");
  const faults = minorFaults(next.pid) - before;
  const kept = dirtied / ABI.PAGE_SIZE - faults;
  assert.ok(kept > 0, "some pages were kept resident");
  assert.ok(kept <= limit / 4 / ABI.PAGE_SIZE, `${kept} pages kept, over a quarter of the limit`);
  pool.release(next);
});
