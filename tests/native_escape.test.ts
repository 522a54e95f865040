/**
 * The escape suite: raw machine code in a zygote tries each forbidden thing. Every attempt must
 * end with the zygote killed (seccomp) or the call denied, and a typed error or exit in the host.
 */
import assert from "node:assert/strict";
import { SandboxError } from "../src/pvm/mod.ts";
import {
  type NativeExit,
  Zygote,
  type ZygoteOptions,
  ZygotePool,
} from "../src/sandbox/native/mod.ts";
import { Asm, field, R } from "./native/x86.ts";
import { ABI, VMCTX_STRUCT_SIZE } from "../ffi/vmctx.ts";
import { processExists } from "./native/harness.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";

const SYS = {
  read: 0,
  write: 1,
  open: 2,
  mmap: 9,
  mprotect: 10,
  munmap: 11,
  ioctl: 16,
  madvise: 28,
  socket: 41,
  clone: 56,
  fork: 57,
  vfork: 58,
  execve: 59,
  kill: 62,
  ptrace: 101,
  getppid: 110,
  futex: 202,
  openat: 257,
  process_vm_readv: 310,
  clone3: 435,
  rt_sigreturn: 15,
  exit: 60,
  sigaltstack: 131,
} as const;
const PROT_R = 1, PROT_W = 2, PROT_X = 4;
const MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20;
const MAP_SHARED_FIXED = MAP_SHARED | MAP_FIXED;
const MAP_ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const MADV_DONTNEED = 4, MADV_FREE = 8, MADV_REMOVE = 9;
const MADV_POPULATE_READ = 22, MADV_POPULATE_WRITE = 23;
const FD_MEMORY = 4, FD_CODE = 5, FD_IMAGE = 6;

/** mmap of the guest memory fd at `address` = file offset, read-write, with `flags`. */
function mapMemory(address: number, length: number, flags: number | bigint): Asm {
  return new Asm().syscall(SYS.mmap, address, length, PROT_R | PROT_W, flags, FD_MEMORY, address);
}

/** Runs `code` in a fresh zygote and expects seccomp to kill it with a typed error. */
function madvise(address: number, length: number, advice: number): Asm {
  return new Asm().syscall(SYS.madvise, address, length, advice);
}

function expectKilled(code: Asm, options: ZygoteOptions = {}): void {
  const zygote = Zygote.spawn(options);
  try {
    zygote.memory.map(0x10000, 4096, "read-write");
    zygote.loadCode(code.ret().build());
    const error = assertSandboxError(() => zygote.run(0, { timeoutMs: 5000 }), "zygote-killed");
    assert.match(error.message, /SIGSYS.*seccomp/);
    assert.ok(!processExists(zygote.pid));
    assertSandboxError(() => zygote.run(0), "zygote-killed");
  } finally {
    zygote[Symbol.dispose]();
  }
}

/** Runs `code` and returns the exit and the syscall result left in rax (guest ω7). */
function runAllowed(zygote: Zygote, code: Asm): { kind: string; rax: bigint } {
  zygote.loadCode(code.ret().build());
  const exit = zygote.run(0, { timeoutMs: 5000 });
  return { kind: exit.kind, rax: BigInt.asIntN(64, zygote.getRegister(7)) };
}

