import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import { MemoryImage, Zygote } from "../src/sandbox/native/mod.ts";
import { Asm, R } from "./native/x86.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";

const zygote = Zygote.spawn();
addEventListener("unload", () => zygote[Symbol.dispose]());

function guestLoad(address: number) {
  zygote.loadCode(new Asm().load64(R.rax, address).ret().build());
  const exit = zygote.run(0);
  return { exit, value: zygote.getRegister(7) };
}

function guestStore(address: number, value: bigint) {
  zygote.loadCode(new Asm().movImm(R.rax, value).store64(address, R.rax).ret().build());
  return zygote.run(0);
}

Deno.test("memory: host writes are seen by the guest and guest writes by the host", () => {
  zygote.reset();
  zygote.memory.map(0x50000, 8192, "read-write");
  zygote.memory.write(0x50ff8, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  assert.deepEqual(guestLoad(0x50ff8), { exit: { kind: "return" }, value: 0x0807060504030201n });
  assert.deepEqual(guestStore(0x51000, 0x1122334455667788n), { kind: "return" });
  assert.deepEqual([...zygote.memory.read(0x51000, 3)], [0x88, 0x77, 0x66]);
});

Deno.test("memory: access rights hold in the guest and in accessAt", () => {
  zygote.reset();
  zygote.memory.map(0x60000, 4096, "read");
  assert.equal(zygote.memory.accessAt(0x60010), "read");
  assert.equal(zygote.memory.accessAt(0x61000), "none");
  zygote.memory.write(0x60000, new Uint8Array([42])); // host writes regardless of protection
  assert.equal(guestLoad(0x60000).value, 42n);
  assert.deepEqual(guestStore(0x60000, 1n), {
    kind: "page-fault",
    address: 0x60000,
    nativeAddress: ABI.CODE_ADDR + 0x14,
    signal: 11,
  });
  zygote.memory.protect(0x60000, 4096, "read-write");
  assert.equal(zygote.memory.accessAt(0x60000), "read-write");
  assert.deepEqual(guestStore(0x60000, 7n), { kind: "return" });
  zygote.memory.protect(0x60000, 4096, "none");
  assert.equal(zygote.memory.accessAt(0x60000), "none");
  assert.equal(guestLoad(0x60000).exit.kind, "page-fault");
  assertSandboxError(() => zygote.memory.read(0x60000, 1), "invalid-argument");
  zygote.memory.write(0x60000, new Uint8Array([5])); // mapped, so still writable by the host
  zygote.memory.protect(0x60000, 4096, "read");
  assert.equal(zygote.memory.read(0x60000, 1)[0], 5);
});

Deno.test("memory: unmap loses the contents; map again gives zeros", () => {
  zygote.reset();
  zygote.memory.map(0x70000, 4096, "read-write");
  zygote.memory.write(0x70000, new Uint8Array([9, 9, 9]));
  zygote.memory.unmap(0x70000, 4096);
  assert.equal(zygote.memory.accessAt(0x70000), "none");
  assertSandboxError(() => zygote.memory.write(0x70000, new Uint8Array([1])), "invalid-argument");
  assert.equal(guestLoad(0x70000).exit.kind, "page-fault");
  zygote.memory.map(0x70000, 4096, "read-write");
  assert.deepEqual([...zygote.memory.read(0x70000, 3)], [0, 0, 0]);
  assert.equal(guestLoad(0x70000).value, 0n);
});

Deno.test("memory: reads fail on any inaccessible byte of the range", () => {
  zygote.reset();
  zygote.memory.map(0x80000, 4096, "read-write");
  assert.equal(zygote.memory.read(0x80ffc, 4).length, 4);
  assertSandboxError(() => zygote.memory.read(0x80ffc, 5), "invalid-argument");
  assertSandboxError(() => zygote.memory.read(0xffff_fff0, 32), "invalid-argument");
});

Deno.test("memory: ranges outside guest memory are rejected", () => {
  assertSandboxError(() => zygote.memory.map(0, 4096, "read"), "invalid-argument");
  assertSandboxError(() => zygote.memory.map(0xffff_0000, 4096, "read"), "invalid-argument");
  assertSandboxError(() => zygote.memory.map(0x10000, 0, "read"), "invalid-argument");
  assertSandboxError(() => zygote.memory.protect(0x90000, 4096, "read"), "invalid-argument");
});

Deno.test("memory: more queued operations than the VmCtx queue holds", () => {
  zygote.reset();
  for (let i = 0; i < 100; i++) {
    zygote.memory.map(0x100000 + i * 0x2000, 4096, i % 2 ? "read" : "read-write");
  }
  for (let i = 0; i < 100; i++) {
    const exit = guestStore(0x100000 + i * 0x2000, BigInt(i));
    assert.equal(exit.kind, i % 2 ? "page-fault" : "return", `page ${i}`);
  }
  assert.equal(guestLoad(0x100000 + 0x2000 * 98).value, 98n);
});

Deno.test("memory: memory can change while the guest is parked in a host call", () => {
  zygote.reset();
  const code = new Asm().hostCall(1).load64(R.rax, 0xa0000).ret();
  zygote.loadCode(code.build());
  assert.equal(zygote.run(0).kind, "host-call");
  for (let i = 0; i < 40; i++) zygote.memory.map(0xa0000 + i * 4096, 4096, "read-write");
  zygote.memory.write(0xa0000, new Uint8Array([3]));
  assert.deepEqual(zygote.resume(), { kind: "return" });
  assert.equal(zygote.getRegister(7), 3n);
});

Deno.test("memory: zero-copy views when --allow-ffi is unscoped", () => {
  zygote.reset();
  assert.equal(zygote.memory.zeroCopy, true);
  zygote.memory.map(0xb0000, 4096, "read-write");
  const view = zygote.memory.view(0xb0000, 16);
  view[0] = 0x7f;
  assert.equal(guestLoad(0xb0000).value, 0x7fn);
  guestStore(0xb0000, 0x1234n);
  assert.equal(view[0], 0x34, "the view sees guest writes without copying");
});

Deno.test("memory: views are detached when the zygote is disposed", () => {
  const other = Zygote.spawn();
  other.memory.map(0x10000, 4096, "read-write");
  const view = other.memory.view(0x10000, 4096);
  view[1] = 1;
  other[Symbol.dispose]();
  assert.equal(view.length, 0);
  assert.equal(view[1], undefined, "reading a detached view is harmless");
});

Deno.test("memory: reset discards every mapped page at once", () => {
  zygote.reset();
  zygote.memory.map(0x10000, 4096, "read-write");
  zygote.memory.map(0xfffe_0000, 0x10000, "read-write");
  zygote.memory.write(0xfffe_fff0, new Uint8Array([1, 2, 3]));
  zygote.reset();
  assert.equal(zygote.memory.accessAt(0xfffe_fff0), "none");
  zygote.memory.map(0xfffe_0000, 0x10000, "read-write");
  assert.deepEqual([...zygote.memory.read(0xfffe_fff0, 3)], [0, 0, 0]);
});

Deno.test("memory: reset forgets every mapped page however many ranges were mapped", () => {
  for (const ranges of [3, 100]) {
    zygote.reset();
    // Every other page, so no two ranges join; heap-like growth, then the image and a protect.
    const pages = Array.from({ length: ranges }, (_, i) => 0x100000 + 2 * i * 4096);
    for (const address of pages) zygote.memory.map(address, 4096, "read-write");
    zygote.memory.applyImage(
      new MemoryImage([{ address: 0x20000, bytes: new Uint8Array([7]), access: "read" }]),
    );
    zygote.memory.protect(pages[0], 4096, "read");
    assert.ok(zygote.memory.growReadWrite(0xfff00, 0xfff02));
    zygote.reset();
    for (const address of [...pages, 0x20000, 0xfff00000, 0xfff01000]) {
      assert.equal(zygote.memory.accessAt(address), "none", `page 0x${address.toString(16)}`);
      assert.throws(() => zygote.memory.read(address, 1));
    }
    // Mapped again, a page reads zero.
    zygote.memory.map(pages[0], 4096, "read-write");
    assert.deepEqual([...zygote.memory.read(pages[0], 1)], [0]);
  }
});

Deno.test("memory: code is replaced atomically and never writable", () => {
  zygote.reset();
  const long = new Asm();
  for (let i = 0; i < 2000; i++) long.movImm(R.rbx, i);
  zygote.loadCode(long.ret().build());
  assert.equal(zygote.run(0).kind, "return");
  assert.equal(zygote.getRegister(0), 1999n);
  zygote.loadCode(new Asm().movImm(R.rbx, 5).ret().build());
  assert.equal(zygote.run(0).kind, "return");
  assert.equal(zygote.getRegister(0), 5n);
  // The tail of the old code is gone: running past the new code hits zeros or unmapped memory.
  assertSandboxError(() => zygote.run(5000), "invalid-argument");
});

const RODATA = new TextEncoder().encode("read-only data of the program");
const IMAGE = new MemoryImage([
  { address: 0xc0000, bytes: RODATA, length: 8192, access: "read" },
  { address: 0xd0000, bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), access: "read-write" },
]);

