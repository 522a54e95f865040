/**
 * JAM host-call numbering (Gray Paper 0.7.2 and 0.8.0) and result codes, for naming calls in
 * traces and for embedders writing handlers, plus a reader for JIP-1 `log` calls.
 * @module
 */
import { DEFAULT_PROFILE, type IsaName } from "../program/isa/index.ts";
import { ADDRESS_SPACE_SIZE } from "../pvm/mod.ts";
import type { Sandbox } from "./sandbox.ts";

/** JAM host-call ids by name (Gray Paper 0.7.2, the `jam-0.7` profile). */
export const JAM_HOST_CALLS: Readonly<Record<string, number>> = Object.freeze({
  gas: 0,
  fetch: 1,
  lookup: 2,
  read: 3,
  write: 4,
  info: 5,
  historical_lookup: 6,
  export: 7,
  machine: 8,
  peek: 9,
  poke: 10,
  pages: 11,
  invoke: 12,
  expunge: 13,
  log: 100,
});

/**
 * JAM host-call ids by name under Gray Paper 0.8.0 (`jam-0.8`): `grow_heap` (replacing the `sbrk`
 * instruction) takes 1 and every call from `fetch` on moves up by one; `gas` and `log` stay.
 */
export const JAM_HOST_CALLS_08: Readonly<Record<string, number>> = Object.freeze({
  gas: 0,
  grow_heap: 1,
  ...Object.fromEntries(
    Object.entries(JAM_HOST_CALLS).filter(([name]) => name !== "gas" && name !== "log")
      .map(([name, id]) => [name, id + 1]),
  ),
  log: 100,
});

/** The host-call numbering of each profile. */
export const HOST_CALLS_BY_ISA: Readonly<Record<IsaName, Readonly<Record<string, number>>>> = Object
  .freeze({ "jam-0.7": JAM_HOST_CALLS, "jam-0.8": JAM_HOST_CALLS_08 });

/** JAM host-call result codes written to φ7. */
export const HOST_RESULT: Readonly<Record<string, bigint>> = Object.freeze({
  OK: 0n,
  NONE: 2n ** 64n - 1n,
  WHAT: 2n ** 64n - 2n,
  OOB: 2n ** 64n - 3n,
  WHO: 2n ** 64n - 4n,
  FULL: 2n ** 64n - 5n,
  CORE: 2n ** 64n - 6n,
  CASH: 2n ** 64n - 7n,
  LOW: 2n ** 64n - 8n,
  HUH: 2n ** 64n - 9n,
});

/**
 * The JAM name of host call `id` under the `isa` profile's numbering, or `undefined`; `isa` is
 * the default profile (`jam-0.7`) when omitted.
 */
export function hostCallName(
  id: number,
  isa: IsaName = DEFAULT_PROFILE.name,
): string | undefined {
  return Object.entries(HOST_CALLS_BY_ISA[isa]).find(([, n]) => n === id)?.[0];
}

/** A JIP-1 log message. */
export interface LogMessage {
  /** 0 error, 1 warning, 2 info, 3 debug, 4 trace (other values are kept as given). */
  readonly level: number;
  /** The level's name, e.g. `info`. */
  readonly levelName: string;
  /** The target (component) or `undefined` when the guest passed none. */
  readonly target: string | undefined;
  /** The message text (invalid UTF-8 is replaced). */
  readonly message: string;
}

const LEVELS = ["error", "warn", "info", "debug", "trace"];
const MAX_LOG_BYTES = 1 << 16;

/**
 * Reads the JIP-1 `log` arguments of a stopped `ecalli 100`: φ7 level, φ8/φ9 target pointer and
 * length (both 0: no target), φ10/φ11 message pointer and length. Returns `undefined` when a
 * string is unreadable or longer than 64 KiB.
 */
export function readLogMessage(sandbox: Sandbox): LogMessage | undefined {
  const text = (pointer: bigint, length: bigint): string | undefined => {
    if (pointer + length > BigInt(ADDRESS_SPACE_SIZE) || length > BigInt(MAX_LOG_BYTES)) {
      return undefined;
    }
    const bytes = sandbox.memory.tryRead(Number(pointer), Number(length));
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  };
  const r = sandbox.regs;
  const level = Number(r[7] > 255n ? 255n : r[7]);
  const target = r[8] === 0n && r[9] === 0n ? "" : text(r[8], r[9]);
  const message = text(r[10], r[11]);
  if (target === undefined || message === undefined) return undefined;
  return {
    level,
    levelName: LEVELS[level] ?? `level ${level}`,
    target: target === "" ? undefined : target,
    message,
  };
}
