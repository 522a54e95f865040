/**
 * Guest memory of a zygote as the host sees it. The bytes live in a memfd shared with the
 * zygote; the host reads and writes them zero-copy through a typed array when `--allow-ffi` is
 * unscoped, and through native copy calls when it is scoped. Read-only images live in a second
 * memfd that only the zygote maps; their bytes are read here from the `MemoryImage` itself. Page
 * access is tracked here (the host is the authority) and mirrored into the zygote through queued
 * memory operations.
 * @module
 */
import {
  ADDRESS_SPACE_SIZE,
  type GuestMemory,
  MAX_MAPPED_PAGES,
  PAGE_SIZE,
  type PageAccess,
  SandboxError,
} from "../../pvm/mod.ts";
import type { NativeLibrary } from "../../../ffi/library.ts";
import { ABI } from "../../../ffi/vmctx.ts";

const UNMAPPED = 0;
const MAPPED_NONE = 1;
const READ = 2;
const READ_WRITE = 3;
/** Pages backed by a read-only memory image (immutable for guest and host alike). */
const IMAGE_READ = 4;
const IMAGE_NONE = 5;
const PAGE_COUNT = ADDRESS_SPACE_SIZE / PAGE_SIZE;
const EMPTY = new Uint8Array(0);
/**
 * Most page ranges mapped since a reset that `resetPages` forgets one by one; beyond this it
 * clears everything between the lowest and highest page ever mapped (up to 1 MiB of codes).
 */
const MAX_TRACKED_RANGES = 32;

function nativeAccess(access: PageAccess): number {
  return access === "read-write"
    ? ABI.ACCESS_READ_WRITE
    : access === "read"
    ? ABI.ACCESS_READ
    : ABI.ACCESS_NONE;
}

function pageCode(access: PageAccess): number {
  return access === "read-write" ? READ_WRITE : access === "read" ? READ : MAPPED_NONE;
}

/** One segment of a `MemoryImage`. */
export interface ImageSegment {
  /** Page-aligned guest address. */
  readonly address: number;
  /** Initial contents; the rest of `length` is zero. */
  readonly bytes: Uint8Array;
  /** Length in bytes (default `bytes.length`), rounded up to whole pages. */
  readonly length?: number;
  /**
   * "read": shared from the zygote's image memfd, immutable, kept across resets so applying the
   * same image again costs no copy. "read-write": copied into guest memory on every apply.
   */
  readonly access: "read" | "read-write";
}

let nextImageId = 1;

/** An immutable initial memory layout (e.g. a program's data segments) to apply to sandboxes. */
export class MemoryImage {
  /** Identity used to recognise an image already present in a zygote. */
  readonly id: number;
  /** The segments, with private copies of their bytes and explicit lengths. */
  readonly segments: readonly Required<ImageSegment>[];

  /** Validates and copies `segments`. */
  constructor(segments: readonly ImageSegment[]) {
    this.segments = segments.map((segment) => {
      const length = segment.length ?? segment.bytes.length;
      const { address } = segment;
      if (
        !Number.isInteger(address) || address % PAGE_SIZE !== 0 || address < ABI.GUEST_START ||
        !Number.isInteger(length) || length < segment.bytes.length || length <= 0 ||
        address + length > ABI.GUEST_END
      ) {
        throw new SandboxError(
          "invalid-argument",
          `image segment 0x${address.toString(16)}+${length} must be page-aligned, non-empty and ` +
            "inside guest memory, and at least as long as its bytes",
        );
      }
      return { address, length, access: segment.access, bytes: segment.bytes.slice() };
    });
    this.id = nextImageId++;
  }
}

/** `GuestMemory` of one zygote. Created by `Zygote`; not constructed directly. */
export class NativeMemory implements GuestMemory {
  readonly #library: NativeLibrary;
  readonly #handle: number;
  readonly #timeoutNs: () => bigint;
  readonly #onFailure: (code: number) => never;
  readonly #guard: () => void;
  readonly #pages = new Uint8Array(PAGE_COUNT);
  /** Pages mapped (whatever their access), capped at MAX_MAPPED_PAGES like every backend. */
  #mappedPages = 0;
  #lowPage = PAGE_COUNT;
  #highPage = 0;
  /** Pages mapped since the reset as [first, end) pairs, or undefined past MAX_TRACKED_RANGES. */
  #mappedRanges: number[] | undefined = [];
  #buffer: ArrayBuffer | undefined;
  #view: Uint8Array | undefined;
  #image: MemoryImage | undefined;

