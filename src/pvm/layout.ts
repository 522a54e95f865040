/**
 * JAM standard initialization: where a standard program's data, heap, stack and argument land in
 * guest memory, and the registers a program starts with (Gray Paper, appendix A.7).
 * @module
 */
import type { GuestMemory } from "./contract.ts";
import { SandboxError } from "./errors.ts";
import { ADDRESS_SPACE_SIZE, HALT_ADDRESS, PAGE_SIZE, REGISTER_COUNT } from "./machine.ts";

/** The memory a standard program asks for (its header): data sections, heap and stack sizes. */
export interface ProgramMemory {
  /** Read-only data o. */
  readonly roData: Uint8Array;
  /** Read-write data w. */
  readonly rwData: Uint8Array;
  /** z: zeroed heap pages after the read-write data. */
  readonly heapPages: number;
  /** s: stack size in bytes. */
  readonly stackSize: number;
}

/** Size of a memory zone: data sections are placed on 64 KiB boundaries. */
export const ZONE_SIZE = 0x10000;
/** Most argument bytes a standard-initialized program accepts (2^24). */
export const MAX_ARGS_LENGTH = 1 << 24;
/** Where read-only data starts. */
export const RO_DATA_START = 0x10000;
/** One past the top of the stack; φ1 starts here. */
export const STACK_TOP = 0xfefe0000;
/** Where the argument buffer starts; φ7 starts here. */
export const ARGS_START = 0xfeff0000;

/** One mapped region of the standard layout. */
export interface MemoryRegion {
  /** What the region holds. */
  readonly name: "ro-data" | "rw-data" | "stack" | "args";
  /** First address (page aligned). */
  readonly address: number;
  /** Length in bytes (whole pages; may be 0). */
  readonly length: number;
  /** Access granted to the guest. */
  readonly access: "read" | "read-write";
  /** Initial contents placed at `address` (the rest is zero). */
  readonly contents: Uint8Array;
}

/** The complete standard layout: regions, the initial heap top and the initial registers. */
export interface StandardLayout {
  /** Mapped regions in address order. */
  readonly regions: readonly MemoryRegion[];
  /** Initial `sbrk` heap top: right after the read-write data and its heap pages. */
  readonly heapTop: number;
  /** Initial values of φ0…φ12. */
  readonly registers: readonly bigint[];
}

/** Rounds up to a whole page. */
export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** Rounds up to a whole 64 KiB zone. */
export function zoneAlign(n: number): number {
  return Math.ceil(n / ZONE_SIZE) * ZONE_SIZE;
}

/** Where read-write data starts for read-only data of `roLength` bytes. */
export function rwDataStart(roLength: number): number {
  return 2 * ZONE_SIZE + zoneAlign(roLength);
}

/**
 * Computes the standard layout for `memory` and argument `args`. Throws `SandboxError`
 * (`invalid-argument`) when the argument exceeds 2^24 bytes or the sections do not fit in the
 * 4 GiB address space as the Gray Paper requires.
 */
export function standardLayout(memory: ProgramMemory, args: Uint8Array): StandardLayout {
  if (args.length > MAX_ARGS_LENGTH) {
    throw new SandboxError(
      "invalid-argument",
      `the argument is ${args.length} bytes; standard initialization allows at most ` +
        `${MAX_ARGS_LENGTH} (2^24)`,
    );
  }
  const { roData, rwData, heapPages, stackSize } = memory;
  const rwLength = pageAlign(rwData.length) + heapPages * PAGE_SIZE;
  // GP A.7: 5·Z_Z + Z(|o|) + Z(|w| + z·Z_P) + Z(s) + Z_I ≤ 2^32, with Z_I = 2^24.
  const total = 5 * ZONE_SIZE + zoneAlign(roData.length) + zoneAlign(rwLength) +
    zoneAlign(stackSize) + MAX_ARGS_LENGTH;
  if (total > ADDRESS_SPACE_SIZE) {
    throw new SandboxError(
      "invalid-argument",
      `the program's memory (${roData.length} B read-only, ${rwLength} B read-write and heap, ` +
        `${stackSize} B stack) does not fit the 4 GiB standard layout`,
    );
  }
  const rwStart = rwDataStart(roData.length);
  const stackLength = pageAlign(stackSize);
  const registers = new Array<bigint>(REGISTER_COUNT).fill(0n);
  registers[0] = BigInt(HALT_ADDRESS);
  registers[1] = BigInt(STACK_TOP);
  registers[7] = BigInt(ARGS_START);
  registers[8] = BigInt(args.length);
  return {
    regions: [
      {
        name: "ro-data",
        address: RO_DATA_START,
        length: pageAlign(roData.length),
        access: "read",
        contents: roData,
      },
      {
        name: "rw-data",
        address: rwStart,
        length: rwLength,
        access: "read-write",
        contents: rwData,
      },
      {
        name: "stack",
        address: STACK_TOP - stackLength,
        length: stackLength,
        access: "read-write",
        contents: new Uint8Array(0),
      },
      {
        name: "args",
        address: ARGS_START,
        length: pageAlign(args.length),
        access: "read",
        contents: args,
      },
    ],
    heapTop: rwStart + rwLength,
    registers,
  };
}

/** Maps and fills the regions of `layout` in `memory` (which must start fully inaccessible). */
export function applyLayout(memory: GuestMemory, layout: StandardLayout): void {
  for (const region of layout.regions) {
    if (region.length === 0) continue;
    memory.map(region.address, region.length, region.access);
    if (region.contents.length > 0) memory.write(region.address, region.contents);
  }
}
