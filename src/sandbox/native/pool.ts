/**
 * `ZygotePool`: zygotes spawned ahead of time, so getting a sandbox needs no process creation.
 *
 * Trust model: a zygote runs whatever machine code it is given, and code that escapes the
 * compiler's contract (a compiler bug) controls the whole process, including what it reports.
 * A reset gives the next user a clean machine (memory, stacks, registers, vector state, VmCtx),
 * but it cannot undo what such code may still be doing. So a zygote is handed to another user
 * only after it answered its reset (a command to the zygote), and only if nothing unusual happened
 * (a signal exit, an error or unexpected report, a protocol violation, a timeout, a death), and
 * the recycling policy says who that next user may be:
 * - `"same-program"` (default): only a user of the same program (the key given to `acquire`),
 *   so a program that subverted its zygote only meets its own later runs; reuse stays as cheap
 *   as a reset for the common case of one program run many times.
 * - `"reuse"`: any user; for code that is trusted as much as the host itself.
 * - `"never"`: every `acquire` gets a zygote that never ran guest code, spawned ahead (after
 *   each `acquire`, in a later task of the event loop); used ones are disposed.
 * A reset keeps the zygote's guest mappings in place (contents zeroed, hidden from guest code
 * until a user maps the same ranges again), so the next run of the same program finds its
 * layout mapped; a zygote handed to any other user has them unmapped first, so nothing one
 * program's code did to its mappings reaches another program.
 * The most recently released zygote is handed out first: it is the one most likely still
 * spinning and cache-warm.
 * @module
 */
import { SandboxError } from "../../pvm/mod.ts";
import { Zygote, type ZygoteOptions } from "./zygote.ts";

/** Who may get a zygote that already ran guest code (see the module documentation). */
export type RecyclePolicy = "reuse" | "same-program" | "never";

/** The recycling policy of a pool unless its options say otherwise. */
export const DEFAULT_RECYCLE_POLICY: RecyclePolicy = "same-program";

/** How long a released zygote has to complete its reset before it is disposed. */
const PROBE_TIMEOUT_MS = 1000;

/** Options of a pool. */
export interface ZygotePoolOptions extends ZygoteOptions {
  /** Zygotes spawned up front and kept idle (default 4). */
  readonly size?: number;
  /** Most idle zygotes kept for reuse (default `size`); released ones beyond it are disposed. */
  readonly capacity?: number;
  /** Who may get a zygote that already ran guest code (default `DEFAULT_RECYCLE_POLICY`). */
  readonly recycle?: RecyclePolicy;
}

/** An idle zygote and the program it last served (`fresh`: it never ran guest code). */
interface Idle {
  readonly zygote: Zygote;
  readonly program: unknown;
  readonly fresh: boolean;
}

