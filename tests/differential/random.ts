/** A seeded source of the random choices the differential generator makes. */
import { rngU32 } from "../fixtures.ts";

/** Seeded random choices: integers, picks, coin flips and 64-bit words. */
export class Random {
  readonly #next: () => number;

  /** A generator whose whole sequence is fixed by `seed`. */
  constructor(seed: number) {
    this.#next = rngU32(seed);
  }

  /** A uniform 32-bit unsigned word. */
  u32(): number {
    return this.#next();
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    return this.#next() % n;
  }

  /** A uniform integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.below(high - low + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() / 2 ** 32 < p;
  }

  /** A uniform element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** A uniform 64-bit unsigned word. */
  u64(): bigint {
    return (BigInt(this.#next()) << 32n) | BigInt(this.#next());
  }

  /** `length` uniform bytes. */
  bytes(length: number): Uint8Array {
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.#next();
    return new Uint8Array(words.buffer, 0, length);
  }
}
