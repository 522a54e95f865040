/**
 * `ZygotePool`: zygotes spawned ahead of time, so getting a fresh sandbox is a reset (no
 * process creation). The most recently released zygote is handed out first: it is the one most
 * likely still spinning and cache-warm.
 * @module
 */
import { SandboxError } from "../../pvm/mod.ts";
import { Zygote, type ZygoteOptions } from "./zygote.ts";

/** Options of a pool. */
export interface ZygotePoolOptions extends ZygoteOptions {
  /** Zygotes spawned up front and kept idle (default 4). */
  readonly size?: number;
  /** Most idle zygotes kept for reuse (default `size`); released ones beyond it are disposed. */
  readonly capacity?: number;
}

/** A set of idle zygotes; `acquire()` resets one, `release()` returns it. */
export class ZygotePool implements Disposable {
  readonly #options: ZygotePoolOptions;
  readonly #capacity: number;
  readonly #idle: Zygote[] = [];
  readonly #leased = new Set<Zygote>();
  #disposed = false;

  /** Spawns `size` zygotes now. */
  constructor(options: ZygotePoolOptions = {}) {
    const size = options.size ?? 4;
    const capacity = options.capacity ?? size;
    for (const [what, value] of [["size", size], ["capacity", capacity]] as const) {
      if (!Number.isInteger(value) || value < 0) {
        throw new SandboxError(
          "invalid-argument",
          `pool ${what} ${value} is not a non-negative integer`,
        );
      }
    }
    this.#options = options;
    this.#capacity = capacity;
    try {
      for (let i = 0; i < size; i++) this.#idle.push(Zygote.spawn(options));
    } catch (error) {
      this[Symbol.dispose]();
      throw error;
    }
  }

  /** Zygotes waiting in the pool. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Zygotes handed out and not yet released. */
  get leased(): number {
    return this.#leased.size;
  }

  /** A fresh zygote: a reset idle one, or a newly spawned one when none is idle. */
  acquire(): Zygote {
    if (this.#disposed) throw new SandboxError("disposed", "the pool has been disposed");
    let zygote: Zygote | undefined;
    while ((zygote = this.#idle.pop()) !== undefined) {
      if (zygote.usable) break;
      zygote[Symbol.dispose]();
    }
    zygote ??= Zygote.spawn(this.#options);
    zygote.reset();
    this.#leased.add(zygote);
    return zygote;
  }

  /**
   * Gives a zygote back. A broken one (dead, killed, timed out) or one still running
   * asynchronously is disposed, and so is any beyond the pool's size; the next `acquire()`
   * spawns a replacement as needed.
   */
  release(zygote: Zygote): void {
    if (!this.#leased.delete(zygote)) {
      throw new SandboxError("invalid-argument", "this zygote was not acquired from this pool");
    }
    if (this.#disposed || !zygote.usable || zygote.running || this.#idle.length >= this.#capacity) {
      zygote[Symbol.dispose]();
    } else {
      this.#idle.push(zygote);
    }
  }

  /** Disposes every idle zygote and every leased one still out. */
  [Symbol.dispose](): void {
    this.#disposed = true;
    for (const zygote of this.#idle.splice(0)) zygote[Symbol.dispose]();
    for (const zygote of this.#leased) zygote[Symbol.dispose]();
    this.#leased.clear();
  }
}