/** A set of idle zygotes; `acquire()` hands one out, `release()` takes it back. */
export class ZygotePool implements Disposable {
  readonly #options: ZygotePoolOptions;
  readonly #size: number;
  readonly #capacity: number;
  readonly #policy: RecyclePolicy;
  readonly #idle: Idle[] = [];
  readonly #leased = new Map<Zygote, unknown>();
  readonly #refills = new Set<Promise<void>>();
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
    const policy = options.recycle ?? DEFAULT_RECYCLE_POLICY;
    if (!["reuse", "same-program", "never"].includes(policy)) {
      throw new SandboxError("invalid-argument", `unknown recycling policy ${policy}`);
    }
    this.#options = options;
    this.#size = size;
    this.#capacity = capacity;
    this.#policy = policy;
    try {
      for (let i = 0; i < size; i++) {
        this.#idle.push({ zygote: Zygote.spawn(options), program: undefined, fresh: true });
      }
    } catch (error) {
      this[Symbol.dispose]();
      throw error;
    }
  }

  /** The recycling policy in force. */
  get recycle(): RecyclePolicy {
    return this.#policy;
  }

  /** Zygotes waiting in the pool. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Zygotes handed out and not yet released. */
  get leased(): number {
    return this.#leased.size;
  }

  /**
   * A clean zygote for a user of `program` (any value identifying the program, compared with
   * `===`; without one, only a zygote that never ran guest code qualifies under
   * "same-program"): an idle one the policy allows, or a newly spawned one.
   */
  acquire(program?: unknown): Zygote {
    if (this.#disposed) throw new SandboxError("disposed", "the pool has been disposed");
    let zygote: Zygote | undefined;
    for (let i = this.#idle.length - 1; i >= 0 && zygote === undefined; i--) {
      const entry = this.#idle[i];
      if (!entry.zygote.reusable) {
        this.#idle.splice(i, 1);
        entry.zygote[Symbol.dispose]();
      } else if (this.#allows(entry, program)) {
        this.#idle.splice(i, 1);
        zygote = this.#handOver(entry, program);
      }
    }
    zygote ??= Zygote.spawn(this.#options);
    this.#leased.set(zygote, program);
    if (this.#policy === "never") this.#refill();
    return zygote;
  }

  /**
   * `entry`'s zygote for a user of `program`, or undefined (it is then disposed) when it broke.
   * The mappings its last reset kept stay only for the same program.
   */
  #handOver(entry: Idle, program: unknown): Zygote | undefined {
    if (program !== undefined && entry.program === program) return entry.zygote;
    try {
      entry.zygote.dropKeptMappings();
      return entry.zygote;
    } catch {
      entry.zygote[Symbol.dispose]();
      return undefined;
    }
  }

  #allows(entry: Idle, program: unknown): boolean {
    if (entry.fresh || this.#policy === "reuse") return true;
    return this.#policy === "same-program" && program !== undefined && entry.program === program;
  }

  /**
   * Gives a zygote back. It is reset at once, which the zygote must complete;
   * one that does not, or that is broken, unusual (see `Zygote.reusable`), still running
   * asynchronously, beyond the pool's capacity, or released under "never", is disposed.
   */
  release(zygote: Zygote): void {
    if (!this.#leased.has(zygote)) {
      throw new SandboxError("invalid-argument", "this zygote was not acquired from this pool");
    }
    const program = this.#leased.get(zygote);
    this.#leased.delete(zygote);
    const keep = !this.#disposed && this.#policy !== "never" && !zygote.running &&
      zygote.reusable && this.#idle.length < this.#capacity && this.#recycled(zygote);
    if (keep) this.#idle.push({ zygote, program, fresh: false });
    else zygote[Symbol.dispose]();
  }

  /** Resets `zygote`; false when it did not complete the reset (it is then broken). */
  #recycled(zygote: Zygote): boolean {
    try {
      zygote.reset({ timeoutMs: PROBE_TIMEOUT_MS });
      return zygote.reusable;
    } catch {
      return false;
    }
  }

  /**
   * Spawns fresh zygotes until `size` are idle (policy "never"), each in a later task of the
   * event loop so the caller of `acquire` does not wait for it. Not on another thread: a
   * zygote's parent-death signal fires when the thread that spawned it exits, and the threads
   * of Deno's blocking pool exit when idle.
   */
  #refill(): void {
    while (!this.#disposed && this.#idle.length + this.#refills.size < this.#size) {
      const refill: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(
        () => {
          if (this.#disposed) return;
          try {
            this.#idle.push({
              zygote: Zygote.spawn(this.#options),
              program: undefined,
              fresh: true,
            });
          } catch {
            // A failed background spawn leaves the place to the next acquire, which spawns
            // synchronously and reports the error to its caller.
          }
        },
      ).finally(() => this.#refills.delete(refill));
      this.#refills.add(refill);
    }
  }

  /** Resolves once every background spawn started so far has finished. */
  async refilled(): Promise<void> {
    while (this.#refills.size > 0) await Promise.all(this.#refills);
  }

  /** Disposes every idle zygote and every leased one still out. */
  [Symbol.dispose](): void {
    this.#disposed = true;
    for (const entry of this.#idle.splice(0)) entry.zygote[Symbol.dispose]();
    for (const zygote of this.#leased.keys()) zygote[Symbol.dispose]();
    this.#leased.clear();
  }
}