const attempts: [string, () => Asm][] = [
  ["open a file", () => new Asm().syscall(SYS.open, 0x10000, 0, 0)],
  ["openat a file", () => new Asm().syscall(SYS.openat, -100, 0x10000, 0, 0)],
  ["read stdin", () => new Asm().syscall(SYS.read, 0, 0x10000, 1)],
  ["write to a descriptor", () => new Asm().syscall(SYS.write, 3, 0x10000, 1)],
  ["create a socket", () => new Asm().syscall(SYS.socket, 2, 1, 0)],
  ["execve", () => new Asm().syscall(SYS.execve, 0x10000, 0, 0)],
  ["ptrace", () => new Asm().syscall(SYS.ptrace, 16, 1, 0, 0)],
  ["kill the host", () => new Asm().syscall(SYS.kill, Deno.pid, 9)],
  ["learn the parent", () => new Asm().syscall(SYS.getppid)],
  ["fork", () => new Asm().syscall(SYS.fork)],
  ["vfork", () => new Asm().syscall(SYS.vfork)],
  ["clone", () => new Asm().syscall(SYS.clone, 0x11, 0, 0, 0, 0)],
  ["clone3", () => new Asm().syscall(SYS.clone3, 0x10000, 88)],
  ["ioctl", () => new Asm().syscall(SYS.ioctl, 3, 0x5401, 0)],
  [
    "read another process's memory",
    () => new Asm().syscall(SYS.process_vm_readv, 1, 0x10000, 1, 0x10000, 1, 0),
  ],
  [
    "map anonymous writable+executable memory",
    () =>
      new Asm().syscall(
        SYS.mmap,
        0,
        4096,
        PROT_R | PROT_W | PROT_X,
        MAP_PRIVATE | MAP_ANONYMOUS,
        -1,
        0,
      ),
  ],
  [
    "map guest memory executable",
    () =>
      new Asm().syscall(
        SYS.mmap,
        0x20000,
        4096,
        PROT_R | PROT_X,
        MAP_SHARED | MAP_FIXED,
        FD_MEMORY,
        0x20000,
      ),
  ],
  [
    "map the code writable",
    () => new Asm().syscall(SYS.mmap, 0, 4096, PROT_R | PROT_W | PROT_X, MAP_SHARED, FD_CODE, 0),
  ],
  [
    "map the read-only image writable",
    () =>
      new Asm().syscall(
        SYS.mmap,
        0x20000,
        4096,
        PROT_R | PROT_W,
        MAP_SHARED | MAP_FIXED,
        FD_IMAGE,
        0x20000,
      ),
  ],
  [
    "map the read-only image executable",
    () =>
      new Asm().syscall(
        SYS.mmap,
        0x20000,
        4096,
        PROT_R | PROT_X,
        MAP_SHARED | MAP_FIXED,
        FD_IMAGE,
        0x20000,
      ),
  ],
  [
    "map with prot high bits set",
    () =>
      new Asm().syscall(
        SYS.mmap,
        0x20000,
        4096,
        (1n << 32n) | BigInt(PROT_R),
        MAP_SHARED | MAP_FIXED,
        FD_MEMORY,
        0x20000,
      ),
  ],
  [
    "make guest memory executable",
    () => new Asm().syscall(SYS.mprotect, 0x10000, 4096, PROT_R | PROT_X),
  ],
  [
    "make the code writable and executable",
    () => new Asm().syscall(SYS.mprotect, ABI.CODE_ADDR, 4096, PROT_R | PROT_W | PROT_X),
  ],
  [
    "a futex operation other than wait/wake",
    () => new Asm().syscall(SYS.futex, 0x10000, 4, 1, 0, 0x10000, 0),
  ],
  ["madvise other than DONTNEED", () => new Asm().syscall(SYS.madvise, 0x10000, 4096, 3)],
  [
    "map anonymous memory above guest memory",
    () => new Asm().syscall(SYS.mmap, 0x3_0000_0000, 4096, PROT_R | PROT_W, MAP_ANON_FIXED, -1, 0),
  ],
  [
    "map shared anonymous memory inside guest memory",
    () =>
      new Asm().syscall(SYS.mmap, 0x20000, 4096, PROT_R | PROT_W, MAP_SHARED_FIXED | 0x20, -1, 0),
  ],
  ["map guest memory privately", () => mapMemory(0x20000, 4096, MAP_PRIVATE | MAP_FIXED)],
  ["map guest memory with MAP_POPULATE", () => mapMemory(0x20000, 4096, MAP_SHARED_FIXED | 0x8000)],
  ["map guest memory with MAP_HUGETLB", () => mapMemory(0x20000, 4096, MAP_SHARED_FIXED | 0x40000)],
  ["map guest memory with MAP_GROWSDOWN", () => mapMemory(0x20000, 4096, MAP_SHARED_FIXED | 0x100)],
  [
    "map guest memory with high flag bits",
    () => mapMemory(0x20000, 4096, (1n << 32n) | BigInt(MAP_SHARED_FIXED)),
  ],
  ["map guest memory without MAP_FIXED", () => mapMemory(0x20000, 4096, MAP_SHARED)],
  ["map guest memory below guest memory", () => mapMemory(0x1000, 4096, MAP_SHARED_FIXED)],
  ["map guest memory in the guard gap", () => mapMemory(0x1_8000_0000, 4096, MAP_SHARED_FIXED)],
  [
    "map guest memory across the end of guest memory",
    () => mapMemory(ABI.GUEST_END - 4096, 8192, MAP_SHARED_FIXED),
  ],
  [
    "map guest memory at another file offset",
    () => new Asm().syscall(SYS.mmap, 0x20000, 4096, PROT_R, MAP_SHARED_FIXED, FD_MEMORY, 0x30000),
  ],
  [
    "map the image at another file offset",
    () => new Asm().syscall(SYS.mmap, 0x20000, 4096, PROT_R, MAP_SHARED_FIXED, FD_IMAGE, 0x30000),
  ],
  [
    "map the code at another offset",
    () =>
      new Asm().syscall(SYS.mmap, ABI.CODE_ADDR, 4096, PROT_R | PROT_X, MAP_SHARED_FIXED, 5, 4096),
  ],
  [
    "map the jump table executable",
    () =>
      new Asm().syscall(
        SYS.mmap,
        ABI.JUMP_TABLE_ADDR,
        4096,
        PROT_R | PROT_X,
        MAP_SHARED_FIXED,
        5,
        ABI.JUMP_TABLE_OFFSET,
      ),
  ],
  [
    "map more code than the code slot holds",
    () =>
      new Asm().syscall(
        SYS.mmap,
        ABI.CODE_ADDR,
        ABI.CODE_MAX + 4096,
        PROT_R | PROT_X,
        MAP_SHARED_FIXED,
        5,
        0,
      ),
  ],
  ["mprotect the VmCtx", () => new Asm().syscall(SYS.mprotect, ABI.VMCTX_ADDR, 4096, PROT_R)],
  [
    "mprotect a range running past guest memory",
    () => new Asm().syscall(SYS.mprotect, ABI.GUEST_END - 4096, 8192, PROT_R),
  ],
  ["madvise guest memory", () => new Asm().syscall(SYS.madvise, 0x10000, 4096, MADV_DONTNEED)],
  [
    "madvise part of the zygote stack",
    () => new Asm().syscall(SYS.madvise, ABI.STACK_ADDR, 4096, MADV_DONTNEED),
  ],
  // Pre-faulting is allowed inside guest memory only, and no other advice is.
  ["madvise guest memory with MADV_FREE", () => madvise(0x10000, 4096, MADV_FREE)],
  ["madvise guest memory with MADV_REMOVE", () => madvise(0x10000, 4096, MADV_REMOVE)],
  ["madvise populate below guest memory", () => madvise(0, 4096, MADV_POPULATE_WRITE)],
  ["madvise populate above guest memory", () => madvise(ABI.GUEST_END, 4096, MADV_POPULATE_READ)],
  [
    "madvise populate a range running past guest memory",
    () => madvise(ABI.GUEST_END - 4096, 8192, MADV_POPULATE_WRITE),
  ],
  [
    "madvise populate with the address's high half set",
    () => madvise(0x1_0001_0000, 4096, MADV_POPULATE_READ),
  ],
  [
    "madvise populate with the advice's high half set",
    () => madvise(0x10000, 4096, 0x1_0000_0000 + MADV_POPULATE_WRITE),
  ],
  ["madvise populate the code", () => madvise(ABI.CODE_ADDR, 4096, MADV_POPULATE_READ)],
  ["madvise populate the VmCtx", () => madvise(ABI.VMCTX_ADDR, 4096, MADV_POPULATE_WRITE)],
  ["madvise populate the zygote stack", () => madvise(ABI.STACK_ADDR, 4096, MADV_POPULATE_WRITE)],
  ["madvise populate the signal stack", () => madvise(ABI.SIGSTACK_ADDR, 4096, MADV_POPULATE_READ)],
  [
    "a futex on guest memory",
    () => new Asm().syscall(SYS.futex, 0x10000, 1, 1, 0, 0, 0),
  ],
  ["rt_sigreturn (to forge a signal frame)", () => new Asm().syscall(SYS.rt_sigreturn)],
  ["exit of one thread", () => new Asm().syscall(SYS.exit, 0)],
  ["sigaltstack", () => new Asm().syscall(SYS.sigaltstack, 0x10000, 0)],
  ["an x32 system call number", () => new Asm().syscall(0x4000_0000 + SYS.getppid)],
  ["an x32 number of an allowed syscall", () => new Asm().syscall(0x4000_0000 + 24)],
];

