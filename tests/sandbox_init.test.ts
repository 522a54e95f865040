import assert from "node:assert/strict";
import { assemble } from "../src/program/asm/index.ts";
import { Program } from "../src/program/program.ts";
import { encodeServiceCode, encodeServiceMetadata } from "../src/program/service.ts";
import { parseStandardProgram } from "../src/program/standard.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import { standardLayout } from "../src/pvm/mod.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";
import { forEachBackend } from "./backends.ts";

// 5000 bytes of read-only data, 3 bytes of read-write data, 2 heap pages, a 0x3000-byte stack.
const STANDARD = assemble(`
.stack_size 0x3000
.heap_pages 2
.ro_data
    .bytes 1, 2, 3
    .zero 4996
    .bytes 5
.rw_data
    .bytes 9, 8, 7
.code
    jump_ind ra, 0
`);

const ARGS = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + 1) & 0xff);

function accessMap(sb: Sandbox, addresses: number[]): string[] {
  return addresses.map((a) => `0x${a.toString(16)} ${sb.memory.accessAt(a)}`);
}

function checkStandardLayout(sb: Sandbox): void {
  assert.deepEqual([...sb.regs], [
    0xffff0000n,
    0xfefe0000n,
    0n,
    0n,
    0n,
    0n,
    0n,
    0xfeff0000n,
    5000n,
    0n,
    0n,
    0n,
    0n,
  ]);
  // ro: 2 pages at 0x10000; rw: zone after ro → 0x30000, 1 page + 2 heap pages.
  assert.deepEqual(
    accessMap(sb, [
      0x0,
      0xffff,
      0x10000,
      0x11fff,
      0x12000,
      0x2ffff,
      0x30000,
      0x32fff,
      0x33000,
      0xfefdcfff,
      0xfefdd000,
      0xfefdffff,
      0xfefe0000,
      0xfeff0000,
      0xfeff1fff,
      0xfeff2000,
      0xffff0000,
    ]),
    [
      "0x0 none",
      "0xffff none",
      "0x10000 read",
      "0x11fff read",
      "0x12000 none",
      "0x2ffff none",
      "0x30000 read-write",
      "0x32fff read-write",
      "0x33000 none",
      "0xfefdcfff none",
      "0xfefdd000 read-write",
      "0xfefdffff read-write",
      "0xfefe0000 none",
      "0xfeff0000 read",
      "0xfeff1fff read",
      "0xfeff2000 none",
      "0xffff0000 none",
    ],
  );
  assert.deepEqual([...sb.memory.read(0x10000, 4)], [1, 2, 3, 0]);
  assert.deepEqual([...sb.memory.read(0x30000, 4)], [9, 8, 7, 0]);
  assert.deepEqual(sb.memory.read(0xfeff0000, 5000), ARGS);
  assert.deepEqual([...sb.memory.read(0xfeff0000 + 5000, 4)], [0, 0, 0, 0]);
  assert.equal(sb.heapTop, 0x33000);
}

forEachBackend(
  "standard init of a standard program: memory map, contents, registers, heap top",
  (backend) => {
    const program = Program.parse(STANDARD);
    assert.equal(program.container, "standard");
    using sb = Sandbox.create(program, { backend, gas: 10n, args: ARGS });
    checkStandardLayout(sb);
    assert.equal(sb.run().kind, "halt", "returning to φ0 halts");
  },
);

forEachBackend(
  "standard init of service code (metadata + standard program) is the same",
  (backend) => {
    const metadata = encodeServiceMetadata({
      name: "t",
      version: "1",
      licence: "MIT",
      authors: [],
    });
    const program = Program.parse(encodeServiceCode(metadata, STANDARD));
    assert.equal(program.container, "service");
    using sb = Sandbox.create(program, { backend, gas: 10n, args: ARGS });
    checkStandardLayout(sb);
  },
);

Deno.test("standard layout: no argument maps no argument page; sizes are page-rounded", () => {
  const layout = standardLayout(parseStandardProgram(STANDARD), new Uint8Array(0));
  const args = layout.regions.find((r) => r.name === "args")!;
  assert.equal(args.length, 0);
  assert.equal(layout.registers[8], 0n);
  const stack = layout.regions.find((r) => r.name === "stack")!;
  assert.deepEqual([stack.address, stack.length], [0xfefe0000 - 0x3000, 0x3000]);
});

forEachBackend("standard init rejects an argument over 2^24 bytes and a raw blob", (backend) => {
  const program = Program.parse(STANDARD);
  assertSandboxError(
    () => Sandbox.create(program, { backend, args: new Uint8Array((1 << 24) + 1) }),
    "invalid-argument",
    /at most 16777216/,
  );
  using ok = Sandbox.create(program, { backend, args: new Uint8Array(1 << 24) });
  assert.equal(ok.regs[8], 1n << 24n);
  const raw = Program.parse(assemble("trap"));
  assertSandboxError(
    () => Sandbox.create(raw, { backend, init: "standard" }),
    "invalid-argument",
    /raw blob has no memory layout/,
  );
});

forEachBackend(
  "bare mode: nothing mapped, registers zero, the caller sets everything up",
  (backend) => {
    const raw = Program.parse(assemble(`
    load_u64 a1, [0x20000]
    add_imm_64 a1, a1, 1
    store_u64 [0x20000], a1
    trap
  `));
    assert.equal(raw.container, "raw");
    using sb = Sandbox.create(raw, { backend, gas: 10n });
    assert.deepEqual([...sb.regs], new Array(13).fill(0n));
    assert.equal(sb.memory.accessAt(0x10000), "none");
    assert.deepEqual(sb.run(), { kind: "page-fault", pc: 0, address: 0x20000 });
    sb.memory.map(0x20000, 1, "read-write");
    sb.memory.write(0x20000, Uint8Array.of(41));
    assert.equal(sb.run().kind, "panic");
    assert.equal(sb.regs[8], 42n);
    assert.equal(sb.memory.read(0x20000, 1)[0], 42);
    // A standard program can run bare too.
    using bare = Sandbox.create(Program.parse(STANDARD), { backend, init: "bare", gas: 10n });
    assert.equal(bare.memory.accessAt(0x10000), "none");
    assert.equal(bare.regs[0], 0n);
  },
);
