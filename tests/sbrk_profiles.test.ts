/**
 * `IsaProfile.hasSbrk` is the one rule for sbrk: with it (jam-0.7) a program grows its heap with
 * `sbrk` on every backend; without it (jam-0.8, PVM-0.8.md §1) byte 101 is `count_set_bits_64`,
 * the assembler refuses the mnemonic, the sandbox has no heap top, and the heap grows only by the
 * `grow_heap` host call.
 */
import assert from "node:assert/strict";
import { assemble } from "../src/program/asm/index.ts";
import { INSTRUCTIONS, JAM_0_7, JAM_0_8, Op } from "../src/program/isa/index.ts";
import { defineProfile } from "../src/program/isa/profile.ts";
import { Program } from "../src/program/program.ts";
import { SandboxError } from "../src/pvm/mod.ts";
import { growHeap } from "../src/sandbox/grow_heap.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import { forEachBackend } from "./backends.ts";

/** `sbrk a1, a0` by 5000 bytes under jam-0.7; the same bytes are `count_set_bits_64` under 0.8. */
const BYTES = assemble(".stack_size 0x1000\n    load_imm a0, 5000\n    sbrk a1, a0\n    trap\n", {
  profile: JAM_0_7,
});
const AMOUNT = 5000;

forEachBackend("jam-0.7 has sbrk: the heap grows from the layout's heap top", (backend) => {
  using sb = Sandbox.create(Program.parse(BYTES, { isa: "jam-0.7" }), { backend, gas: 100n });
  const top = sb.heapTop;
  assert.ok(top > 0, "standard init sets the heap top");
  assert.equal(sb.memory.accessAt(top), "none");
  assert.equal(sb.run().kind, "panic");
  assert.equal(sb.regs[8], BigInt(top), "sbrk returns the old top");
  assert.equal(sb.heapTop, top + AMOUNT);
  assert.equal(sb.memory.accessAt(top), "read-write");
  assert.equal(sb.memory.accessAt(top + AMOUNT - 1), "read-write");
  sb.heapTop = top; // settable where the profile has sbrk
  assert.equal(sb.heapTop, top);
});

forEachBackend("jam-0.8 has no sbrk: byte 101 counts bits and the heap stays", (backend) => {
  const reference = Program.parse(BYTES, { isa: "jam-0.7" });
  const layoutTop = (() => {
    using sb07 = Sandbox.create(reference, { backend: "interpreter" });
    return sb07.heapTop;
  })();
  using sb = Sandbox.create(Program.parse(BYTES, { isa: "jam-0.8" }), { backend, gas: 1000n });
  assert.equal(sb.heapTop, 0, "no heap top under a profile without sbrk");
  assert.equal(sb.run().kind, "panic");
  assert.equal(sb.regs[8], 5n, "count_set_bits_64 of 5000 (0b1001110001000)");
  assert.equal(sb.heapTop, 0);
  assert.equal(sb.memory.accessAt(layoutTop), "none", "nothing grew");
  assert.throws(
    () => (sb.heapTop = layoutTop),
    (e) => e instanceof SandboxError && e.kind === "unsupported" && /no sbrk/.test(e.message),
  );
});

Deno.test("the assembler refuses sbrk for a profile without it", () => {
  assert.throws(
    () => assemble("    sbrk a1, a0\n", { profile: JAM_0_8 }),
    /jam-0\.8 has no sbrk; its heap grows by the grow_heap host call/,
  );
});

Deno.test("grow_heap is refused for a profile with sbrk", () => {
  using sb = Sandbox.create(Program.parse(BYTES, { isa: "jam-0.7" }), { backend: "interpreter" });
  assert.throws(
    () => growHeap(sb),
    (e) => e instanceof SandboxError && e.kind === "unsupported",
  );
});

Deno.test("a profile's opcode map must agree with its hasSbrk", () => {
  const all = INSTRUCTIONS.map((i) => [i.id, i.id] as const);
  const withoutSbrk = all.filter(([, id]) => id !== Op.sbrk);
  assert.throws(() => defineProfile("jam-0.7", all, JAM_0_7.gas, { hasSbrk: false }), RangeError);
  assert.throws(() => defineProfile("jam-0.7", withoutSbrk, JAM_0_7.gas), RangeError);
  assert.equal(
    defineProfile("jam-0.7", withoutSbrk, JAM_0_7.gas, { hasSbrk: false }).hasSbrk,
    false,
  );
  assert.equal(JAM_0_7.hasSbrk, true);
  assert.equal(JAM_0_8.hasSbrk, false);
});