for (const [what, code] of attempts) {
  Deno.test(`escape: ${what} kills the zygote`, () => expectKilled(code()));
}

/**
 * `int 0x80` enters the kernel's 32-bit system-call table, where seccomp's architecture check
 * kills the caller. A kernel built or booted without IA32 emulation refuses the gate itself with a
 * general-protection fault: the call never reaches the kernel, and the guest gets a fault exit.
 * Either way no system call runs; anything else (a return, an error) fails the test.
 */
function expectInt80Refused(rax: number): void {
  const zygote = Zygote.spawn();
  try {
    zygote.memory.map(0x10000, 4096, "read-write");
    zygote.memory.write(0x10000, new Uint8Array([0x5a]));
    zygote.loadCode(new Asm().movImm(R.rax, rax).raw(0xcd, 0x80).ret().build());
    let exit;
    try {
      exit = zygote.run(0, { timeoutMs: 5000 });
    } catch (error) {
      assert.ok(error instanceof SandboxError && error.kind === "zygote-killed", String(error));
      assert.match(error.message, /SIGSYS.*seccomp/);
      assert.ok(!processExists(zygote.pid));
      return;
    }
    assert.equal(exit.kind, "signal", `int 0x80 must not return normally (got ${exit.kind})`);
    assert.equal(exit.signal, 11);
    // munmap as a 64-bit number would have removed the guest page; it must still be there.
    assert.deepEqual(zygote.memory.read(0x10000, 1), new Uint8Array([0x5a]));
  } finally {
    zygote[Symbol.dispose]();
  }
}

