import assert from "node:assert/strict";
import type { BackendName } from "../src/sandbox/backends.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import { assertSandboxError, program } from "./sandbox_helpers.ts";
import { forEachBackend } from "./backends.ts";

const HALT = program(`
.stack_size 0x1000
    jump_ind ra, 0
`);

Deno.test("create: unknown backend, bad gas or entry, args in bare mode are rejected", () => {
  assertSandboxError(
    () => Sandbox.create(HALT, { backend: "wasm" as BackendName }),
    "invalid-argument",
    /unknown backend 'wasm'; available: interpreter, native, auto/,
  );
  assertSandboxError(() => Sandbox.create(HALT, { gas: -1n }), "invalid-argument", /gas must/);
  assertSandboxError(() => Sandbox.create(HALT, { gas: 2n ** 63n }), "invalid-argument", /gas/);
  assertSandboxError(
    () => Sandbox.create(HALT, { gas: 5 as unknown as bigint }),
    "invalid-argument",
    /gas must be a bigint/,
  );
  assertSandboxError(() => Sandbox.create(HALT, { entry: -1 }), "invalid-argument", /pc must/);
  assertSandboxError(() => Sandbox.create(HALT, { entry: 1.5 }), "invalid-argument", /pc must/);
  assertSandboxError(
    () => Sandbox.create(HALT, { init: "bare", args: Uint8Array.of(1) }),
    "invalid-argument",
    /args need standard initialization/,
  );
});

forEachBackend(
  "registers: checked accessors, BigUint64Array view, values modulo 2^64",
  (backend) => {
    using sb = Sandbox.create(HALT, { backend });
    for (const bad of [-1, 13, 1.5, NaN]) {
      assertSandboxError(() => sb.getRegister(bad), "invalid-argument", /register index/);
      assertSandboxError(() => sb.setRegister(bad, 1n), "invalid-argument", /register index/);
    }
    sb.setRegister(3, -1n);
    assert.equal(sb.regs[3], 2n ** 64n - 1n);
    sb.setRegister(4, 2n ** 64n + 5n);
    assert.equal(sb.getRegister(4), 5n);
    sb.setRegister(5, 77);
    assert.equal(sb.regs[5], 77n);
    assertSandboxError(() => sb.setRegister(5, 2 ** 60), "invalid-argument", /not a safe integer/);
  },
);

forEachBackend("gas and pc setters check their values", (backend) => {
  using sb = Sandbox.create(HALT, { backend, gas: 5n });
  assertSandboxError(() => (sb.gas = -5n), "invalid-argument", /gas must/);
  assert.equal(sb.gas, 5n);
  assertSandboxError(() => (sb.pc = 2 ** 32), "invalid-argument", /pc must/);
  sb.gas = 2n ** 63n - 1n;
  assert.equal(sb.gas, 2n ** 63n - 1n);
});

forEachBackend("memory: addresses, lengths and access names are checked", (backend) => {
  using sb = Sandbox.create(HALT, { backend });
  assertSandboxError(() => sb.memory.read(2 ** 32, 1), "invalid-argument", /not a guest address/);
  assertSandboxError(() => sb.memory.read(-1, 1), "invalid-argument", /not a guest address/);
  assertSandboxError(() => sb.memory.read(0xffffffff, 2), "invalid-argument", /runs past/);
  assertSandboxError(() => sb.memory.read(0x10000, -1), "invalid-argument", /length -1/);
  assertSandboxError(
    () => sb.memory.map(0x40000, 4096, "rwx" as "read"),
    "invalid-argument",
    /access 'rwx'/,
  );
  assertSandboxError(
    () => sb.memory.map(0x40000, 4096, "none" as "read"),
    "invalid-argument",
    /access 'none'/,
  );
  assertSandboxError(
    () => sb.memory.write(0x40000, [1, 2] as unknown as Uint8Array),
    "invalid-argument",
    /Uint8Array/,
  );
  assert.throws(() => sb.memory.read(0x40000, 1), /page is not readable/);
  assert.equal(sb.memory.tryRead(0x40000, 1), undefined);
});

forEachBackend("memory: map, write, protect, unmap", (backend) => {
  using sb = Sandbox.create(HALT, { backend });
  sb.memory.map(0x40000, 5000, "read-write");
  assert.equal(sb.memory.accessAt(0x41fff), "read-write");
  assert.equal(sb.memory.accessAt(0x42000), "none");
  sb.memory.write(0x40ffe, Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual([...sb.memory.read(0x40ffe, 4)], [1, 2, 3, 4]);
  sb.memory.protect(0x40000, 4096, "read");
  assert.equal(sb.memory.accessAt(0x40000), "read");
  sb.memory.write(0x40000, Uint8Array.of(9)); // the host may write read-only pages
  assert.equal(sb.memory.read(0x40000, 1)[0], 9);
  sb.memory.unmap(0x40000, 8192);
  assert.equal(sb.memory.accessAt(0x41000), "none");
});

forEachBackend(
  "dispose: idempotent, `using` disposes, later use fails with 'disposed'",
  (backend) => {
    let escaped: Sandbox;
    {
      using sb = Sandbox.create(HALT, { backend, gas: 10n });
      escaped = sb;
      assert.equal(sb.disposed, false);
    }
    assert.equal(escaped.disposed, true);
    assertSandboxError(() => escaped.run(), "disposed", /disposed/);
    assertSandboxError(() => escaped.gas, "disposed", /disposed/);
    assertSandboxError(() => escaped.getRegister(7), "disposed", /disposed/);
    assertSandboxError(() => escaped.setRegister(7, 1n), "disposed", /disposed/);
    assertSandboxError(() => escaped.memory.read(0x10000, 1), "disposed", /disposed/);
    escaped.dispose();
  },
);

forEachBackend("onInstruction sees every executed pc and live registers", (backend) => {
  const pcs: number[] = [];
  const seen: bigint[] = [];
  const counting = program(`
.stack_size 0x1000
    load_imm a0, 3
    add_imm_64 a0, a0, 4
    jump_ind ra, 0
`);
  using sb: Sandbox = Sandbox.create(counting, {
    backend,
    gas: 10n,
    onInstruction: (pc) => {
      pcs.push(pc);
      seen.push(sb.getRegister(7));
    },
  });
  assert.deepEqual(sb.run(), { kind: "halt", pc: 6 }, "the exit names the last instruction");
  assert.deepEqual(pcs, [0, 3], "called for each instruction that did not end the run");
  assert.deepEqual(seen, [3n, 7n], "the hook runs after each instruction");
});
