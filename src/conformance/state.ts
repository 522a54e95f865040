/**
 * Machine states and the one comparison between them: what a backend looks like after an exit
 * (exit, resume pc, registers, gas, heap top, the pages that matter) and the first difference
 * between an expected and an actual state, reported in a fixed order. The conformance runner
 * compares a vector's expectation with a backend; the differential tests compare two backends.
 * @module
 */
import { type ExitKind, PAGE_SIZE, type PageAccess, REGISTER_COUNT } from "../pvm/mod.ts";

/** Which part of a state differs first. */
export type DifferenceKind =
  | "error"
  | "status"
  | "pc"
  | "page-fault-address"
  | "host-call-id"
  | "resume-pc"
  | "register"
  | "gas"
  | "heap-top"
  | "memory"
  | "block-gas-cost";

/** The first difference between an expected and an actual state. */
export interface Difference {
  /** What differs. */
  readonly kind: DifferenceKind;
  /** One line for a person, e.g. `φ9: expected 3, got 4`. */
  readonly message: string;
}

/** An exit as a state records it: the fault address and host-call id where they apply. */
export interface ExitState {
  /** How the run ended. */
  readonly kind: ExitKind;
  /** The pc of the instruction that ended it. */
  readonly pc: number;
  /** Fault address of a page fault. */
  readonly address?: number;
  /** Id of a host call. */
  readonly id?: number;
}

/** One guest page: its access and, when readable, its bytes. */
export interface PageState {
  /** Access rights of the page. */
  readonly access: PageAccess;
  /** The page's bytes; undefined when the page is not readable. */
  readonly bytes: Uint8Array | undefined;
}

/**
 * A machine after an exit. An expected state may leave out what its source does not know (a
 * vector has no resume pc, heap top or host-call id); those parts are then not compared.
 */
export interface MachineState {
  /** The exit. */
  readonly exit: ExitState;
  /** Where the next run starts. */
  readonly resumePc?: number;
  /** φ0…φ12 as unsigned 64-bit values. */
  readonly registers: readonly bigint[];
  /** Gas left. */
  readonly gas: bigint;
  /** The heap top `sbrk` grows from. */
  readonly heapTop?: number;
  /** The pages compared, by base address; a page missing here counts as inaccessible. */
  readonly pages: ReadonlyMap<number, PageState>;
}

/** What can be observed of a machine; a `Backend` and a `Sandbox` both qualify. */
export interface ObservableMachine {
  /** Reads register `index`. */
  getRegister(index: number): bigint;
  /** Gas left. */
  readonly gas: bigint;
  /** Where the next run starts. */
  readonly pc: number;
  /** The heap top. */
  readonly heapTop: number;
  /** Guest memory. */
  readonly memory: {
    accessAt(address: number): PageAccess;
    read(address: number, length: number): Uint8Array;
  };
}

/** The exit's fields a state records. */
export function exitState(exit: ExitState): ExitState {
  const { kind, pc } = exit;
  if (kind === "page-fault") return { kind, pc, address: exit.address };
  if (kind === "host-call") return { kind, pc, id: exit.id };
  return { kind, pc };
}

/** Captures `machine` after `exit`, with the pages whose base addresses are in `pages`. */
export function captureState(
  machine: ObservableMachine,
  exit: ExitState,
  pages: Iterable<number>,
): MachineState {
  const captured = new Map<number, PageState>();
  for (const page of [...new Set(pages)].sort((a, b) => a - b)) {
    const access = machine.memory.accessAt(page);
    const bytes = access === "none" ? undefined : machine.memory.read(page, PAGE_SIZE);
    captured.set(page, { access, bytes });
  }
  return {
    exit: exitState(exit),
    resumePc: machine.pc,
    registers: Array.from({ length: REGISTER_COUNT }, (_, i) => machine.getRegister(i)),
    gas: machine.gas,
    heapTop: machine.heapTop,
    pages: captured,
  };
}

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

function exitDetail(exit: ExitState): string {
  if (exit.kind === "page-fault" && exit.address !== undefined) return ` at ${hex(exit.address)}`;
  if (exit.kind === "host-call" && exit.id !== undefined) return ` ${exit.id}`;
  return "";
}