Deno.test("escape: a 32-bit int 0x80 system call is refused", () => expectInt80Refused(20));
Deno.test(
  "escape: a 32-bit int 0x80 call whose number is an allowed 64-bit one is refused",
  () => expectInt80Refused(SYS.munmap),
);

for (const what of ["open a file", "create a socket", "execve", "fork"]) {
  const code = attempts.find(([name]) => name === what)![1];
  Deno.test(`escape (weak profile): ${what} kills the zygote`, () =>
    expectKilled(code(), { weakIsolation: true }));
}

Deno.test("escape: the allowed forms of each filtered syscall still work", () => {
  using zygote = Zygote.spawn();
  zygote.memory.map(0x10000, 4096, "read-write");
  const map = runAllowed(zygote, mapMemory(0x20000, 8192, MAP_SHARED_FIXED));
  assert.deepEqual(map, { kind: "return", rax: 0x20000n });
  const protect = runAllowed(zygote, new Asm().syscall(SYS.mprotect, 0x20000, 4096, PROT_R));
  assert.deepEqual(protect, { kind: "return", rax: 0n });
  const wake = runAllowed(zygote, new Asm().syscall(SYS.futex, ABI.VMCTX_ADDR, 1, 1, 0, 0, 0));
  // FUTEX_WAKE returns how many waiters it woke: the host may be asleep on the state word.
  assert.equal(wake.kind, "return");
  assert.ok(wake.rax === 0n || wake.rax === 1n, `futex wake failed: ${wake.rax}`);
  const image = runAllowed(
    zygote,
    new Asm().syscall(SYS.mmap, 0x40000, 4096, PROT_R, MAP_SHARED_FIXED, FD_IMAGE, 0x40000),
  );
  assert.deepEqual(image, { kind: "return", rax: 0x40000n });
  const populate = runAllowed(zygote, madvise(0x10000, 4096, MADV_POPULATE_WRITE));
  assert.deepEqual(populate, { kind: "return", rax: 0n });
  const populateRead = runAllowed(zygote, madvise(0x20000, 4096, MADV_POPULATE_READ));
  assert.deepEqual(populateRead, { kind: "return", rax: 0n });
});

Deno.test("escape: W^X holds: the code cannot be made writable, aliased or mapped elsewhere", () => {
  // mprotect outside guest memory, and mapping the code fd anywhere but its slot, are killed.
  expectKilled(new Asm().syscall(SYS.mprotect, ABI.CODE_ADDR, 4096, PROT_R | PROT_W));
  expectKilled(
    new Asm().syscall(SYS.mmap, 0x7_0000_0000, 4096, PROT_R | PROT_X, MAP_SHARED | MAP_FIXED, 5, 0),
  );
  expectKilled(
    new Asm().syscall(SYS.mmap, 0x20000, 4096, PROT_R | PROT_X, MAP_SHARED | MAP_FIXED, 5, 0),
  );
  // Mapping it again in its own slot is what the zygote does; the mapping stays unwritable.
  using zygote = Zygote.spawn();
  const remap = runAllowed(
    zygote,
    new Asm().syscall(SYS.mmap, ABI.CODE_ADDR, 4096, PROT_R | PROT_X, MAP_SHARED | MAP_FIXED, 5, 0),
  );
  assert.deepEqual(remap, { kind: "return", rax: BigInt(ABI.CODE_ADDR) });
  const write = runAllowed(zygote, new Asm().storeByte(ABI.CODE_ADDR, 0xcc));
  assert.equal(write.kind, "signal");
});

