/**
 * `grow_heap`, Gray Paper 0.8's host call 1, which replaces the `sbrk` instruction: it grows the
 * read-write region of a JAM standard program to a requested end page (PVM-0.8.md §8.2).
 * @module
 */
import { PAGE_SIZE, SandboxError, ZONE_SIZE } from "../pvm/mod.ts";
import type { Sandbox } from "./sandbox.ts";

/** Base gas of a `grow_heap` call, and gas per page it makes writable. */
const BASE_GAS = 100n, GAS_PER_PAGE = 10n;
/** Bytes the standard layout keeps free above the read-write region: 3 zones and the arguments. */
const RESERVED_ABOVE = 3 * ZONE_SIZE + (1 << 24);

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** How a `grow_heap` call ended: serviced (φ7 and gas updated), or out of gas (nothing changed). */
export type GrowHeapOutcome = "serviced" | "out-of-gas";

/**
 * Services a `grow_heap` call the guest made (`ecalli 1` under jam-0.8): φ7 is the wanted end page
 * (exclusive, absolute) of the read-write region; on return φ7 holds its end page afterwards. The
 * call costs 100 gas plus 10 per page it makes writable; a request it cannot grant (beyond the
 * largest region, or not affordable) costs 100 and changes nothing. With less than 100 gas left it
 * returns `out-of-gas` and changes nothing. The region's pages are counted from the start of the
 * read-write data to the end of the largest possible region, as the Gray Paper does. A profile
 * with `sbrk` (`jam-0.7`) has no `grow_heap`: there it throws `unsupported`.
 */
export function growHeap(sandbox: Sandbox): GrowHeapOutcome {
  const isa = sandbox.program.isa;
  if (isa.hasSbrk) {
    throw new SandboxError("unsupported", `${isa.name} grows the heap with sbrk, not grow_heap`);
  }
  const memory = sandbox.program.memory;
  if (memory === undefined) {
    throw new SandboxError("unsupported", "grow_heap needs a JAM standard program (its layout)");
  }
  const first = (2 * ZONE_SIZE + roundUp(memory.roData.length, ZONE_SIZE)) / PAGE_SIZE;
  const end = (2 ** 32 - RESERVED_ABOVE - roundUp(memory.stackSize, PAGE_SIZE)) / PAGE_SIZE;
  let writable = 0;
  for (let page = first; page < end; page++) {
    if (sandbox.memory.accessAt(page * PAGE_SIZE) === "read-write") writable++;
  }
  const wanted = sandbox.regs[7];
  if (sandbox.gas < BASE_GAS) return "out-of-gas";
  const growth = wanted - BigInt(first + writable);
  const cost = BASE_GAS + (growth > 0n ? growth : 0n) * GAS_PER_PAGE;
  const target = wanted > BigInt(first) ? wanted : BigInt(first);
  if (target <= BigInt(end) && sandbox.gas >= cost) {
    sandbox.gas -= cost;
    // Runs of inaccessible pages are mapped, runs of read-only ones made writable, each at once.
    for (let page = first; page < Number(target);) {
      const access = sandbox.memory.accessAt(page * PAGE_SIZE);
      let run = page + 1;
      while (run < Number(target) && sandbox.memory.accessAt(run * PAGE_SIZE) === access) run++;
      const [address, length] = [page * PAGE_SIZE, (run - page) * PAGE_SIZE];
      if (access === "none") sandbox.memory.map(address, length, "read-write");
      else if (access === "read") sandbox.memory.protect(address, length, "read-write");
      page = run;
    }
    const now = BigInt(first + writable);
    sandbox.regs[7] = now > target ? now : target;
  } else {
    sandbox.gas -= BASE_GAS;
    sandbox.regs[7] = BigInt(first + writable);
  }
  return "serviced";
}
