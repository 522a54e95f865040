/**
 * The `sbrk` rule, shared by every backend: how the heap grows and what the guest gets back.
 * @module
 */
import { ADDRESS_SPACE_SIZE, GUEST_MEMORY_END, PAGE_SIZE } from "./machine.ts";

/** Guest memory able to grow the heap. */
export interface GrowableMemory {
  /**
   * Maps every unmapped page in `[firstPage, endPage)` read-write, leaving mapped pages as they
   * are. Returns false, changing nothing, when the pages cannot be provided.
   */
  growReadWrite(firstPage: number, endPage: number): boolean;
}

/** What `sbrk` did: the value for the destination register and the new heap top. */
export interface SbrkResult {
  /** The old heap top, or 0 when the heap could not grow (and for a zero amount: the top). */
  readonly result: number;
  /** The heap top afterwards. */
  readonly heapTop: number;
}

/**
 * `sbrk` by `amount` bytes from `heapTop`: maps the pages up to the new top read-write and
 * returns the old top; growth into the last 64 KiB (past `GUEST_MEMORY_END`), by 2^32 or more,
 * or beyond what `memory` can provide (`MAX_MAPPED_PAGES`) fails and returns 0 with nothing
 * changed.
 */
export function sbrk(memory: GrowableMemory, heapTop: number, amount: bigint): SbrkResult {
  if (amount === 0n) return { result: heapTop, heapTop };
  const newTop = heapTop + Number(BigInt.asUintN(33, amount));
  if (amount >= BigInt(ADDRESS_SPACE_SIZE) || newTop > GUEST_MEMORY_END) {
    return { result: 0, heapTop };
  }
  if (!memory.growReadWrite(Math.floor(heapTop / PAGE_SIZE), Math.ceil(newTop / PAGE_SIZE))) {
    return { result: 0, heapTop };
  }
  return { result: heapTop, heapTop: newTop };
}