Deno.test("escape: writing into the zygote's own code is a typed fault exit", () => {
  using zygote = Zygote.spawn();
  zygote.loadCode(new Asm().storeByte(ABI.IMAGE_ADDR + 0x1000, 0xcc).ret().build());
  const exit = zygote.run(0);
  assert.equal(exit.kind, "signal");
  assert.equal((exit as { address: bigint }).address, BigInt(ABI.IMAGE_ADDR + 0x1000));
  zygote.loadCode(new Asm().storeByte(ABI.CODE_ADDR, 0xcc).ret().build());
  assert.equal(zygote.run(0).kind, "signal", "the guest code itself is not writable");
});

Deno.test("escape: corrupting VmCtx control fields is a protocol violation, not a host crash", () => {
  // The state cases spin afterwards so the forged value is what the host sees.
  const cases = [["magic", 0x41414141, false], ["state", 4, true], [
    "state",
    0xfff1,
    true,
  ]] as const;
  for (const [name, value, spin] of cases) {
    using zygote = Zygote.spawn();
    const code = new Asm().setVm32(field(name), value);
    zygote.loadCode((spin ? code.raw(0xeb, 0xfe) : code.ret()).build());
    assertSandboxError(() => zygote.run(0, { timeoutMs: 5000 }), "protocol-violation");
    assert.ok(!processExists(zygote.pid), `${name}=${value}: zygote must be killed`);
  }
});

Deno.test("escape: a sandbox cannot read another sandbox's memory", () => {
  using victim = Zygote.spawn();
  using attacker = Zygote.spawn();
  const secret = new TextEncoder().encode("the secret of the victim");
  victim.memory.map(0x20000, 4096, "read-write");
  victim.memory.write(0x20000, secret);
  // Same guest address in the attacker: its own, empty page.
  attacker.memory.map(0x20000, 4096, "read-write");
  const read = runAllowed(attacker, new Asm().load64(R.rax, 0x20000));
  assert.deepEqual(read, { kind: "return", rax: 0n });
  // Mapping someone else's descriptor numbers is refused by the filter.
  attacker.loadCode(
    new Asm().syscall(SYS.mmap, 0x30000, 4096, PROT_R, MAP_SHARED | MAP_FIXED, 7, 0).ret().build(),
  );
  assertSandboxError(() => attacker.run(0), "zygote-killed");
  assert.deepEqual(victim.memory.read(0x20000, secret.length), secret);
});

Deno.test("escape: a secret does not survive a reset or a pool hand-over", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  const first = pool.acquire();
  first.memory.map(0x40000, 4096, "read-write");
  // The guest itself writes the secret.
  first.loadCode(new Asm().movImm(R.rax, 0x5ec2e7_5ec2e7n).store64(0x40000, R.rax).ret().build());
  assert.equal(first.run(0).kind, "return");
  assert.equal(
    new DataView(first.memory.read(0x40000, 8).buffer).getBigUint64(0, true),
    0x5ec2e7_5ec2e7n,
  );
  pool.release(first);
  const second = pool.acquire();
  assert.equal(second, first, "the same process is reused");
  assert.equal(second.memory.accessAt(0x40000), "none");
  assert.equal(second.getRegister(7), 0n, "registers are cleared");
  // Reading the old address faults (unmapped); mapping it again gives zeros.
  second.loadCode(new Asm().load64(R.rax, 0x40000).ret().build());
  assert.equal(second.run(0).kind, "page-fault");
  second.memory.map(0x40000, 4096, "read-write");
  assert.equal(second.run(0).kind, "return");
  assert.equal(second.getRegister(7), 0n);
  assert.deepEqual(second.memory.read(0x40000, 8), new Uint8Array(8));
  pool.release(second);
});

Deno.test("escape: an error from the sandbox is always a SandboxError", () => {
  const zygote = Zygote.spawn();
  zygote.loadCode(new Asm().syscall(SYS.socket, 2, 1, 0).ret().build());
  try {
    zygote.run(0);
    assert.fail("socket() must not succeed");
  } catch (error) {
    assert.ok(error instanceof SandboxError);
  } finally {
    zygote[Symbol.dispose]();
  }
});

