/** `grow_heap` (jam-0.8 host call 1) and the 0.8 host-call numbering. */
import assert from "node:assert/strict";
import { assemble } from "../src/program/asm/index.ts";
import { JAM_0_8 } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { PAGE_SIZE } from "../src/pvm/mod.ts";
import { growHeap } from "../src/sandbox/grow_heap.ts";
import { hostCallName, JAM_HOST_CALLS_08 } from "../src/sandbox/host_calls.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";

// A standard program with 10 bytes of read-only data and one page of read-write data: its
// read-write region starts at page a = (2·65536 + 65536) / 4096 = 48 and holds 1 page.
const SOURCE = `
.ro_data
    .bytes 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
.rw_data
    .bytes 1
.stack_size 0x1000
.code
    ecalli 1
    trap
`;
const FIRST_PAGE = 48;

function sandbox(gas: bigint): Sandbox {
  const bytes = assemble(SOURCE, { profile: JAM_0_8 });
  const program = Program.parse(bytes, { isa: "jam-0.8" });
  return Sandbox.create(program, { backend: "interpreter", gas });
}

/** Runs to the `grow_heap` call, asks for `wanted`; returns the gas the call itself took. */
function grow(wanted: bigint): { sb: Sandbox; outcome: string; took: bigint } {
  const sb = sandbox(10_000n);
  const exit = sb.run();
  assert.deepEqual(exit, { kind: "host-call", pc: 0, id: JAM_HOST_CALLS_08.grow_heap });
  sb.regs[7] = wanted;
  const before = sb.gas;
  const outcome = growHeap(sb);
  return { sb, outcome, took: before - sb.gas };
}

Deno.test("grow_heap: the read-write region grows to the wanted end page, 10 gas a page", () => {
  const { sb, outcome, took } = grow(BigInt(FIRST_PAGE + 5));
  assert.equal(outcome, "serviced");
  assert.equal(took, 100n + 4n * 10n); // 4 new pages: the region held 1
  assert.equal(sb.regs[7], BigInt(FIRST_PAGE + 5));
  for (let page = FIRST_PAGE; page < FIRST_PAGE + 5; page++) {
    assert.equal(sb.memory.accessAt(page * PAGE_SIZE), "read-write", `page ${page}`);
  }
  assert.equal(sb.memory.accessAt((FIRST_PAGE + 5) * PAGE_SIZE), "none");
  assert.equal(sb.memory.read(FIRST_PAGE * PAGE_SIZE, 1)[0], 1); // contents kept
  sb.dispose();
});

Deno.test("grow_heap: a request below the end, beyond the limit, or unaffordable costs 100", () => {
  for (const wanted of [0n, BigInt(FIRST_PAGE), 1n << 40n]) {
    const { sb, outcome, took } = grow(wanted);
    assert.equal(outcome, "serviced");
    assert.equal(took, 100n, `wanted ${wanted}`);
    assert.equal(sb.regs[7], BigInt(FIRST_PAGE + 1), `wanted ${wanted}`);
    sb.dispose();
  }
  // 1000 more pages cost 100 + 999·10 gas; with less the call answers the current end.
  const poor = sandbox(10_000n);
  poor.run();
  poor.regs[7] = BigInt(FIRST_PAGE + 1000);
  poor.gas = 5000n;
  assert.equal(growHeap(poor), "serviced");
  assert.equal(poor.gas, 4900n);
  assert.equal(poor.regs[7], BigInt(FIRST_PAGE + 1));
  poor.gas = 99n;
  assert.equal(growHeap(poor), "out-of-gas");
  assert.equal(poor.gas, 99n);
  assert.equal(poor.regs[7], BigInt(FIRST_PAGE + 1));
  poor.dispose();
});

Deno.test("host calls: jam-0.8 numbering moves fetch … expunge up by one after grow_heap", () => {
  assert.equal(JAM_HOST_CALLS_08.fetch, 2);
  assert.equal(JAM_HOST_CALLS_08.expunge, 14);
  assert.equal(JAM_HOST_CALLS_08.log, 100);
  assert.equal(hostCallName(1, "jam-0.8"), "grow_heap");
  assert.equal(hostCallName(1), "fetch");
});
