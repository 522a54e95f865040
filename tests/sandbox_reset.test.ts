import assert from "node:assert/strict";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import { assertSandboxError, program } from "./sandbox_helpers.ts";
import { forEachBackend } from "./backends.ts";

// Halts with φ7 = the argument's first byte + the read-write word, after bumping that word and
// growing the heap: everything a reset must undo.
const STATEFUL = program(`
.stack_size 0x1000
.rw_data
counter:
    .u64 100
.code
    load_ind_u8 t0, [a0]
    load_u64 t1, [counter]
    add_64 t2, t0, t1
    add_imm_64 t1, t1, 1
    store_u64 [counter], t1
    load_imm t0, 4096
    sbrk s0, t0
    move_reg a0, t2
    jump_ind ra, 0
`);

forEachBackend("reset: starts the program afresh with new arguments and gas", (backend) => {
  using sb = Sandbox.create(STATEFUL, { backend, gas: 100n, args: Uint8Array.of(5) });
  const heapTop = sb.heapTop;
  assert.equal(sb.run().kind, "halt");
  assert.equal(sb.regs[7], 105n);
  assert.equal(sb.heapTop, heapTop + 4096);
  sb.memory.map(0x500000, 4096, "read-write");
  sb.reset({ gas: 50n, args: Uint8Array.of(7) });
  assert.equal(sb.heapTop, heapTop, "the heap starts over");
  assert.equal(sb.memory.accessAt(0x500000), "none", "memory mapped by the host is gone");
  assert.equal(sb.gas, 50n);
  assert.equal(sb.pc, 0);
  assert.equal(sb.lastExit, undefined);
  assert.equal(sb.run().kind, "halt");
  assert.equal(sb.regs[7], 107n, "read-write data is fresh, the new argument is read");
  assert.equal(sb.gas, 50n - 9n);
  using fresh = Sandbox.create(STATEFUL, { backend, gas: 50n, args: Uint8Array.of(7) });
  fresh.run();
  assert.deepEqual([...sb.regs], [...fresh.regs]);
});

forEachBackend("reset: bare mode leaves nothing mapped; bad options are refused", (backend) => {
  using sb = Sandbox.create(STATEFUL, { backend, gas: 100n });
  sb.run();
  sb.reset({ init: "bare", gas: 10n, entry: 3 });
  assert.equal(sb.memory.accessAt(0x20000), "none");
  assert.deepEqual([...sb.regs], new Array(13).fill(0n));
  assert.equal(sb.pc, 3);
  assertSandboxError(() => sb.reset({ gas: -1n }), "invalid-argument", /gas must/);
  assertSandboxError(
    () => sb.reset({ init: "bare", args: Uint8Array.of(1) }),
    "invalid-argument",
    /args need standard initialization/,
  );
  sb.dispose();
  assertSandboxError(() => sb.reset(), "disposed", /disposed/);
});