  /**
   * @internal Wraps the memory of `handle`; `zeroCopy` maps a view over it; `guard` throws
   * when the zygote cannot be used (disposed, broken, busy with an asynchronous run).
   */
  constructor(
    library: NativeLibrary,
    handle: number,
    zeroCopy: boolean,
    timeoutNs: () => bigint,
    onFailure: (code: number) => never,
    guard: () => void,
  ) {
    this.#library = library;
    this.#handle = handle;
    this.#timeoutNs = timeoutNs;
    this.#onFailure = onFailure;
    this.#guard = guard;
    if (zeroCopy) {
      const pointer = library.symbols.pvmbox_memory_address(handle);
      if (pointer !== null) {
        this.#buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, ADDRESS_SPACE_SIZE);
        this.#view = new Uint8Array(this.#buffer);
      }
    }
  }

  /** True when reads and writes go through a typed array over the shared mapping. */
  get zeroCopy(): boolean {
    return this.#view !== undefined;
  }

  /**
   * A live view of mapped guest bytes (no copy), or throws `SandboxError` ("unsupported") when
   * `--allow-ffi` is scoped. The view stays safe to use until the zygote is disposed (then it is
   * detached), but it only mirrors the guest while those pages stay mapped as they were.
   */
  view(address: number, length: number): Uint8Array {
    this.#checkRange(address, length);
    if (this.#view === undefined) {
      throw new SandboxError(
        "unsupported",
        "zero-copy views need unscoped --allow-ffi; use read() and write()",
      );
    }
    // Writes through a view must reach the guest: image pages get a private copy first.
    this.#checkPages(address, length, (code) => code !== UNMAPPED, "mapped");
    this.#privatize(address, length);
    return this.#view.subarray(address, address + length);
  }

  /** Copies `length` bytes from `address`; throws if any byte is not readable. */
  read(address: number, length: number): Uint8Array {
    this.#checkRange(address, length);
    this.#checkPages(address, length, (code) => code >= READ && code !== IMAGE_NONE, "readable");
    return this.#readRaw(address, length);
  }

