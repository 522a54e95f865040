/**
 * The interpreter's guest memory: a flat page table over one growable byte store. Each guest
 * page of 4 KiB that is mapped owns a 4 KiB slot of the store; two tables give, per page, the
 * byte offset of its slot for reading and for writing (0 when the access is not allowed, since
 * slot 0 is a guard that is never handed out), so the hot path of a load or store is one table
 * read, one compare and one `DataView` access.
 *
 * Heap pages that `sbrk` adds are mapped lazily: they count as read-write at once but get a
 * slot (zero-filled) only when first touched, and pages are counted per chunk of 1024, so a
 * failing `sbrk` costs O(1) and a successful one no memory per page. At most `MAX_MAPPED_PAGES`
 * (2 GiB) pages, mapped or added by `sbrk`, fit one memory.
 * @module
 */
import {
  ADDRESS_SPACE_SIZE,
  type GuestMemory,
  MAX_MAPPED_PAGES,
  PAGE_SIZE,
  type PageAccess,
  SandboxError,
} from "../pvm/mod.ts";

/** Number of pages in the 32-bit guest address space. */
const PAGE_COUNT = ADDRESS_SPACE_SIZE / PAGE_SIZE;

/** Largest store the slots may occupy (the guard slot and the most mappable pages). */
const MAX_STORE_BYTES = (MAX_MAPPED_PAGES + 1) * PAGE_SIZE;

const PAGE_SHIFT = 12;
/** Pages are counted in chunks of 1024 so `sbrk` can size a range without visiting it. */
const CHUNK_SHIFT = 10;
const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_PAGES - 1;
const PAGE_MASK = PAGE_SIZE - 1;

function checkRange(address: number, length: number): void {
  if (!Number.isInteger(address) || address < 0 || address >= ADDRESS_SPACE_SIZE) {
    throw new SandboxError(
      "invalid-argument",
      `address ${address} is not a guest address (an integer in 0…0xFFFFFFFF)`,
    );
  }
  if (!Number.isInteger(length) || length < 0 || address + length > ADDRESS_SPACE_SIZE) {
    throw new SandboxError(
      "invalid-argument",
      `length ${length} at 0x${address.toString(16)} is negative, fractional or runs past 4 GiB`,
    );
  }
}

/** The tables of a memory that has never been mapped: all zero, shared, never written. */
const UNMAPPED_TABLE = new Int32Array(PAGE_COUNT);

/** Zeroed page tables of disposed memories, reused so a new instance skips 8 MiB of zeroing. */
const tablePool: Int32Array[] = [];
const TABLE_POOL_SIZE = 16;

/** Zeroed per-page flag arrays of disposed memories, reused like the page tables. */
const flagPool: Uint8Array[] = [];

function takeTable(): Int32Array {
  return tablePool.pop() ?? new Int32Array(PAGE_COUNT);
}

/**
 * Stores of disposed memories, reused by new instances: every slot is zero-filled when it is
 * mapped, so old contents never show through.
 */
const storePool: Uint8Array[] = [];
const STORE_POOL_SIZE = 8;
const MAX_POOLED_STORE_BYTES = 64 << 20;

/** The store of a memory that has never been mapped: only the guard slot, never written. */
const GUARD_STORE = new Uint8Array(PAGE_SIZE);
const GUARD_VIEW = new DataView(GUARD_STORE.buffer);

/** A store of at least `bytes` bytes, from the pool when one fits. */
function takeStore(bytes: number): Uint8Array {
  const k = storePool.findIndex((s) => s.length >= bytes);
  if (k < 0) return new Uint8Array(bytes);
  const [store] = storePool.splice(k, 1);
  return store;
}

/**
 * Guest memory of one interpreter instance. The 4 MiB page tables are allocated on the first
 * mapping, so instances that never map memory stay cheap.
 */
