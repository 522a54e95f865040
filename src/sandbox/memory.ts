/**
 * The guest memory a `Sandbox` hands out: the backend's memory behind argument checks, so a bad
 * address, length or access name fails with a `SandboxError` that says what was wrong.
 * @module
 */
import {
  ADDRESS_SPACE_SIZE,
  GUEST_MEMORY_END,
  type GuestMemory,
  LOWEST_FAULT_ADDRESS,
  PAGE_SIZE,
  type PageAccess,
  SandboxError,
} from "../pvm/mod.ts";

const ACCESSES: readonly PageAccess[] = ["none", "read", "read-write"];

function checkAddress(address: number): void {
  if (!Number.isInteger(address) || address < 0 || address >= ADDRESS_SPACE_SIZE) {
    throw new SandboxError(
      "invalid-argument",
      `address ${address} is not a guest address (an integer in 0…0xFFFFFFFF)`,
    );
  }
}

function checkRange(address: number, length: number): void {
  checkAddress(address);
  if (!Number.isInteger(length) || length < 0) {
    throw new SandboxError("invalid-argument", `length ${length} is not a non-negative integer`);
  }
  if (address + length > ADDRESS_SPACE_SIZE) {
    throw new SandboxError(
      "invalid-argument",
      `range 0x${address.toString(16)} + ${length} runs past the 4 GiB address space`,
    );
  }
}

function checkAccess(access: string, allowNone: boolean): void {
  if (!ACCESSES.includes(access as PageAccess) || (!allowNone && access === "none")) {
    const allowed = allowNone ? ACCESSES : ACCESSES.slice(1);
    throw new SandboxError(
      "invalid-argument",
      `access '${access}' is not one of ${allowed.map((a) => `'${a}'`).join(", ")}`,
    );
  }
}

/** The first address of `[address, address + length)` on a page the guest cannot read. */
function firstUnreadable(memory: GuestMemory, address: number, length: number): number | undefined {
  for (let page = address - (address % PAGE_SIZE); page < address + length; page += PAGE_SIZE) {
    if (memory.accessAt(page) === "none") return Math.max(page, address);
  }
  return undefined;
}

/** Guest memory with every argument checked before it reaches the backend. */
export class SandboxMemory implements GuestMemory {
  readonly #inner: () => GuestMemory;

  /** Wraps the memory that `inner` returns (looked up on each call, so disposal is seen). */
  constructor(inner: () => GuestMemory) {
    this.#inner = inner;
  }

  /** Copies `length` bytes from `address`; throws `SandboxError` if any byte is inaccessible. */
  read(address: number, length: number): Uint8Array {
    checkRange(address, length);
    const memory = this.#inner();
    const denied = firstUnreadable(memory, address, length);
    if (denied !== undefined) {
      throw new SandboxError(
        "invalid-argument",
        `cannot read guest address 0x${denied.toString(16)}: its page is not readable`,
      );
    }
    return memory.read(address, length);
  }

  /** Like `read`, but returns `undefined` instead of throwing when a byte is inaccessible. */
  tryRead(address: number, length: number): Uint8Array | undefined {
    checkRange(address, length);
    const memory = this.#inner();
    if (firstUnreadable(memory, address, length) !== undefined) return undefined;
    return memory.read(address, length);
  }

  /** Copies `bytes` to `address` regardless of page protection; the pages must be mapped. */
  write(address: number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) {
      throw new SandboxError("invalid-argument", "bytes to write must be a Uint8Array");
    }
    checkRange(address, bytes.length);
    this.#inner().write(address, bytes);
  }

  /** Maps the whole pages covering `[address, address + length)` zero-filled with `access`. */
  map(address: number, length: number, access: "read" | "read-write"): void {
    checkRange(address, length);
    checkAccess(access, false);
    if (length > 0 && (address < LOWEST_FAULT_ADDRESS || address + length > GUEST_MEMORY_END)) {
      throw new SandboxError(
        "invalid-argument",
        `range 0x${address.toString(16)} + ${length} leaves mappable guest memory ` +
          `(0x${LOWEST_FAULT_ADDRESS.toString(16)}…0x${GUEST_MEMORY_END.toString(16)})`,
      );
    }
    this.#inner().map(address, length, access);
  }

  /** Unmaps the pages covering the range; their contents are lost. */
  unmap(address: number, length: number): void {
    checkRange(address, length);
    this.#inner().unmap(address, length);
  }

  /** Changes the access of already mapped pages covering the range. */
  protect(address: number, length: number, access: PageAccess): void {
    checkRange(address, length);
    checkAccess(access, true);
    this.#inner().protect(address, length, access);
  }

  /** The access of the page holding `address`. */
  accessAt(address: number): PageAccess {
    checkAddress(address);
    return this.#inner().accessAt(address);
  }
}