  /** The bytes the guest sees at [address, address + length): image pages from the image. */
  #readRaw(address: number, length: number): Uint8Array {
    const out = this.#readMemory(address, length);
    const pages = this.#pages;
    const last = Math.floor((address + length - 1) / PAGE_SIZE);
    for (let page = Math.floor(address / PAGE_SIZE); page <= last; page++) {
      if (pages[page] < IMAGE_READ) continue;
      const start = Math.max(address, page * PAGE_SIZE);
      const end = Math.min(address + length, (page + 1) * PAGE_SIZE);
      this.#readImage(start, out.subarray(start - address, end - address));
    }
    return out;
  }

  /** Guest memory bytes (the memory memfd; under image pages, not what the guest sees). */
  #readMemory(address: number, length: number): Uint8Array {
    if (this.#view !== undefined) return this.#view.slice(address, address + length);
    const out = new Uint8Array(length);
    this.#check(
      this.#library.symbols.pvmbox_memory_read(this.#handle, BigInt(address), out, BigInt(length)),
    );
    return out;
  }

  /**
   * Fills `out` with the image memfd's bytes at `address`: the current image's segments, zero
   * elsewhere (an image replaced by another is zeroed there).
   */
  #readImage(address: number, out: Uint8Array): void {
    out.fill(0);
    const end = address + out.length;
    for (const segment of this.#image?.segments ?? []) {
      if (segment.access !== "read") continue;
      const from = Math.max(address, segment.address);
      const to = Math.min(end, segment.address + segment.bytes.length);
      if (from < to) {
        out.set(
          segment.bytes.subarray(from - segment.address, to - segment.address),
          from - address,
        );
      }
    }
  }

  /** Copies `bytes` to `address` whatever the page protection; the pages must be mapped. */
  write(address: number, bytes: Uint8Array): void {
    this.#checkRange(address, bytes.length);
    this.#checkPages(address, bytes.length, (code) => code !== UNMAPPED, "mapped");
    this.#privatize(address, bytes.length);
    this.#writeRaw(address, bytes);
  }

  #writeRaw(address: number, bytes: Uint8Array): void {
    if (this.#view !== undefined) this.#view.set(bytes, address);
    else {
      this.#check(
        this.#library.symbols.pvmbox_memory_write(
          this.#handle,
          BigInt(address),
          bytes,
          BigInt(bytes.length),
        ),
      );
    }
  }

  /** Maps the pages covering the range, zero-filled, with `access`. */
  map(address: number, length: number, access: Exclude<PageAccess, "none">): void {
    const [first, count] = this.#pageRange(address, length);
    if (!this.#fits(first, count)) {
      throw new SandboxError(
        "unsupported",
        `mapping ${length} bytes at 0x${address.toString(16)} exceeds the limit of ` +
          `${MAX_MAPPED_PAGES} mapped pages`,
      );
    }
    this.#queue(ABI.MEMOP_MAP, first, count, nativeAccess(access));
    this.#setPages(first, count, pageCode(access));
  }

  /** Whether mapping `count` pages from `first` keeps the mapped pages within the limit. */
  #fits(first: number, count: number): boolean {
    if (this.#mappedPages + count <= MAX_MAPPED_PAGES) return true;
    let added = 0;
    for (let page = first; page < first + count; page++) {
      if (this.#pages[page] === UNMAPPED) added++;
    }
    return this.#mappedPages + added <= MAX_MAPPED_PAGES;
  }

  /** Gives pages `[first, first + count)` `code`, keeping the count of mapped pages. */
  #setPages(first: number, count: number, code: number): void {
    const pages = this.#pages;
    let delta = 0;
    for (let page = first; page < first + count; page++) {
      delta += (code !== UNMAPPED ? 1 : 0) - (pages[page] !== UNMAPPED ? 1 : 0);
    }
    this.#mappedPages += delta;
    pages.fill(code, first, first + count);
    if (code !== UNMAPPED) {
      this.#lowPage = Math.min(this.#lowPage, first);
      this.#highPage = Math.max(this.#highPage, first + count);
      this.#trackMapped(first, first + count);
    }
  }

  /** Notes [first, end) as mapped since the reset, joined to the last range when they touch. */
  #trackMapped(first: number, end: number): void {
    const ranges = this.#mappedRanges;
    if (ranges === undefined) return;
    const last = ranges.length - 2;
    if (last >= 0 && first <= ranges[last + 1] && end >= ranges[last]) {
      ranges[last] = Math.min(ranges[last], first);
      ranges[last + 1] = Math.max(ranges[last + 1], end);
    } else if (ranges.length < 2 * MAX_TRACKED_RANGES) ranges.push(first, end);
    else this.#mappedRanges = undefined;
  }

  /**
   * Maps every unmapped page in `[firstPage, endPage)` read-write (the heap growth of `sbrk`),
   * leaving mapped pages as they are; false, changing nothing, when the range leaves guest memory.
   */
  growReadWrite(firstPage: number, endPage: number): boolean {
    if (firstPage >= endPage) return true;
    if (firstPage * PAGE_SIZE < ABI.GUEST_START || endPage * PAGE_SIZE > ABI.GUEST_END) {
      return false;
    }
    if (!this.#fits(firstPage, endPage - firstPage)) return false;
    const pages = this.#pages;
    let page = firstPage;
    while (page < endPage) {
      if (pages[page] !== UNMAPPED) {
        page++;
        continue;
      }
      let end = page + 1;
      while (end < endPage && pages[end] === UNMAPPED) end++;
      this.#queue(ABI.MEMOP_MAP, page, end - page, ABI.ACCESS_READ_WRITE);
      this.#setPages(page, end - page, READ_WRITE);
      page = end;
    }
    return true;
  }

  /** Unmaps the pages covering the range; their contents are lost. */
  unmap(address: number, length: number): void {
    const [first, count] = this.#pageRange(address, length);
    this.#queue(ABI.MEMOP_UNMAP, first, count, ABI.ACCESS_NONE);
    this.#setPages(first, count, UNMAPPED);
  }

  /**
   * Changes the access of mapped pages covering the range. Image pages stay shared for "read"
   * and "none"; making them writable, or mixing them with ordinary pages, gives them a private
   * copy first.
   */
  protect(address: number, length: number, access: PageAccess): void {
    const [first, count] = this.#pageRange(address, length);
    const codes = this.#pages.subarray(first, first + count);
    const unmapped = codes.indexOf(UNMAPPED);
    if (unmapped >= 0) {
      const at = ((first + unmapped) * PAGE_SIZE).toString(16);
      throw new SandboxError("invalid-argument", `page 0x${at} is not mapped`);
    }
    const image = codes[0] >= IMAGE_READ;
    if (access === "read-write" || codes.some((code) => (code >= IMAGE_READ) !== image)) {
      this.#privatize(address, length);
    }
    this.#queue(ABI.MEMOP_PROTECT, first, count, nativeAccess(access));
    const shared = codes[0] >= IMAGE_READ;
    codes.fill(shared ? (access === "read" ? IMAGE_READ : IMAGE_NONE) : pageCode(access));
  }

  /**
   * Replaces the image pages covering the range by ordinary guest pages with the same contents
   * and access, so the host can change them without touching the shared image.
   */
  #privatize(address: number, length: number): void {
    if (length === 0) return;
    const pages = this.#pages;
    const end = Math.ceil((address + length) / PAGE_SIZE);
    let page = Math.floor(address / PAGE_SIZE);
    while (page < end) {
      const code = pages[page];
      if (code < IMAGE_READ) {
        page++;
        continue;
      }
      let stop = page + 1;
      while (stop < end && pages[stop] === code) stop++;
      const start = page * PAGE_SIZE, size = (stop - page) * PAGE_SIZE;
      const contents = this.#readRaw(start, size);
      this.#queue(ABI.MEMOP_MAP, page, stop - page, ABI.ACCESS_READ);
      this.#writeRaw(start, contents);
      if (code === IMAGE_NONE) this.#queue(ABI.MEMOP_PROTECT, page, stop - page, ABI.ACCESS_NONE);
      pages.fill(code === IMAGE_READ ? READ : MAPPED_NONE, page, stop);
      page = stop;
    }
  }

  /** The access of the page holding `address`. */
  accessAt(address: number): PageAccess {
    const code = this.#pages[Math.floor(address / PAGE_SIZE)];
    return code === READ_WRITE
      ? "read-write"
      : code === READ || code === IMAGE_READ
      ? "read"
      : "none";
  }

  /**
   * Maps every segment of `image`. Read-only segments come from the zygote's image memfd and
   * are written there only the first time this image meets this zygote; read-write segments are
   * copied into guest memory each time.
   */
  applyImage(image: MemoryImage): void {
    this.#guard();
    if (this.#image?.id !== image.id) {
      // The image memfd keeps whatever was written to it: an earlier program's read-only data
      // must not stay there for anyone to map.
      const stale = this.#image;
      this.#image = undefined;
      for (const segment of stale?.segments ?? []) {
        if (segment.access === "read") this.#writeImage(segment.address, EMPTY, segment.length);
      }
      for (const segment of image.segments) {
        if (segment.access === "read") {
          this.#writeImage(segment.address, segment.bytes, segment.length);
        }
      }
      this.#image = image;
    }
    for (const segment of image.segments) {
      if (segment.access === "read") {
        const [first, count] = this.#pageRange(segment.address, segment.length);
        this.#queue(ABI.MEMOP_MAP_IMAGE, first, count, ABI.ACCESS_READ);
        this.#setPages(first, count, IMAGE_READ);
      } else {
        this.map(segment.address, segment.length, "read-write");
        this.write(segment.address, segment.bytes);
      }
    }
  }

  /** Writes `bytes` at `address` of the image memfd, zero up to `length` (whole pages). */
  #writeImage(address: number, bytes: Uint8Array, length: number): void {
    const total = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    this.#check(
      this.#library.symbols.pvmbox_image_write(
        this.#handle,
        BigInt(address),
        bytes,
        BigInt(bytes.length),
        BigInt(total),
      ),
    );
  }

  /** @internal Forgets all pages (the native side discarded them). */
  resetPages(): void {
    const ranges = this.#mappedRanges;
    // Clearing only what was mapped: the span of a standard layout (data low, stack high) is
    // nearly the whole table.
    if (ranges !== undefined) {
      for (let i = 0; i < ranges.length; i += 2) {
        this.#pages.fill(UNMAPPED, ranges[i], ranges[i + 1]);
      }
    } else if (this.#highPage > this.#lowPage) {
      this.#pages.fill(UNMAPPED, this.#lowPage, this.#highPage);
    }
    this.#mappedPages = 0;
    this.#lowPage = PAGE_COUNT;
    this.#highPage = 0;
    this.#mappedRanges = [];
  }

  /** @internal A function that detaches the view without keeping this object alive. */
  detacher(): () => void {
    const buffer = this.#buffer;
    return () => {
      if (buffer !== undefined && !buffer.detached) buffer.transfer(0);
    };
  }

  /** @internal Detaches the view so nothing can touch the mapping after it is unmapped. */
  detach(): void {
    this.#view = undefined;
    this.#buffer?.transfer(0);
    this.#buffer = undefined;
  }

  #queue(kind: number, firstPage: number, pageCount: number, access: number): void {
    const result = this.#library.symbols.pvmbox_memory_op(
      this.#handle,
      kind,
      BigInt(firstPage * PAGE_SIZE),
      BigInt(pageCount * PAGE_SIZE),
      access,
      this.#timeoutNs(),
    );
    if (result < 0) this.#onFailure(result);
    if (result > 0) {
      throw new SandboxError("invalid-argument", `memory operation failed (errno ${result})`);
    }
  }

  #check(errno: number): void {
    if (errno === 9) throw new SandboxError("disposed", "the sandbox has been disposed");
    if (errno !== 0) {
      throw new SandboxError("invalid-argument", `memory access failed (errno ${errno})`);
    }
  }

  #checkRange(address: number, length: number): void {
    this.#guard();
    if (
      !Number.isInteger(address) || !Number.isInteger(length) || address < 0 || length < 0 ||
      address + length > ADDRESS_SPACE_SIZE
    ) {
      throw new SandboxError(
        "invalid-argument",
        `range 0x${address.toString(16)}+${length} is outside the 32-bit guest address space`,
      );
    }
  }

  #checkPages(address: number, length: number, ok: (code: number) => boolean, what: string): void {
    if (length === 0) return;
    const last = Math.floor((address + length - 1) / PAGE_SIZE);
    for (let page = Math.floor(address / PAGE_SIZE); page <= last; page++) {
      if (!ok(this.#pages[page])) {
        const at = Math.max(address, page * PAGE_SIZE);
        throw new SandboxError(
          "invalid-argument",
          `guest address 0x${at.toString(16)} is not ${what}`,
        );
      }
    }
  }

  /** Whole pages covering the range, which must lie inside guest memory. */
  #pageRange(address: number, length: number): [number, number] {
    this.#checkRange(address, length);
    const first = Math.floor(address / PAGE_SIZE);
    const end = Math.ceil((address + length) / PAGE_SIZE);
    if (length === 0 || first * PAGE_SIZE < ABI.GUEST_START || end * PAGE_SIZE > ABI.GUEST_END) {
      throw new SandboxError(
        "invalid-argument",
        `range 0x${address.toString(16)}+${length} is outside guest memory ` +
          `(0x${ABI.GUEST_START.toString(16)}..0x${ABI.GUEST_END.toString(16)})`,
      );
    }
    return [first, end - first];
  }
}