export class PagedMemory implements GuestMemory {
  /** Per page: offset of its slot in `bytes` when readable, else 0. */
  readBase: Int32Array = UNMAPPED_TABLE;
  /** Per page: offset of its slot in `bytes` when writable, else 0. */
  writeBase: Int32Array = UNMAPPED_TABLE;
  /** The slot store; replaced (grown) when slots run out, so callers re-read it after mapping. */
  bytes: Uint8Array;
  /** A `DataView` over `bytes`, replaced together with it. */
  view: DataView;
  /** Slot offset of every mapped page, whatever its access. */
  readonly #slotOf = new Map<number, number>();
  readonly #freeSlots: number[] = [];
  #usedSlots = 1;
  /** Per page: 1 when `sbrk` made it read-write but it has no slot yet (allocated on first use). */
  #lazy: Uint8Array | undefined = undefined;
  #lazyCount = 0;
  /** Per page: 1 when it holds a slot or is lazy; and per chunk of 1024 pages, how many do. */
  #used: Uint8Array | undefined = undefined;
  #usedPerChunk: Uint16Array | undefined = undefined;
  /** Scratch for multi-byte slow-path loads: the value as low and high 32-bit halves. */
  readonly scratch: Int32Array = new Int32Array(2);

  /** Creates a memory in which every page is inaccessible. */
  constructor() {
    // Just the guard slot: the first mapping sizes the store to what it needs.
    this.bytes = GUARD_STORE;
    this.view = GUARD_VIEW;
  }

