/**
 * Guest memory of a zygote as the host sees it. The bytes live in a memfd shared with the
 * zygote; the host reads and writes them zero-copy through a typed array when `--allow-ffi` is
 * unscoped, and through native copy calls when it is scoped. Page access is tracked here (the
 * host is the authority) and mirrored into the zygote through queued memory operations.
 * @module
 */
import { type GuestMemory, PAGE_SIZE, type PageAccess } from "../backend.ts";
import { SandboxError } from "../errors.ts";
import type { NativeLibrary } from "../../../ffi/library.ts";
import { ABI } from "../../../ffi/vmctx.ts";

const UNMAPPED = 0;
const MAPPED_NONE = 1;
const READ = 2;
const READ_WRITE = 3;
const PAGE_COUNT = 2 ** 32 / PAGE_SIZE;
const GUEST_SPACE = 2 ** 32;

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

/** `GuestMemory` of one zygote. Created by `Zygote`; not constructed directly. */
export class NativeMemory implements GuestMemory {
  readonly #library: NativeLibrary;
  readonly #handle: number;
  readonly #timeoutNs: () => bigint;
  readonly #onFailure: (code: number) => never;
  readonly #pages = new Uint8Array(PAGE_COUNT);
  #lowPage = PAGE_COUNT;
  #highPage = 0;
  #buffer: ArrayBuffer | undefined;
  #view: Uint8Array | undefined;

  /** @internal Wraps the memory of `handle`; `zeroCopy` maps a view over it. */
  constructor(
    library: NativeLibrary,
    handle: number,
    zeroCopy: boolean,
    timeoutNs: () => bigint,
    onFailure: (code: number) => never,
  ) {
    this.#library = library;
    this.#handle = handle;
    this.#timeoutNs = timeoutNs;
    this.#onFailure = onFailure;
    if (zeroCopy) {
      const pointer = library.symbols.pvmbox_memory_address(handle);
      if (pointer !== null) {
        this.#buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, GUEST_SPACE);
        this.#view = new Uint8Array(this.#buffer);
      }
    }
  }

  /** True when reads and writes go through a typed array over the shared mapping. */
  get zeroCopy(): boolean {
    return this.#view !== undefined;
  }

  /**
   * A live view of guest bytes (no copy), or throws `SandboxError` ("unsupported") when
   * `--allow-ffi` is scoped. The view is valid until the zygote is disposed.
   */
  view(address: number, length: number): Uint8Array {
    this.#checkRange(address, length);
    if (this.#view === undefined) {
      throw new SandboxError(
        "unsupported",
        "zero-copy views need unscoped --allow-ffi; use read() and write()",
      );
    }
    return this.#view.subarray(address, address + length);
  }

  /** Copies `length` bytes from `address`; throws if any byte is not readable. */
  read(address: number, length: number): Uint8Array {
    this.#checkRange(address, length);
    this.#checkPages(address, length, (code) => code >= READ, "readable");
    if (this.#view !== undefined) return this.#view.slice(address, address + length);
    const out = new Uint8Array(length);
    this.#check(
      this.#library.symbols.pvmbox_memory_read(this.#handle, BigInt(address), out, BigInt(length)),
    );
    return out;
  }

  /** Copies `bytes` to `address` whatever the page protection; the pages must be mapped. */
  write(address: number, bytes: Uint8Array): void {
    this.#checkRange(address, bytes.length);
    this.#checkPages(address, bytes.length, (code) => code !== UNMAPPED, "mapped");
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
    this.#queue(ABI.MEMOP_MAP, first, count, nativeAccess(access));
    this.#pages.fill(pageCode(access), first, first + count);
    this.#lowPage = Math.min(this.#lowPage, first);
    this.#highPage = Math.max(this.#highPage, first + count);
  }

  /** Unmaps the pages covering the range; their contents are lost. */
  unmap(address: number, length: number): void {
    const [first, count] = this.#pageRange(address, length);
    this.#queue(ABI.MEMOP_UNMAP, first, count, ABI.ACCESS_NONE);
    this.#pages.fill(UNMAPPED, first, first + count);
  }

  /** Changes the access of mapped pages covering the range. */
  protect(address: number, length: number, access: PageAccess): void {
    const [first, count] = this.#pageRange(address, length);
    for (let page = first; page < first + count; page++) {
      if (this.#pages[page] === UNMAPPED) {
        throw new SandboxError(
          "invalid-argument",
          `page 0x${(page * PAGE_SIZE).toString(16)} is not mapped`,
        );
      }
    }
    this.#queue(ABI.MEMOP_PROTECT, first, count, nativeAccess(access));
    this.#pages.fill(pageCode(access), first, first + count);
  }

  /** The access of the page holding `address`. */
  accessAt(address: number): PageAccess {
    const code = this.#pages[Math.floor(address / PAGE_SIZE)];
    return code === READ_WRITE ? "read-write" : code === READ ? "read" : "none";
  }

  /** @internal Forgets all pages (the native side discarded them). */
  resetPages(): void {
    if (this.#highPage > this.#lowPage) this.#pages.fill(UNMAPPED, this.#lowPage, this.#highPage);
    this.#lowPage = PAGE_COUNT;
    this.#highPage = 0;
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
    if (
      !Number.isInteger(address) || !Number.isInteger(length) || address < 0 || length < 0 ||
      address + length > GUEST_SPACE
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
