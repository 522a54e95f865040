/**
 * The contract every execution backend (the interpreter, the native sandbox) fulfils, and the
 * exits they report. `Sandbox` is built on this; backends differ in speed, never in results.
 * @module
 */
import type { StandardLayout } from "./layout.ts";

/** Why `run()` returned. `pc` is always the pc of the instruction that ended execution. */
export type Exit =
  | { readonly kind: "halt"; readonly pc: number }
  | { readonly kind: "panic"; readonly pc: number }
  | { readonly kind: "out-of-gas"; readonly pc: number }
  | { readonly kind: "page-fault"; readonly pc: number; readonly address: number }
  | { readonly kind: "host-call"; readonly pc: number; readonly id: number };

/** The kinds of `Exit`. */
export type ExitKind = Exit["kind"];

/** Access rights of a guest page. */
export type PageAccess = "none" | "read" | "read-write";

/** Guest memory as the host sees it. Addresses are 32-bit; ranges may not wrap past 2^32. */
export interface GuestMemory {
  /** Copies `length` bytes from `address`; throws `SandboxError` if any byte is inaccessible. */
  read(address: number, length: number): Uint8Array;
  /** Copies `bytes` to `address` regardless of page protection; the pages must be mapped. */
  write(address: number, bytes: Uint8Array): void;
  /** Maps the whole pages covering `[address, address + length)` zero-filled with `access`. */
  map(address: number, length: number, access: Exclude<PageAccess, "none">): void;
  /** Unmaps the pages covering the range; their contents are lost. */
  unmap(address: number, length: number): void;
  /** Changes the access of already mapped pages covering the range. */
  protect(address: number, length: number, access: PageAccess): void;
  /** The access of the page holding `address`. */
  accessAt(address: number): PageAccess;
}

/** A running PVM instance: registers, gas, pc, memory and the `run` loop. */
export interface Backend extends Disposable {
  /** Backend name, e.g. `interpreter`. */
  readonly name: string;
  /** Guest memory. */
  readonly memory: GuestMemory;
  /** Reads register `index` (0..12) as an unsigned 64-bit value. */
  getRegister(index: number): bigint;
  /** Writes register `index` (0..12); the value is taken modulo 2^64. */
  setRegister(index: number, value: bigint): void;
  /** Copies φ0…φ12 into `out` (one call per run, however many registers). */
  getRegisters(out: BigUint64Array): void;
  /** Sets φ0…φ12 from `values`. */
  setRegisters(values: BigUint64Array): void;
  /** Remaining gas (signed 64-bit). */
  gas: bigint;
  /**
   * Where the next `run()` starts: after a host call the instruction after `ecalli`, after a page
   * fault the faulting instruction, after out-of-gas the unpaid block. Setting it starts a new
   * basic block there, which is charged on entry.
   */
  pc: number;
  /** Current heap top used by `sbrk`. */
  heapTop: number;
  /** Runs until the next exit. */
  run(): Exit;
  /**
   * Returns to the state of a new instance of the same program: all memory unmapped, registers,
   * gas, pc and heap top zero.
   */
  reset(): void;
  /** Like `run`, without blocking the JS thread; backends that run in-thread omit it. */
  runAsync?(): Promise<Exit>;
  /**
   * Maps and fills a JAM standard layout into fresh memory, sharing read-only regions between
   * instances where the backend can (memory images); without it `applyLayout` maps and copies.
   */
  applyLayout?(layout: StandardLayout): void;
}