Deno.test("memory: images map read-only segments immutably and copy read-write ones", () => {
  zygote.reset();
  zygote.memory.applyImage(IMAGE);
  assert.equal(zygote.memory.accessAt(0xc0000), "read");
  assert.equal(zygote.memory.accessAt(0xc1fff), "read");
  assert.equal(zygote.memory.accessAt(0xd0000), "read-write");
  assert.deepEqual(zygote.memory.read(0xc0000, RODATA.length), RODATA);
  assert.deepEqual([...zygote.memory.read(0xc0000 + RODATA.length, 4)], [0, 0, 0, 0]);
  const expected = new DataView(RODATA.buffer).getBigUint64(0, true);
  assert.deepEqual(guestLoad(0xc0000), { exit: { kind: "return" }, value: expected });
  assert.equal(guestLoad(0xd0000).value, 0x0807060504030201n);
  assert.equal(guestStore(0xc0000, 1n).kind, "page-fault");
  assert.equal(guestStore(0xd0000, 9n).kind, "return");
  zygote.memory.protect(0xc0000, 4096, "none");
  assert.equal(guestLoad(0xc0000).exit.kind, "page-fault");
  zygote.memory.protect(0xc0000, 4096, "read");
  assert.equal(guestLoad(0xc0000).value, expected);
});

