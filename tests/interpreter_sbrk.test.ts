/**
 * `sbrk` costs the host no more than the guest pays: heap pages get memory when first touched,
 * and a failing `sbrk` of a huge amount is refused in O(1) (it used to count up to 2^20 pages
 * per call). The interpreter holds at most 2 GiB of guest pages.
 */
import assert from "node:assert/strict";
import { Interpreter } from "../src/interpreter/interpreter.ts";
import { PagedMemory } from "../src/interpreter/memory.ts";
import { Op } from "../src/program/isa/index.ts";
import { MAX_MAPPED_PAGES, PAGE_SIZE } from "../src/pvm/mod.ts";
import { forEachEngine, INTERPRETER_MODES } from "./backends.ts";
import { Asm } from "./interpreter_asm_util.ts";

const HEAP = 0x30000;

/** `sbrk r2, r1` in a loop until the gas runs out. */
const SBRK_LOOP = new Asm()
  .none(Op.fallthrough)
  .label("loop")
  .regReg(Op.sbrk, 2, 1)
  .jump("loop")
  .build();

forEachEngine(
  "sbrk of 2 GiB - 64 KiB succeeds at once and allocates only touched pages",
  (engine) => {
    const blob = new Asm()
      .regReg(Op.sbrk, 2, 1)
      .regImmImm(Op.store_imm_ind_u32, 2, 0x40000000, 0x5a5a5a5a)
      .none(Op.trap)
      .build();
    using vm = new Interpreter(blob, engine.interpreterOptions);
    vm.heapTop = HEAP;
    vm.setRegister(1, 0x7fff0000n);
    vm.gas = 10n;
    assert.deepEqual(vm.run(), { kind: "panic", pc: 12 });
    assert.equal(vm.getRegister(2), BigInt(HEAP));
    assert.equal(vm.heapTop, HEAP + 0x7fff0000);
    assert.equal(vm.memory.accessAt(HEAP + 0x7ffe0000), "read-write");
    assert.deepEqual([...vm.memory.read(HEAP + 0x40000000, 6)], [0x5a, 0x5a, 0x5a, 0x5a, 0, 0]);
    assert.deepEqual([...vm.memory.read(HEAP + 0x20000000, 2)], [0, 0], "untouched heap reads 0");
    // One page was touched: the store holds it and the guard slot, not 2 GiB.
    assert.ok(vm.memory.bytes.length <= 4 * 4096, `store of ${vm.memory.bytes.length} bytes`);
    // The host sees every heap page; protecting one gives it memory, unmapping one removes it.
    vm.memory.protect(HEAP + 0x1000, 4096, "read");
    assert.equal(vm.memory.accessAt(HEAP + 0x1000), "read");
    vm.memory.unmap(HEAP + 0x2000, 4096);
    assert.equal(vm.memory.accessAt(HEAP + 0x2000), "none");
    assert.equal(vm.memory.mappedPages().length, 0x7fff0000 / 4096 - 1);
  },
  { engines: INTERPRETER_MODES },
);

forEachEngine(
  "sbrk past the 2 GiB the interpreter holds fails with 0 and changes nothing",
  (engine) => {
    using vm = new Interpreter(SBRK_LOOP, engine.interpreterOptions);
    vm.heapTop = HEAP;
    vm.setRegister(1, 0xf0000000n);
    vm.gas = 101n;
    assert.deepEqual(vm.run(), { kind: "out-of-gas", pc: 1 });
    assert.equal(vm.getRegister(2), 0n);
    assert.equal(vm.heapTop, HEAP);
    assert.equal(vm.memory.accessAt(HEAP), "none");
  },
  { engines: INTERPRETER_MODES },
);

/** Wall-clock time of a run of `gas` gas of the sbrk loop for `amount` (sbrk must fail). */
function loopTime(amount: bigint, gas: bigint, compile: boolean): number {
  using vm = new Interpreter(SBRK_LOOP, { compile });
  vm.heapTop = HEAP;
  vm.setRegister(1, amount);
  vm.gas = gas;
  const start = performance.now();
  assert.equal(vm.run().kind, "out-of-gas");
  const ms = performance.now() - start;
  assert.equal(vm.getRegister(2), 0n, "sbrk failed");
  assert.equal(vm.heapTop, HEAP);
  return ms;
}

forEachEngine("a failing sbrk of a huge amount costs the host O(1)", (engine) => {
  const compile = engine.interpreterOptions?.compile ?? true;
  const gas = 40_000n; // 20,000 sbrk calls: half a minute at 2^20 pages counted per call
  const pastMemory = 0xf0000000n; // fits the address space, not the 2 GiB of pages
  const pastAddressSpace = 0x1_0000_0000n; // refused by the address rule before any page
  let huge = Infinity, trivial = Infinity;
  for (let k = 0; k < 5; k++) { // interleaved, best of five: load on the machine hits both
    huge = Math.min(huge, loopTime(pastMemory, gas, compile));
    trivial = Math.min(trivial, loopTime(pastAddressSpace, gas, compile));
  }
  // Both refusals are O(1); a ratio this loose only catches work per page (about 500 times).
  assert.ok(huge < 50 * trivial + 20, `${huge} ms against ${trivial} ms`);
}, { engines: INTERPRETER_MODES });

Deno.test("heap growth counts pages already mapped exactly, up to MAX_MAPPED_PAGES", () => {
  const memory = new PagedMemory();
  const first = HEAP / PAGE_SIZE;
  const top = first + MAX_MAPPED_PAGES - 10;
  assert.ok(memory.growReadWrite(first, top));
  memory.map(top * PAGE_SIZE, 5 * PAGE_SIZE, "read"); // 5 pages left
  assert.ok(!memory.growReadWrite(top, top + 11), "11 pages, 6 of them new: one too many");
  assert.equal(memory.accessAt((top + 5) * PAGE_SIZE), "none");
  assert.ok(memory.growReadWrite(top, top + 10), "10 pages, 5 of them new: exactly full");
  assert.equal(memory.accessAt(top * PAGE_SIZE), "read", "mapped pages keep their access");
  assert.equal(memory.accessAt((top + 9) * PAGE_SIZE), "read-write");
  assert.throws(() => memory.map(0x20000, PAGE_SIZE, "read"), /mapped pages/);
  memory.unmap(HEAP, PAGE_SIZE);
  memory.map(0x20000, PAGE_SIZE, "read"); // the unmapped page made room
  memory.dispose();
});
