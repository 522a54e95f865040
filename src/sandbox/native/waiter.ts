/**
 * Collects asynchronous runs of every zygote with a single pending nonblocking FFI call (one
 * thread of Deno's blocking pool, however many sandboxes are running).
 * @module
 */
import type { NativeLibrary } from "../../../ffi/library.ts";

/** Longest single native wait; the loop re-arms it while runs are pending. */
const WAIT_SLICE_NS = 100_000_000n;
/**
 * Polls on this thread before a wait goes to the blocking pool (a few microseconds at most): a
 * run that reports at once, as a guest answering a host call does, is collected here instead of
 * after a hop to a pool thread and back, which costs several microseconds.
 */
const POLLS_BEFORE_WAITING = 64;

/** Resolves posted runs with their native report (a REPORT_* or a negative ERR_*). */
export class AsyncWaiter {
  readonly #library: NativeLibrary;
  readonly #pending = new Map<number, (report: number) => void>();
  #pumping = false;

  /** A waiter over `library`'s posted commands. */
  constructor(library: NativeLibrary) {
    this.#library = library;
  }

  /** The report of the command just posted for `handle`. */
  wait(handle: number): Promise<number> {
    return new Promise((resolve) => {
      this.#pending.set(handle, resolve);
      if (!this.#pumping) void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      let polls = 0;
      while (this.#collect() > 0) {
        polls += this.#pending.size;
        if (polls < POLLS_BEFORE_WAITING) continue;
        polls = 0;
        await this.#library.symbols.pvmbox_wait_any(WAIT_SLICE_NS);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Settles every finished run; returns how many are still pending. */
  #collect(): number {
    for (const [handle, resolve] of this.#pending) {
      const report = this.#library.symbols.pvmbox_poll(handle);
      if (report !== 0) {
        this.#pending.delete(handle);
        resolve(report);
      }
    }
    return this.#pending.size;
  }
}

const waiters = new WeakMap<NativeLibrary, AsyncWaiter>();

/** The one waiter of `library`. */
export function asyncWaiter(library: NativeLibrary): AsyncWaiter {
  let waiter = waiters.get(library);
  if (waiter === undefined) {
    waiter = new AsyncWaiter(library);
    waiters.set(library, waiter);
  }
  return waiter;
}