function compareExits(expected: ExitState, actual: ExitState): Difference | undefined {
  if (expected.kind !== actual.kind) {
    return {
      kind: "status",
      message: `status: expected ${expected.kind}${exitDetail(expected)} (pc ${expected.pc}), ` +
        `got ${actual.kind}${exitDetail(actual)} (pc ${actual.pc})`,
    };
  }
  if (expected.pc !== actual.pc) {
    return { kind: "pc", message: `pc: expected ${expected.pc}, got ${actual.pc}` };
  }
  if (expected.address !== undefined && expected.address !== actual.address) {
    return {
      kind: "page-fault-address",
      message: `page-fault address: expected ${hex(expected.address)}, got ` +
        `${actual.address === undefined ? "none" : hex(actual.address)}`,
    };
  }
  if (expected.id !== undefined && expected.id !== actual.id) {
    return {
      kind: "host-call-id",
      message: `host-call id: expected ${expected.id}, got ${actual.id}`,
    };
  }
  return undefined;
}

/** True when two pages hold the same bytes (compared a word at a time where aligned). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 && a.length % 4 === 0) {
    const x = new Uint32Array(a.buffer, a.byteOffset, a.length / 4);
    const y = new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const INACCESSIBLE: PageState = { access: "none", bytes: undefined };

function comparePages(
  expected: ReadonlyMap<number, PageState>,
  actual: ReadonlyMap<number, PageState>,
): Difference | undefined {
  const pages = [...new Set([...expected.keys(), ...actual.keys()])].sort((a, b) => a - b);
  for (const page of pages) {
    const want = expected.get(page) ?? INACCESSIBLE, got = actual.get(page) ?? INACCESSIBLE;
    if (want.bytes !== undefined && got.bytes === undefined) {
      const at = want.bytes.findIndex((b) => b !== 0);
      if (at >= 0) {
        return {
          kind: "memory",
          message: `memory[${hex(page + at)}]: expected ${hex(want.bytes[at])}, but the page is ` +
            `not readable`,
        };
      }
    }
    if (want.access !== got.access) {
      return {
        kind: "memory",
        message: `page ${hex(page)}: expected access ${want.access}, got ${got.access}`,
      };
    }
    if (want.bytes === undefined || got.bytes === undefined || sameBytes(want.bytes, got.bytes)) {
      continue;
    }
    for (let i = 0; i < PAGE_SIZE; i++) {
      if (want.bytes[i] !== got.bytes[i]) {
        return {
          kind: "memory",
          message: `memory[${hex(page + i)}]: expected ${hex(want.bytes[i])}, got ` +
            `${hex(got.bytes[i])}`,
        };
      }
    }
  }
  return undefined;
}

/**
 * The first difference between `expected` and `actual`, in this order: exit status, exit pc,
 * fault address, host-call id, resume pc, registers φ0…φ12, gas, heap top, memory by ascending
 * address. Undefined when they agree.
 */
export function compareStates(
  expected: MachineState,
  actual: MachineState,
): Difference | undefined {
  const exit = compareExits(expected.exit, actual.exit);
  if (exit !== undefined) return exit;
  if (expected.resumePc !== undefined && expected.resumePc !== actual.resumePc) {
    return {
      kind: "resume-pc",
      message: `resume pc: expected ${expected.resumePc}, got ${actual.resumePc}`,
    };
  }
  for (let i = 0; i < REGISTER_COUNT; i++) {
    const want = expected.registers[i], got = actual.registers[i];
    if (want !== got) {
      return {
        kind: "register",
        message: `φ${i}: expected ${want} (${hex(want)}), got ${got} (${hex(got)})`,
      };
    }
  }
  if (expected.gas !== actual.gas) {
    return { kind: "gas", message: `gas: expected ${expected.gas}, got ${actual.gas}` };
  }
  if (expected.heapTop !== undefined && expected.heapTop !== actual.heapTop) {
    return {
      kind: "heap-top",
      message: `heap top: expected ${hex(expected.heapTop)}, got ` +
        `${actual.heapTop === undefined ? "none" : hex(actual.heapTop)}`,
    };
  }
  return comparePages(expected.pages, actual.pages);
}
