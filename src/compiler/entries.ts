/**
 * Where each instruction of a compiled program is entered, in three bytes per instruction
 * instead of two 32-bit offsets: the maps are part of every compiled program, and each 4 KiB of
 * fresh memory costs a page fault, which on a large program takes more time than filling them.
 * The code generator fills the arrays as it emits, with plain stores; lookups (run entries,
 * resumptions, faults) complete an offset from its low 16 bits.
 * @module
 */

/** Instructions per anchor. */
const GROUP_LOG2 = 6;
/** `charge` of an instruction entered in a stub (the second of a fused pair). */
const IN_STUB = 255;

/**
 * The entries of `count` instructions. An in-stream entry is completed from its low 16 bits
 * and the anchor of the group before its own (instructions 64g … 64g + 63 form group g): the
 * generator reaches each group after its anchor's, and under 64 KiB later, since one
 * instruction with its charges takes under 300 bytes.
 */
export class InstructionEntries {
  /** Per instruction: the low 16 bits of its entry in the instruction stream. */
  readonly low: Uint16Array;
  /** Per group: the code offset when the generator first reached an instruction of it. */
  readonly anchor: Int32Array;
  /**
   * Per instruction starting a block: bytes from its block's gas-charging entry to its entry
   * (the charge, and in step mode the report before it: under 64 bytes); `IN_STUB` for an
   * instruction entered in a stub; 0 elsewhere.
   */
  readonly charge: Uint8Array;
  /** Instructions entered in a stub, ascending, and where. */
  #stubOwner: Int32Array = new Int32Array(16);
  #stubEntry: Int32Array = new Int32Array(16);
  #stubCount = 0;

  /** Room for `count` instructions. */
  constructor(count: number) {
    this.low = new Uint16Array(count);
    this.anchor = new Int32Array((count >> GROUP_LOG2) + 1);
    this.charge = new Uint8Array(count);
  }

  /** The group of instruction `i`, whose anchor is set when the generator first reaches it. */
  static groupOf(i: number): number {
    return i >> GROUP_LOG2;
  }

  /** Instruction `i` (above those recorded so far) is entered in a stub, at `offset`. */
  enterInStub(i: number, offset: number): void {
    const k = this.#stubCount++;
    if (k === this.#stubOwner.length) {
      const owners = new Int32Array(2 * k), entries = new Int32Array(2 * k);
      owners.set(this.#stubOwner);
      entries.set(this.#stubEntry);
      this.#stubOwner = owners;
      this.#stubEntry = entries;
    }
    this.#stubOwner[k] = i;
    this.#stubEntry[k] = offset;
    this.charge[i] = IN_STUB;
  }

  /** Whether instruction `i` is entered in the instruction stream (not in a stub). */
  inStream(i: number): boolean {
    return this.charge[i] !== IN_STUB;
  }

  /** Offset where instruction `i` is entered without a charge. */
  entry(i: number): number {
    if (this.charge[i] !== IN_STUB) return this.#streamEntry(i);
    const owners = this.#stubOwner;
    let lo = 0, hi = this.#stubCount - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (owners[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    return this.#stubEntry[lo];
  }

  /** Offset of the gas-charging entry of instruction `i`, which starts a block. */
  blockEntry(i: number): number {
    return this.#streamEntry(i) - this.charge[i];
  }

  #streamEntry(i: number): number {
    const group = i >> GROUP_LOG2;
    const base = group === 0 ? 0 : this.anchor[group - 1];
    return base + ((this.low[i] - base) & 0xffff);
  }
}