Deno.test("memory: host writes to image pages go to a private copy; the image stays intact", () => {
  zygote.reset();
  zygote.memory.applyImage(IMAGE);
  zygote.memory.write(0xc0001, new Uint8Array([0xee]));
  assert.equal(zygote.memory.accessAt(0xc0000), "read", "the access is kept");
  const patched = RODATA.slice(0, 8);
  patched[1] = 0xee;
  assert.equal(guestLoad(0xc0000).value, new DataView(patched.buffer).getBigUint64(0, true));
  assert.equal(guestStore(0xc0000, 1n).kind, "page-fault", "still read-only for the guest");
  assert.deepEqual(zygote.memory.read(0xc1000, 4), new Uint8Array(4), "the next page is shared");
  zygote.memory.protect(0xc1000, 4096, "read-write");
  assert.equal(guestStore(0xc1000, 5n).kind, "return");
  zygote.reset();
  zygote.memory.applyImage(IMAGE);
  assert.deepEqual(zygote.memory.read(0xc0000, RODATA.length), RODATA, "the image is unchanged");
  assert.equal(guestLoad(0xc1000).value, 0n);
});

Deno.test("memory: the guest cannot make image pages writable", () => {
  zygote.reset();
  zygote.memory.applyImage(IMAGE);
  // mprotect(0xc0000, 4096, PROT_READ|PROT_WRITE) passes seccomp but the memfd is sealed.
  zygote.loadCode(new Asm().syscall(10, 0xc0000, 4096, 3).ret().build());
  assert.equal(zygote.run(0).kind, "return");
  assert.equal(BigInt.asIntN(64, zygote.getRegister(7)), -13n, "EACCES");
});

Deno.test("memory: images survive resets, other images replace them, plain memory returns", () => {
  zygote.reset();
  zygote.memory.applyImage(IMAGE);
  guestStore(0xd0000, 0xffn);
  zygote.reset();
  assert.equal(zygote.memory.accessAt(0xc0000), "none");
  zygote.memory.applyImage(IMAGE);
  assert.deepEqual(zygote.memory.read(0xc0000, RODATA.length), RODATA);
  assert.equal(guestLoad(0xd0000).value, 0x0807060504030201n, "read-write data is fresh");
  const other = new MemoryImage([{
    address: 0xc0000,
    bytes: new Uint8Array([42]),
    access: "read",
  }]);
  zygote.reset();
  zygote.memory.applyImage(other);
  assert.equal(guestLoad(0xc0000).value, 42n);
  // After a reset the host's view of the range is ordinary, writable guest memory again.
  zygote.reset();
  zygote.memory.map(0xc0000, 8192, "read-write");
  assert.deepEqual([...zygote.memory.read(0xc0000, 2)], [0, 0]);
  zygote.memory.write(0xc0000, new Uint8Array([7]));
  zygote.memory.view(0xc0000, 1)[0] = 8;
  assert.equal(guestLoad(0xc0000).value, 8n);
});

Deno.test("memory: image segments are validated", () => {
  const bytes = new Uint8Array(8);
  assertSandboxError(
    () => new MemoryImage([{ address: 0xc0001, bytes, access: "read" }]),
    "invalid-argument",
  );
  assertSandboxError(
    () => new MemoryImage([{ address: 0x1000, bytes, access: "read" }]),
    "invalid-argument",
  );
  assertSandboxError(
    () => new MemoryImage([{ address: 0xc0000, bytes, length: 4, access: "read" }]),
    "invalid-argument",
  );
});

Deno.test("memory: a stale view over a page that became an image cannot crash the host", () => {
  zygote.reset();
  zygote.memory.map(0xc0000, 4096, "read-write");
  const stale = zygote.memory.view(0xc0000, 8);
  zygote.reset();
  zygote.memory.applyImage(IMAGE);
  stale[0] = 0xee; // lands in guest memory under the image, which nobody reads
  assert.equal(guestLoad(0xc0000).value, new DataView(RODATA.buffer).getBigUint64(0, true));
  assert.deepEqual(zygote.memory.read(0xc0000, 8), RODATA.slice(0, 8), "host reads the image");
  assertSandboxError(() => zygote.memory.view(0xd1000, 4), "invalid-argument"); // unmapped
});
