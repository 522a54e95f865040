/**
 * The constants of the PVM machine itself, independent of any program or backend.
 * @module
 */

/** Size of a guest page in bytes. */
export const PAGE_SIZE = 4096;

/** Number of PVM registers. */
export const REGISTER_COUNT = 13;

/** Bytes of the 32-bit guest address space (2^32). */
export const ADDRESS_SPACE_SIZE = 2 ** 32;

/** A dynamic jump to this address halts the program (φ0 of a standard program starts here). */
export const HALT_ADDRESS = 0xffff0000;

/**
 * Accesses below this address panic instead of raising a resumable page fault; it is also where
 * mappable guest memory starts.
 */
export const LOWEST_FAULT_ADDRESS = 0x10000;

/**
 * End of mappable guest memory: the last 64 KiB of the address space (where the halt address
 * lies) is never mapped, by the host or by `sbrk`.
 */
export const GUEST_MEMORY_END = 0xffff0000;

/**
 * Most pages mapped at once in one instance (2 GiB less two pages, the interpreter's store limit);
 * mapping more fails, and `sbrk` past it returns 0, on every backend alike.
 */
export const MAX_MAPPED_PAGES: number = 2 ** 19 - 2;
