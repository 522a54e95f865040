/**
 * How the differential runner answers exits, identically on every machine: a deterministic
 * host-call stub (the same register results, gas charge and memory writes), mapping the page of
 * a page fault, adding gas after out-of-gas, and now and then a host that meddles between runs
 * (moves the pc, writes into any mapped page, re-protects or unmaps one). Each answer is decided
 * once, from the reference machine and a seeded random source, then applied to every machine.
 * @module
 */
import {
  type Backend,
  type Exit,
  HALT_ADDRESS,
  LOWEST_FAULT_ADDRESS,
  PAGE_SIZE,
  type PageAccess,
} from "../../src/pvm/mod.ts";
import type { Random } from "./random.ts";

/** What the host does to a machine before resuming it. */
export interface Answer {
  /** Registers to set. */
  readonly registers: ReadonlyMap<number, bigint>;
  /** Gas afterwards, when it changes. */
  readonly gas?: bigint;
  /** A page to map (or re-protect) read-write or read-only. */
  readonly map?: { readonly page: number; readonly access: "read" | "read-write" };
  /** Bytes to write (after mapping), whatever the page's protection. */
  readonly writes: readonly { readonly address: number; readonly bytes: Uint8Array }[];
  /** A new pc to resume at. */
  readonly pc?: number;
  /** A mapped page to give other access, or to unmap (`none`). */
  readonly reprotect?: { readonly page: number; readonly access: PageAccess };
}

/** What the runner knows besides the machine: the code length and the pages that may be mapped. */
export interface Surroundings {
  /** Bytes of code (a pc up to a little past it is worth trying). */
  readonly codeLength: number;
  /** Base addresses of the pages mapped so far or once. */
  readonly pages: readonly number[];
}

/** True when every byte of [address, address + length) is in a read-write page of `machine`. */
function writable(machine: Backend, address: number, length: number): boolean {
  if (address + length > 2 ** 32) return false;
  for (let page = address - (address % PAGE_SIZE); page < address + length; page += PAGE_SIZE) {
    if (machine.memory.accessAt(page) !== "read-write") return false;
  }
  return true;
}

/** The `NONE` result of JAM host calls, 2^64 − 1. */
const NONE = (1n << 64n) - 1n;

/**
 * The host-call stub, shaped like JAM's `fetch`: the call has an item of up to 256 random bytes;
 * φ7 names an output buffer, φ8 an offset into the item and φ9 a length, and the bytes from the
 * offset are written to the buffer when it is writable. φ7 gets the item's length (sometimes
 * `NONE` or a small status instead), and gas is charged 10 as a JAM host call would be.
 */
export function answerHostCall(reference: Backend, random: Random): Answer {
  const item = random.bytes(random.below(257));
  const pointer = Number(reference.getRegister(7) & 0xffffffffn);
  const offset = Math.min(Number(reference.getRegister(8) & 0xffffn), item.length);
  const length = Math.min(Number(reference.getRegister(9) & 0xffffn), item.length - offset);
  const writes = length > 0 && writable(reference, pointer, length)
    ? [{ address: pointer, bytes: item.subarray(offset, offset + length) }]
    : [];
  const roll = random.below(10);
  const result = roll < 7 ? BigInt(item.length) : roll < 9 ? NONE : BigInt(random.below(8));
  const gas = reference.gas;
  return { registers: new Map([[7, result]]), gas: gas > 10n ? gas - 10n : 0n, writes };
}

/**
 * After a page fault: the page is mapped read-write (sometimes read-only first, so a store faults
 * again), or re-protected read-write when it was read-only, with a few bytes written. Faults
 * outside the pages a guest may use are not answered.
 */
export function answerPageFault(
  reference: Backend,
  address: number,
  random: Random,
): Answer | undefined {
  const page = address - (address % PAGE_SIZE);
  if (page < LOWEST_FAULT_ADDRESS || page >= HALT_ADDRESS) return undefined;
  const mapped = reference.memory.accessAt(page) !== "none";
  const access = mapped || random.chance(0.7) ? "read-write" : "read";
  const offset = random.below(PAGE_SIZE - 16);
  return {
    registers: new Map(),
    map: { page, access },
    writes: mapped ? [] : [{ address: page + offset, bytes: random.bytes(16) }],
  };
}

/** After out-of-gas: a little gas (so the next block may not fit either), sometimes more. */
export function answerOutOfGas(reference: Backend, random: Random): Answer {
  const more = random.chance(0.8) ? random.between(1, 40) : random.between(100, 2000);
  return { registers: new Map(), gas: reference.gas + BigInt(more), writes: [] };
}

/** `answer` plus, one time in eight, a host meddling: a new pc, a write, a re-protected page. */
function meddle(answer: Answer, reference: Backend, random: Random, around: Surroundings): Answer {
  if (!random.chance(0.125)) return answer;
  const mapped = around.pages.filter((page) => reference.memory.accessAt(page) !== "none");
  switch (random.below(mapped.length === 0 ? 1 : 3)) {
    case 0:
      return { ...answer, pc: random.below(around.codeLength + 2) };
    case 1: {
      const address = random.pick(mapped) + random.below(PAGE_SIZE - 16);
      return { ...answer, writes: [...answer.writes, { address, bytes: random.bytes(16) }] };
    }
    default: {
      const access = random.pick<PageAccess>(["none", "read", "read-write"]);
      return { ...answer, reprotect: { page: random.pick(mapped), access } };
    }
  }
}

/** The answer to `exit` on `reference`, or undefined when the run is over. */
export function answerExit(
  reference: Backend,
  exit: Exit,
  random: Random,
  around: Surroundings,
): Answer | undefined {
  switch (exit.kind) {
    case "host-call":
      return meddle(answerHostCall(reference, random), reference, random, around);
    case "page-fault":
      return answerPageFault(reference, exit.address, random);
    case "out-of-gas":
      return meddle(answerOutOfGas(reference, random), reference, random, around);
    default:
      return undefined;
  }
}

/** Applies `answer` to `machine`. */
export function applyAnswer(machine: Backend, answer: Answer): void {
  for (const [index, value] of answer.registers) machine.setRegister(index, value);
  if (answer.gas !== undefined) machine.gas = answer.gas;
  if (answer.map !== undefined) {
    const { page, access } = answer.map;
    if (machine.memory.accessAt(page) === "none") machine.memory.map(page, PAGE_SIZE, access);
    else machine.memory.protect(page, PAGE_SIZE, access);
  }
  for (const { address, bytes } of answer.writes) machine.memory.write(address, bytes);
  if (answer.reprotect !== undefined) {
    const { page, access } = answer.reprotect;
    if (access === "none") machine.memory.unmap(page, PAGE_SIZE);
    else machine.memory.protect(page, PAGE_SIZE, access);
  }
  if (answer.pc !== undefined) machine.pc = answer.pc;
}