Deno.test("escape: trampolines redirected by one user are restored for the next", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  const first = pool.acquire();
  // Point every trampoline at address 0 (a fault for whoever calls it next).
  const code = new Asm();
  for (const name of ["return_to_host", "host_call", "trap", "out_of_gas"]) {
    code.movImm(R.rax, 0).setVm64(field(`trampolines.${name}`), R.rax);
  }
  first.loadCode(code.raw(0x0f, 0x0b).build()); // ends in ud2: a signal exit
  assert.equal(first.run(0).kind, "signal");
  pool.release(first);
  const second = pool.acquire();
  second.loadCode(new Asm().movImm(R.rax, 5).ret().build());
  assert.deepEqual(second.run(0), { kind: "return" });
  assert.equal(second.getRegister(7), 5n);
  pool.release(second);
});

const CONTROL_FIELDS = [
  "state",
  "magic",
  "abi_version",
  "memop_count",
  "memops",
  "reset_pending",
  "code_length",
  "code_generation",
  "jump_table_length",
  "entry",
  "trampolines.return_to_host",
  "trampolines.host_call",
  "trampolines.trap",
];

Deno.test("escape: random VmCtx corruption never crashes or hangs the host", () => {
  let seed = 0x9e3779b9;
  const random = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const kinds = new Set(["return", "host-call", "trap", "out-of-gas", "page-fault", "signal"]);
  const outcomes = new Map<string, number>();
  const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  for (let i = 0; i < 150; i++) {
    using zygote = Zygote.spawn({ timeoutMs: 500 });
    const code = new Asm();
    for (let w = 1 + random(4); w > 0; w--) {
      const value = random(4) === 0 ? random(16) : (random(0x10000) << 16) | random(0x10000);
      // Half the writes hit the fields the protocol depends on.
      const offset = random(2) === 0
        ? field(CONTROL_FIELDS[random(CONTROL_FIELDS.length)]) + 4 * random(2)
        : 4 * random(VMCTX_STRUCT_SIZE / 4);
      code.setVm32(offset, value);
    }
    const ending = random(3);
    if (ending === 0) code.ret();
    else if (ending === 1) code.hostCall(random(100)).ret();
    else code.trap(random(1000));
    zygote.loadCode(code.build());
    for (const step of ["run", "map and run"]) {
      // Only the sandbox calls are guarded: an assertion failing inside the try would be
      // reported as "not a SandboxError" and hide what it found.
      let exit: NativeExit;
      try {
        if (step === "map and run") {
          for (let m = 0; m < 40; m++) zygote.memory.map(0x10000 + m * 4096, 4096, "read");
        }
        exit = zygote.run(0);
      } catch (error) {
        assert.ok(error instanceof SandboxError, `not a SandboxError: ${Deno.inspect(error)}`);
        count(error.kind);
        break;
      }
      assert.ok(kinds.has(exit.kind), `unknown exit ${Deno.inspect(exit)}`);
      count(exit.kind);
    }
  }
  assert.ok((outcomes.get("protocol-violation") ?? 0) > 0, JSON.stringify([...outcomes]));
  assert.ok((outcomes.get("return") ?? 0) > 0, JSON.stringify([...outcomes]));
});

Deno.test("escape: aliasing guest memory at another file offset is refused", () => {
  using pool = new ZygotePool({ size: 1, recycle: "reuse" });
  const first = pool.acquire();
  // Map file offset 0x900000 at guest address 0x20000 and write a secret there: the filter
  // requires file offset = address, so the zygote dies before anything is written.
  first.loadCode(
    new Asm()
      .syscall(
        SYS.mmap,
        0x20000,
        4096,
        PROT_R | PROT_W,
        MAP_SHARED | MAP_FIXED,
        FD_MEMORY,
        0x900000,
      )
      .movImm(R.rax, 0x5ec2e7n).store64(0x20000, R.rax)
      .ret().build(),
  );
  const error = assertSandboxError(() => first.run(0), "zygote-killed");
  assert.match(error.message, /SIGSYS/);
  pool.release(first);
  const second = pool.acquire();
  assert.notEqual(second, first, "a killed zygote is never handed out again");
  second.memory.map(0x900000, 4096, "read-write");
  assert.deepEqual(second.memory.read(0x900000, 8), new Uint8Array(8));
  pool.release(second);
});
