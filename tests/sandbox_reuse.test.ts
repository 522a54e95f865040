/**
 * Sandboxes created one after another from the same program (on native, the same pooled zygote,
 * whose reset keeps the program's layout mapped): one instance writes a mark into every region it
 * can reach — read-write data, heap pages, the stack, memory `sbrk` grew, a page the host mapped
 * and filled — and the next instance must find zeros there and its own initial data; a heap page
 * it has not grown yet must fault exactly as on a fresh sandbox.
 */
import assert from "node:assert/strict";
import { assemble } from "../src/program/asm/index.ts";
import { Program } from "../src/program/program.ts";
import { nativePool } from "../src/sandbox/native/instantiate.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import type { BackendName } from "../src/sandbox/backends.ts";
import { forEachBackend } from "./backends.ts";

/** A page the host maps (and in the first mode fills) before running. */
const HOST_PAGE = 0x40000000;
const MARK = 0x5ec2e75ec2e75ec2n;

/**
 * The argument's length picks the mode. 0: write MARK everywhere. 1: OR every qword of each region
 * into a0 (read-write data after its first qword), a2 (stack), a3 (grown heap), a4 (host page);
 * a1 = the first qword of read-write data, a5 = the first of read-only data. 2: load from the
 * page `sbrk` would grow next, before growing it.
 */
const PROGRAM = Program.parse(assemble(`
.stack_size 0x2000
.equ HOST_PAGE, ${HOST_PAGE}

.ro_data
ro:
    .u64 0x0123456789abcdef
.rw_data
rw:
    .u64 0x1122334455667788
    .zero 0x1ff8
.heap_pages 1

.code
    branch_eq_imm a1, 1, read
    branch_eq_imm a1, 2, peek
    load_imm_64 s0, ${MARK}
    load_imm t0, rw
    add_imm_64 t1, t0, 0x3000
    fallthrough
fill_rw:
    store_ind_u64 [t0], s0
    add_imm_64 t0, t0, 8
    branch_lt_u t0, t1, fill_rw
    add_imm_64 t0, sp, -0x2000
    fallthrough
fill_stack:
    store_ind_u64 [t0], s0
    add_imm_64 t0, t0, 8
    branch_lt_u t0, sp, fill_stack
    load_imm t2, 0x1000
    sbrk t0, t2
    add_imm_64 t1, t0, 0x1000
    fallthrough
fill_heap:
    store_ind_u64 [t0], s0
    add_imm_64 t0, t0, 8
    branch_lt_u t0, t1, fill_heap
    load_imm t0, HOST_PAGE
    add_imm_64 t1, t0, 0x1000
    fallthrough
fill_host:
    store_ind_u64 [t0], s0
    add_imm_64 t0, t0, 8
    branch_lt_u t0, t1, fill_host
    jump_ind ra, 0

read:
    load_imm a0, 0
    load_imm t0, rw
    load_ind_u64 a1, [t0]
    add_imm_64 t0, t0, 8
    add_imm_64 t1, t0, 0x2ff8
    fallthrough
or_rw:
    load_ind_u64 t2, [t0]
    or a0, a0, t2
    add_imm_64 t0, t0, 8
    branch_lt_u t0, t1, or_rw
    load_imm a2, 0
    add_imm_64 t0, sp, -0x2000
    fallthrough
or_stack:
    load_ind_u64 t2, [t0]
    or a2, a2, t2
    add_imm_64 t0, t0, 8
    branch_lt_u t0, sp, or_stack
    load_imm a3, 0
    load_imm t2, 0x1000
    sbrk t0, t2
    add_imm_64 t1, t0, 0x1000
    fallthrough
or_heap:
    load_ind_u64 t2, [t0]
    or a3, a3, t2
    add_imm_64 t0, t0, 8
    branch_lt_u t0, t1, or_heap
    load_imm a4, 0
    load_imm t0, HOST_PAGE
    add_imm_64 t1, t0, 0x1000
    fallthrough
or_host:
    load_ind_u64 t2, [t0]
    or a4, a4, t2
    add_imm_64 t0, t0, 8
    branch_lt_u t0, t1, or_host
    load_imm t0, ro
    load_ind_u64 a5, [t0]
    jump_ind ra, 0

peek:
    load_imm t2, 0
    sbrk t0, t2
    load_ind_u64 t1, [t0]
    jump_ind ra, 0
`));

/** Runs one instance in `mode` (0 write, 1 read, 2 peek) with the host page mapped. */
function instance(backend: BackendName, mode: number) {
  using sb = Sandbox.create(PROGRAM, {
    backend,
    gas: 1_000_000n,
    args: new Uint8Array(mode),
  });
  sb.memory.map(HOST_PAGE, 4096, "read-write");
  if (mode === 0) sb.memory.write(HOST_PAGE, new Uint8Array(4096).fill(0x5e));
  const exit = sb.run();
  return { exit, regs: [...sb.regs], host: sb.memory.read(HOST_PAGE, 4096) };
}

forEachBackend(
  "sandbox reuse: the next instance finds zeros where the last one wrote",
  (backend) => {
    const pool = backend === "native" ? nativePool() : undefined;
    for (let round = 0; round < 3; round++) {
      const written = instance(backend, 0);
      assert.equal(written.exit.kind, "halt");
      const idle = pool?.idle;
      const read = instance(backend, 1);
      if (pool !== undefined) {
        assert.ok(idle! > 0 && pool.idle === idle, "the reader ran in the writer's zygote");
      }
      assert.equal(read.exit.kind, "halt");
      const [a0, a1, a2, a3, a4, a5] = read.regs.slice(7);
      assert.equal(a0, 0n, "read-write data and heap pages read as zero");
      assert.equal(a1, 0x1122334455667788n, "read-write data starts as the program's own");
      assert.equal(a2, 0n, "the stack reads as zero");
      assert.equal(a3, 0n, "memory grown by sbrk reads as zero");
      assert.equal(a4, 0n, "the page the host mapped reads as zero");
      assert.equal(a5, 0x0123456789abcdefn, "read-only data is the program's own");
      assert.deepEqual(read.host, new Uint8Array(4096), "the host reads zeros too");
    }
  },
);

forEachBackend(
  "sandbox reuse: a heap page not grown yet faults after an instance grew it",
  (backend) => {
    assert.equal(instance(backend, 0).exit.kind, "halt");
    const peek = instance(backend, 2);
    assert.equal(peek.exit.kind, "page-fault");
    assert.equal((peek.exit as { address: number }).address, 0x33000);
  },
);