  /** Copies `length` bytes from `address`; throws `SandboxError` if any byte is inaccessible. */
  read(address: number, length: number): Uint8Array {
    checkRange(address, length);
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const a = address + done;
      const base = this.readBase[a >>> PAGE_SHIFT];
      const off = a & PAGE_MASK;
      const n = Math.min(length - done, PAGE_SIZE - off);
      if (base !== 0) out.set(this.bytes.subarray(base + off, base + off + n), done);
      else if (!this.#isLazy(a >>> PAGE_SHIFT)) { // a lazy page reads as zeros, already in `out`
        throw new SandboxError(
          "invalid-argument",
          `cannot read guest address 0x${a.toString(16)}: its page is not readable`,
        );
      }
      done += n;
    }
    return out;
  }

  /** Copies `bytes` to `address` regardless of page protection; the pages must be mapped. */
  write(address: number, bytes: Uint8Array): void {
    checkRange(address, bytes.length);
    for (let done = 0; done < bytes.length;) {
      const a = address + done;
      this.#materialize(a >>> PAGE_SHIFT);
      const base = this.#slotOf.get(a >>> PAGE_SHIFT);
      if (base === undefined) {
        throw new SandboxError(
          "invalid-argument",
          `cannot write guest address 0x${a.toString(16)}: its page is not mapped`,
        );
      }
      const off = a & PAGE_MASK;
      const n = Math.min(bytes.length - done, PAGE_SIZE - off);
      this.bytes.set(bytes.subarray(done, done + n), base + off);
      done += n;
    }
  }

  /** Maps the whole pages covering `[address, address + length)` zero-filled with `access`. */
  map(address: number, length: number, access: Exclude<PageAccess, "none">): void {
    checkRange(address, length);
    this.#checkAligned(address);
    this.#checkAccess(access, false);
    const first = address >>> PAGE_SHIFT;
    const end = Math.ceil((address + length) / PAGE_SIZE);
    const slotless = this.#slotlessCount(first, end);
    if (!this.#admit(end - first - this.#usedIn(first, end)) || !this.#reserve(slotless)) {
      throw new SandboxError(
        "unsupported",
        `mapping ${length} bytes at 0x${address.toString(16)} exceeds the interpreter's ` +
          `limit of ${MAX_STORE_BYTES / PAGE_SIZE} mapped pages`,
      );
    }
    for (let page = first; page < end; page++) this.#mapPage(page, access);
  }

  /**
   * Makes every unmapped page in `[firstPage, endPage)` read-write, leaving mapped pages as they
   * are; the pages get memory when first touched. Returns false, changing nothing, when the
   * new pages would pass `MAX_MAPPED_PAGES`; deciding that costs the same however large the
   * range.
   */
  growReadWrite(firstPage: number, endPage: number): boolean {
    if (firstPage >= endPage) return true;
    // More pages than fit at all cannot fit whatever is mapped already: refused unvisited.
    if (endPage - firstPage > MAX_MAPPED_PAGES) return false;
    if (!this.#admit(endPage - firstPage - this.#usedIn(firstPage, endPage))) return false;
    const lazy = this.#lazy ??= flagPool.pop() ?? new Uint8Array(PAGE_COUNT);
    const used = this.#used!;
    for (let page = firstPage; page < endPage; page++) {
      if (used[page] === 1) continue;
      lazy[page] = 1;
      this.#lazyCount++;
      this.#markUsed(page, 1);
    }
    return true;
  }

  /** Unmaps the pages covering the range; their contents are lost. */
  unmap(address: number, length: number): void {
    checkRange(address, length);
    this.#checkAligned(address);
    const end = Math.ceil((address + length) / PAGE_SIZE);
    for (let page = address >>> PAGE_SHIFT; page < end; page++) {
      this.#clearLazy(page);
      const slot = this.#slotOf.get(page);
      if (slot === undefined) continue;
      this.#freeSlots.push(slot);
      this.#slotOf.delete(page);
      this.#markUsed(page, -1);
      this.readBase[page] = 0;
      this.writeBase[page] = 0;
    }
  }

  /** Changes the access of already mapped pages covering the range. */
  protect(address: number, length: number, access: PageAccess): void {
    checkRange(address, length);
    this.#checkAligned(address);
    this.#checkAccess(access, true);
    const first = address >>> PAGE_SHIFT;
    const end = Math.ceil((address + length) / PAGE_SIZE);
    for (let page = first; page < end; page++) {
      if (!this.#slotOf.has(page) && !this.#isLazy(page)) {
        throw new SandboxError(
          "invalid-argument",
          `cannot protect page 0x${(page * PAGE_SIZE).toString(16)}: it is not mapped`,
        );
      }
    }
    for (let page = first; page < end; page++) this.#materialize(page);
    for (let page = first; page < end; page++) this.#setAccess(page, access);
  }

  /** The access of the page holding `address`. */
  accessAt(address: number): PageAccess {
    checkRange(address, 0);
    const page = address >>> PAGE_SHIFT;
    if (this.writeBase[page] !== 0 || this.#isLazy(page)) return "read-write";
    return this.readBase[page] !== 0 ? "read" : "none";
  }

  /** Base addresses of every mapped page, ascending (whatever its access). */
  mappedPages(): number[] {
    const pages = [...this.#slotOf.keys()];
    if (this.#lazyCount > 0) this.#lazy!.forEach((flag, page) => flag === 1 && pages.push(page));
    return pages.sort((a, b) => a - b).map((page) => page * PAGE_SIZE);
  }

  /**
   * Loads `size` bytes (1, 2, 4 or 8) little-endian at `address`, wrapping at 2^32, into
   * `scratch` (low half, high half; unused high bytes are 0). Returns -1, or the lowest
   * inaccessible address touched (then nothing is loaded).
   */
  loadSlow(address: number, size: number): number {
    if (this.#lazyCount > 0) this.#materializeAccess(address, size);
    const fault = this.#firstDenied(this.readBase, address, size);
    if (fault >= 0) return fault;
    let low = 0, high = 0;
    for (let k = 0; k < size; k++) {
      const a = (address + k) >>> 0;
      const byte = this.bytes[this.readBase[a >>> PAGE_SHIFT] + (a & PAGE_MASK)];
      if (k < 4) low |= byte << (8 * k);
      else high |= byte << (8 * (k - 4));
    }
    this.scratch[0] = low;
    this.scratch[1] = high;
    return -1;
  }

  /**
   * Stores the low `size` bytes of the value `low`/`high` at `address`, wrapping at 2^32.
   * Returns -1, or the lowest non-writable address touched (then nothing is written).
   */
  storeSlow(address: number, size: number, low: number, high: number): number {
    if (this.#lazyCount > 0) this.#materializeAccess(address, size);
    const fault = this.#firstDenied(this.writeBase, address, size);
    if (fault >= 0) return fault;
    for (let k = 0; k < size; k++) {
      const a = (address + k) >>> 0;
      const byte = k < 4 ? low >>> (8 * k) : high >>> (8 * (k - 4));
      this.bytes[this.writeBase[a >>> PAGE_SHIFT] + (a & PAGE_MASK)] = byte;
    }
    return -1;
  }

  /** Frees the store; its page tables, cleared, go back to a pool for new instances. */
  dispose(): void {
    if (this.readBase !== UNMAPPED_TABLE) {
      for (const page of this.#slotOf.keys()) {
        this.readBase[page] = 0;
        this.writeBase[page] = 0;
      }
      if (tablePool.length < TABLE_POOL_SIZE) tablePool.push(this.readBase, this.writeBase);
    }
    if (this.bytes !== GUARD_STORE && this.bytes.length <= MAX_POOLED_STORE_BYTES) {
      if (storePool.length >= STORE_POOL_SIZE) storePool.shift();
      storePool.push(this.bytes);
    }
    // The per-page flags go back to their pool cleared: only slot pages and lazy ones are set.
    if (this.#lazyCount > 0) {
      this.#lazy!.fill(0);
      this.#used!.fill(0);
    } else if (this.#used !== undefined) {
      for (const page of this.#slotOf.keys()) this.#used[page] = 0;
    }
    if (this.#lazy !== undefined && flagPool.length < TABLE_POOL_SIZE) flagPool.push(this.#lazy);
    if (this.#used !== undefined && flagPool.length < TABLE_POOL_SIZE) flagPool.push(this.#used);
    this.readBase = UNMAPPED_TABLE;
    this.writeBase = UNMAPPED_TABLE;
    this.#slotOf.clear();
    this.#freeSlots.length = 0;
    this.#usedSlots = 1;
    this.#lazy = undefined;
    this.#lazyCount = 0;
    this.#used = undefined;
    this.#usedPerChunk = undefined;
    this.bytes = GUARD_STORE;
    this.view = GUARD_VIEW;
  }

  /** Lowest address among `size` bytes from `address` (mod 2^32) whose page is denied, or -1. */
  #firstDenied(table: Int32Array, address: number, size: number): number {
    let lowest = -1;
    for (let k = 0; k < size; k++) {
      const a = (address + k) >>> 0;
      if (table[a >>> PAGE_SHIFT] === 0 && (lowest < 0 || a < lowest)) lowest = a;
    }
    return lowest;
  }

  /** Pages in `[firstPage, endPage)` without a slot (unmapped or lazy). */
  #slotlessCount(firstPage: number, endPage: number): number {
    let count = 0;
    for (let page = firstPage; page < endPage; page++) if (!this.#slotOf.has(page)) count++;
    return count;
  }

  /**
   * Pages in `[firstPage, endPage)` that hold a slot or are lazy, from per-chunk counts: at most
   * two partial chunks are scanned page by page, so the cost is bounded whatever the range.
   */
  #usedIn(firstPage: number, endPage: number): number {
    if (this.#used === undefined) {
      this.#used = flagPool.pop() ?? new Uint8Array(PAGE_COUNT);
      this.#usedPerChunk = new Uint16Array(PAGE_COUNT >> CHUNK_SHIFT);
    }
    const used = this.#used, perChunk = this.#usedPerChunk!;
    let count = 0, page = firstPage;
    for (; page < endPage && (page & CHUNK_MASK) !== 0; page++) count += used[page];
    for (; page + CHUNK_PAGES <= endPage; page += CHUNK_PAGES) {
      count += perChunk[page >> CHUNK_SHIFT];
    }
    for (; page < endPage; page++) count += used[page];
    return count;
  }

  /** Counts `page` as used (`delta` 1) or no longer used (-1). */
  #markUsed(page: number, delta: 1 | -1): void {
    if (this.#used === undefined) this.#usedIn(0, 0);
    this.#used![page] += delta;
    this.#usedPerChunk![page >> CHUNK_SHIFT] += delta;
  }

  /** True when `pages` more pages still fit the pages one memory may hold. */
  #admit(pages: number): boolean {
    return this.#slotOf.size + this.#lazyCount + pages <= MAX_MAPPED_PAGES;
  }

  #isLazy(page: number): boolean {
    return this.#lazyCount > 0 && this.#lazy![page] === 1;
  }

  #clearLazy(page: number): void {
    if (!this.#isLazy(page)) return;
    this.#lazy![page] = 0;
    this.#lazyCount--;
    this.#markUsed(page, -1);
  }

  /** Gives a lazily added heap page its zero-filled slot, read-write. */
  #materialize(page: number): void {
    if (!this.#isLazy(page)) return;
    this.#clearLazy(page); // its place in the page limit passes to the slot
    this.#reserve(1); // fits: the page was admitted when `sbrk` added it
    this.#mapPage(page, "read-write");
  }

  /** Materializes the lazy pages an access of `size` bytes at `address` (mod 2^32) touches. */
  #materializeAccess(address: number, size: number): void {
    this.#materialize(address >>> PAGE_SHIFT);
    this.#materialize(((address + size - 1) >>> 0) >>> PAGE_SHIFT);
  }

  /** Ensures `pages` more slots can be handed out; false when that exceeds the store limit. */
  #reserve(pages: number): boolean {
    const available = this.#freeSlots.length + this.bytes.length / PAGE_SIZE - this.#usedSlots;
    if (pages <= available) return true;
    const neededBytes = (this.#usedSlots + pages - this.#freeSlots.length) * PAGE_SIZE;
    if (neededBytes > MAX_STORE_BYTES) return false;
    // Grow to exactly what is needed the first time, then at least double (amortized copies).
    const size = this.bytes === GUARD_STORE
      ? neededBytes
      : Math.max(neededBytes, 2 * this.bytes.length);
    const grown = takeStore(Math.min(size, MAX_STORE_BYTES));
    grown.set(this.bytes);
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
    return true;
  }

  #mapPage(page: number, access: Exclude<PageAccess, "none">): void {
    this.#clearLazy(page);
    if (this.readBase === UNMAPPED_TABLE) {
      this.readBase = takeTable();
      this.writeBase = takeTable();
    }
    let slot = this.#slotOf.get(page);
    if (slot === undefined) {
      slot = this.#freeSlots.pop() ?? this.#usedSlots++ * PAGE_SIZE;
      this.#slotOf.set(page, slot);
      this.#markUsed(page, 1);
    }
    this.bytes.fill(0, slot, slot + PAGE_SIZE);
    this.#setAccess(page, access);
  }

  #setAccess(page: number, access: PageAccess): void {
    const slot = this.#slotOf.get(page) ?? 0;
    this.readBase[page] = access === "none" ? 0 : slot;
    this.writeBase[page] = access === "read-write" ? slot : 0;
  }

  #checkAligned(address: number): void {
    if (address % PAGE_SIZE !== 0) {
      throw new SandboxError(
        "invalid-argument",
        `address 0x${address.toString(16)} is not page aligned (a multiple of ${PAGE_SIZE})`,
      );
    }
  }

  #checkAccess(access: string, allowNone: boolean): void {
    const ok = access === "read" || access === "read-write" || (allowNone && access === "none");
    if (!ok) {
      throw new SandboxError(
        "invalid-argument",
        `access '${access}' is not one of ${allowNone ? "'none', " : ""}'read', 'read-write'`,
      );
    }
  }
}
