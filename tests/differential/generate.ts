/**
 * Random valid programs (jam-0.7 or jam-0.8) for differential testing, each with the machine
 * state it starts from, all fixed by one seed and the profile. Three kinds: structured programs on
 * a bare machine (every opcode with edge-case operands, branches and dynamic jumps valid and
 * invalid, loads and stores around page edges and into unmapped and read-only pages, host calls,
 * `sbrk` under jam-0.7, `unlikely` under jam-0.8, often at block starts where it makes branches
 * cheap in the pipeline gas model), the same in JAM standard programs with their memory, and
 * random byte soups as code (under jam-0.8 mostly invalid blobs, which must panic unrun).
 * @module
 */
import { minImmediateWidth } from "../../src/program/asm/encoding.ts";
import { encodeBlob } from "../../src/program/blob.ts";
import {
  instructionById,
  type InstructionInfo,
  type IsaName,
  type IsaProfile,
  Op,
  PROFILES,
} from "../../src/program/isa/index.ts";
import { profileInstructions } from "../../src/program/isa/profile.ts";
import { Program } from "../../src/program/program.ts";
import { encodeStandardProgram } from "../../src/program/standard.ts";
import {
  GUEST_MEMORY_END,
  HALT_ADDRESS,
  type MemoryRegion,
  PAGE_SIZE,
  type ProgramMemory,
  REGISTER_COUNT,
  standardLayout,
} from "../../src/pvm/mod.ts";
import { CodeBuilder, type CodeItem, type Target } from "./code.ts";
import { Random } from "./random.ts";

/** The kinds of generated cases. */
export type CaseKind = "bare" | "standard" | "soup";

/** A program and the state it starts from. */
export interface DiffCase {
  /** The seed that generated it. */
  readonly seed: number;
  /** What kind of case it is. */
  readonly kind: CaseKind;
  /** The program. */
  readonly program: Program;
  /** The program's bytes (a raw blob, or a standard program). */
  readonly bytes: Uint8Array;
  /** Memory mapped and filled before the first run. */
  readonly regions: readonly Region[];
  /** φ0…φ12 before the first run. */
  readonly registers: readonly bigint[];
  /** Gas before the first run. */
  readonly gas: bigint;
  /** The first pc. */
  readonly pc: number;
  /** The heap top `sbrk` starts from. */
  readonly heapTop: number;
}

/** The instructions a profile offers, grouped as the generator picks them. */
interface InstructionChoice {
  readonly profile: IsaProfile;
  readonly body: readonly InstructionInfo[];
  readonly branches: readonly InstructionInfo[];
  readonly loadsAndStores: readonly InstructionInfo[];
}

function instructionChoice(profile: IsaProfile): InstructionChoice {
  const all = profileInstructions(profile);
  const body = all.filter((i) => !i.terminator);
  return {
    profile,
    body,
    branches: all.filter((i) =>
      i.format === "reg_reg_off" || (i.format === "reg_imm_off" && i.id !== Op.load_imm_jump)
    ),
    loadsAndStores: body.filter((i) => /^(load|store)_(imm_)?ind_/.test(i.name)),
  };
}

const CHOICES: Readonly<Record<IsaName, InstructionChoice>> = {
  "jam-0.7": instructionChoice(PROFILES["jam-0.7"]),
  "jam-0.8": instructionChoice(PROFILES["jam-0.8"]),
};
const DIVISIONS = [
  Op.div_u_32,
  Op.div_s_32,
  Op.rem_u_32,
  Op.rem_s_32,
  Op.div_u_64,
  Op.div_s_64,
  Op.rem_u_64,
  Op.rem_s_64,
];

const INT64_MIN = 1n << 63n;
/** 64-bit values where arithmetic has edges: signs, widths, shift counts. */
const EDGE_WORDS: readonly bigint[] = [
  0n,
  1n,
  2n,
  (1n << 64n) - 1n,
  INT64_MIN,
  INT64_MIN - 1n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0xffffffff80000000n,
  31n,
  32n,
  33n,
  63n,
  64n,
  65n,
  127n,
  128n,
  0xffn,
  0x8000n,
];
/** 32-bit immediates where arithmetic has edges. */
const EDGE_IMMEDIATES: readonly number[] = [
  0,
  1,
  -1,
  -0x80000000,
  0x7fffffff,
  31,
  32,
  33,
  63,
  64,
  65,
  0x7f,
  0x80,
  0xff,
  0x7fff,
  0x8000,
  -0x8000,
  4096,
];

/** Where memory is and what addresses are worth aiming at. */
interface MemoryPlan {
  readonly regions: Region[];
  readonly registers: bigint[];
  readonly heapTop: number;
  /** Addresses at page and region edges; accesses aim at them ± a few bytes. */
  readonly edges: number[];
}

/** A region of memory mapped and filled before the first run. */
export type Region = Omit<MemoryRegion, "name">;

function region(
  address: number,
  length: number,
  access: "read" | "read-write",
  contents: Uint8Array,
): Region {
  return { address, length, access, contents };
}

/** A bare machine: two read-write pages, a read-only page, optional pages at the extremes. */
function barePlan(random: Random): MemoryPlan {
  const regions = [
    region(0x20000, 2 * PAGE_SIZE, "read-write", random.bytes(random.below(2 * PAGE_SIZE))),
    region(0x22000, PAGE_SIZE, "read", random.bytes(random.below(PAGE_SIZE))),
  ];
  if (random.chance(0.3)) {
    regions.push(region(0x10000, PAGE_SIZE, "read-write", random.bytes(64)));
  }
  if (random.chance(0.3)) {
    regions.push(
      region(HALT_ADDRESS - PAGE_SIZE, PAGE_SIZE, "read-write", random.bytes(64)),
    );
  }
  // Now and then the heap starts just below the end of guest memory, where it cannot grow far.
  const heapTop = random.chance(0.05)
    ? GUEST_MEMORY_END - random.below(4 * PAGE_SIZE)
    : 0x30000 + (random.chance(0.5) ? 0 : random.below(2 * PAGE_SIZE));
  const edges = [0x10000, 0x20000, 0x21000, 0x22000, 0x23000, heapTop, HALT_ADDRESS, 0];
  const registers = Array.from(
    { length: REGISTER_COUNT },
    () =>
      random.chance(0.4)
        ? BigInt(random.pick(edges) + random.between(-16, 16)) & 0xffffffffn
        : random.chance(0.5)
        ? random.pick(EDGE_WORDS)
        : random.u64(),
  );
  return { regions, registers, heapTop, edges };
}

/** A JAM standard program's memory: small data, heap, stack and arguments, as standard init lays them out. */
function standardPlan(random: Random): { plan: MemoryPlan; memory: ProgramMemory } {
  const memory: ProgramMemory = {
    roData: random.bytes(random.chance(0.3) ? 0 : random.below(3 * PAGE_SIZE)),
    rwData: random.bytes(random.chance(0.3) ? 0 : random.below(3 * PAGE_SIZE)),
    heapPages: random.below(3),
    stackSize: random.pick([0, 16, PAGE_SIZE, 2 * PAGE_SIZE + 8]),
  };
  const layout = standardLayout(memory, random.bytes(random.below(100)));
  const edges = [HALT_ADDRESS, 0, layout.heapTop];
  for (const r of layout.regions) edges.push(r.address, r.address + r.length);
  return {
    plan: {
      regions: layout.regions.filter((r) => r.length > 0),
      registers: [...layout.registers],
      heapTop: layout.heapTop,
      edges,
    },
    memory,
  };
}

/** Chooses immediate values and widths, and the programs' structure. */
class ProgramWriter {
  readonly code = new CodeBuilder();
  readonly #random: Random;
  readonly #plan: MemoryPlan;
  readonly #blocks: number;
  readonly #jumpTable: Target[] = [];
  readonly choice: InstructionChoice;
  /** How many `fusablePair` pairs were written (labels p0, p1, …). */
  pairs = 0;

  constructor(random: Random, plan: MemoryPlan, blocks: number, choice: InstructionChoice) {
    this.choice = choice;
    this.#random = random;
    this.#plan = plan;
    this.#blocks = blocks;
    for (let k = random.below(2 * blocks + 2); k > 0; k--) {
      this.#jumpTable.push(
        random.chance(0.8)
          ? `b${random.below(blocks)}`
          : random.chance(0.5)
          ? `m${random.below(blocks)}`
          : random.pick(["end", random.u32() % 0x10000]),
      );
    }
  }

  get jumpTable(): Target[] {
    return this.#jumpTable;
  }

  reg(): number {
    return this.#random.below(REGISTER_COUNT);
  }

  /** A width for `value`: usually the shortest, sometimes longer (sign-extended encodings). */
  width(value: number): number {
    const min = minImmediateWidth(value);
    return this.#random.chance(0.6) ? min : this.#random.between(min, 4);
  }

  /** An address at or near a page or region edge (as an int32 immediate). */
  address(): number {
    const random = this.#random;
    if (random.chance(0.1)) return random.u32() | 0;
    const edge = random.pick(this.#plan.edges);
    return (edge + random.between(-9, 8)) | 0;
  }

  /** A 32-bit immediate: an edge value, an address, small or random. */
  immediate(): number {
    const random = this.#random;
    switch (random.below(4)) {
      case 0:
        return random.pick(EDGE_IMMEDIATES);
      case 1:
        return this.address();
      case 2:
        return random.between(-70, 70);
      default:
        return random.u32() | 0;
    }
  }

  /** A 64-bit value: an edge word, an address or random. */
  word(): bigint {
    const random = this.#random;
    if (random.chance(0.4)) return random.pick(EDGE_WORDS);
    if (random.chance(0.5)) return BigInt(this.address() >>> 0);
    return random.u64();
  }

  /** A branch target: usually a block start, sometimes the middle of a block (which panics). */
  target(): string {
    const random = this.#random;
    const k = random.below(this.#blocks);
    return random.chance(0.85) ? `b${k}` : `m${k}`;
  }

  loadImm(a: number, value: number): void {
    this.code.emit({ op: Op.load_imm, a, x: value, xWidth: this.width(value) });
  }

  /** Any non-terminator instruction with random operands. */
  anyInstruction(info: InstructionInfo): void {
    const value = this.immediate(), second = this.immediate();
    const item: CodeItem = {
      op: info.id,
      a: this.reg(),
      b: this.reg(),
      d: this.reg(),
      x: value,
      y: second,
      xWidth: this.width(value),
      yWidth: this.width(second),
      wide: this.word(),
    };
    if (info.format === "imm_imm" || (info.format === "reg_imm" && info.name !== "load_imm")) {
      // Absolute loads and stores: x is an address.
      const address = this.address();
      this.code.emit({ ...item, x: address, xWidth: this.width(address) });
    } else if (info.id === Op.ecalli) {
      const id = this.#random.chance(0.9) ? this.#random.below(20) : this.#random.u32() | 0;
      this.code.emit({ ...item, x: id, xWidth: this.width(id) });
    } else if (info.id === Op.sbrk) {
      this.sbrk(item.a!, item.d!);
    } else {
      this.code.emit(item);
    }
  }

  /**
   * `sbrk` of an amount loaded just before: zero, around a page, or one that must fail. (Amounts
   * between 16 MiB and 4 GiB are left out: growing that far is slow and tests nothing new.)
   */
  sbrk(a: number, d: number): void {
    const random = this.#random;
    const amount = random.pick([0, 1, 4095, 4096, 4097, random.below(0x3000), -1, -4096]);
    if (random.chance(0.1)) {
      this.code.emit({ op: Op.load_imm_64, a, wide: 1n << 32n });
    } else this.loadImm(a, amount);
    this.code.emit({ op: Op.sbrk, a, d });
  }

  /** A load or store through a base register loaded just before with an edge address. */
  memoryAccess(): void {
    const info = this.#random.pick(this.choice.loadsAndStores);
    const base = this.reg(), offset = this.#random.pick([0, 0, 1, -1, 7, -8, 4095, 4096, -4096]);
    this.loadImm(base, (this.address() - offset) | 0);
    const value = this.immediate();
    this.code.emit({
      op: info.id,
      a: info.format === "reg_imm_imm" ? base : this.reg(),
      b: base,
      x: offset,
      y: value,
      xWidth: this.width(offset),
      yWidth: this.width(value),
    });
  }

  /**
   * A pair of instructions the compiler fuses (src/compiler/fusion.ts), with aliased registers
   * and near misses that must not fuse. The second instruction is labelled `p<n>`: runs may
   * start there, in the middle of the pair.
   */
  fusablePair(): void {
    const random = this.#random;
    const r = this.reg(), s = random.chance(0.4) ? r : this.reg();
    if (random.chance(0.6)) return this.scaledAdd(r, s);
    // shlo_l_imm_64 r, s, k then a right shift of r by k: an extension for k = 32, 48, 56.
    const k = random.chance(0.85) ? random.pick([32, 48, 56]) : random.pick([31, 40, 57, 63]);
    this.code.emit({ op: Op.shlo_l_imm_64, a: r, b: s, x: k, xWidth: this.width(k) });
    this.code.label(`p${this.pairs++}`);
    const k2 = random.chance(0.9) ? k : k + 1;
    this.code.emit({
      op: random.chance(0.5) ? Op.shlo_r_imm_64 : Op.shar_r_imm_64,
      a: random.chance(0.9) ? r : this.reg(),
      b: random.chance(0.9) ? r : this.reg(),
      x: k2,
      xWidth: this.width(k2),
    });
  }

  /**
   * `shlo_l_imm_64 r, s, k` then `add_64 r, r, base` (operands either way round), fused into
   * one scaled-index `lea` for k = 1…3, or near misses (other shifts, another destination);
   * sometimes a base address and small index loaded before and a load or store through the
   * result after (faults next to the fused code).
   */
  scaledAdd(r: number, s: number): void {
    const random = this.#random;
    const base = this.reg();
    if (random.chance(0.5) && base !== r && base !== s) {
      this.loadImm(base, this.address());
      this.loadImm(s, random.between(-4, 8) * random.pick([1, 1, 512, 1024]));
    }
    const k = random.chance(0.85) ? random.between(1, 3) : random.pick([0, 4, 63, 66]);
    this.code.emit({ op: Op.shlo_l_imm_64, a: r, b: s, x: k, xWidth: this.width(k) });
    this.code.label(`p${this.pairs++}`);
    const [a, b] = random.chance(0.5) ? [r, base] : [base, r];
    this.code.emit({ op: Op.add_64, d: random.chance(0.9) ? r : this.reg(), a, b });
    if (random.chance(0.4)) {
      const info = random.pick(this.choice.loadsAndStores), value = this.immediate();
      this.code.emit({
        op: info.id,
        a: info.format === "reg_imm_imm" ? r : this.reg(),
        b: r,
        x: 0,
        y: value,
        xWidth: this.width(0),
        yWidth: this.width(value),
      });
    }
  }

  /** A division or remainder by 0 or −1, of INT_MIN or anything. */
  division(): void {
    const random = this.#random;
    const a = this.reg(), b = this.reg();
    if (random.chance(0.5)) {
      this.code.emit({
        op: Op.load_imm_64,
        a,
        wide: random.pick([INT64_MIN, 0xffffffff80000000n]),
      });
    }
    if (a !== b) this.loadImm(b, random.pick([0, -1, 1]));
    this.code.emit({ op: random.pick(DIVISIONS), a, b, d: this.reg() });
  }

  /** A body instruction (or a short sequence aiming at an edge). */
  bodyInstruction(): void {
    const random = this.#random;
    const roll = random.below(100);
    if (roll < 45) this.anyInstruction(random.pick(this.choice.body));
    else if (roll < 50) this.fusablePair();
    else if (roll < 72) this.memoryAccess();
    else if (roll < 80) this.division();
    else if (roll < 86) this.anyInstruction(instructionById(Op.ecalli)!);
    else if (roll < 90) {
      if (this.choice.profile.hasSbrk) this.sbrk(this.reg(), this.reg());
      else this.code.emit({ op: Op.unlikely });
    } else this.code.emit({ op: Op.load_imm_64, a: this.reg(), wide: this.word() });
  }

  /** A dynamic-jump address: through the table (valid or not), misaligned, the halt address. */
  dynamicAddress(): number {
    const random = this.#random;
    const entries = this.#jumpTable.length;
    switch (random.below(8)) {
      case 0:
        return HALT_ADDRESS;
      case 1:
        return 2 * random.below(entries + 1) + 1; // misaligned
      case 2:
        return 0;
      case 3:
        return 2 * (entries + 1 + random.below(3)); // past the table
      case 4:
        return random.u32();
      default:
        return entries === 0 ? 2 : 2 * (1 + random.below(entries));
    }
  }

  /** Ends a block with a terminator, or (last block only) with nothing: the code just ends. */
  terminator(last: boolean): void {
    const random = this.#random;
    const code = this.code;
    switch (random.below(last ? 12 : 11)) {
      case 0:
        code.emit({ op: Op.trap });
        break;
      case 1:
        code.emit({ op: Op.fallthrough });
        break;
      case 2:
        code.emit({ op: Op.jump, x: this.target() });
        break;
      case 3:
      case 4: { // jump_ind A, x: to A + x
        const a = this.reg(), offset = random.pick([0, 0, 2, -2, 1, this.immediate()]);
        if (random.chance(0.9)) this.loadImm(a, (this.dynamicAddress() - offset) | 0);
        code.emit({ op: Op.jump_ind, a, x: offset, xWidth: this.width(offset) });
        break;
      }
      case 5: { // load_imm_jump_ind A, B, x, y: A = x, then to B + y (B read before A is written)
        const a = this.reg(), b = this.reg(), offset = random.pick([0, 2, -2, 3]);
        const value = this.immediate();
        if (random.chance(0.9)) this.loadImm(b, (this.dynamicAddress() - offset) | 0);
        code.emit({
          op: Op.load_imm_jump_ind,
          a,
          b,
          x: value,
          y: offset,
          xWidth: this.width(value),
          yWidth: this.width(offset),
        });
        break;
      }
      case 6: {
        const value = this.immediate();
        code.emit({
          op: Op.load_imm_jump,
          a: this.reg(),
          x: value,
          xWidth: this.width(value),
          y: this.target(),
        });
        break;
      }
      case 7:
      case 8:
      case 9: {
        const info = random.pick(this.choice.branches), value = this.immediate();
        code.emit(
          info.format === "reg_reg_off"
            ? { op: info.id, a: this.reg(), b: this.reg(), x: this.target() }
            : { op: info.id, a: this.reg(), x: value, xWidth: this.width(value), y: this.target() },
        );
        break;
      }
      case 10: { // halt, JAM style
        const a = this.reg();
        this.loadImm(a, HALT_ADDRESS | 0);
        code.emit({ op: Op.jump_ind, a, x: 0, xWidth: 0 });
        break;
      }
      default:
        break;
    }
  }
}

/** A structured program of `blocks` basic blocks over `plan`. */
function structuredCode(
  random: Random,
  plan: MemoryPlan,
  blocks: number,
  choice: InstructionChoice,
) {
  const writer = new ProgramWriter(random, plan, blocks, choice);
  const hasUnlikely = choice.profile.encodeTable[Op.unlikely] >= 0;
  for (let k = 0; k < blocks; k++) {
    writer.code.label(`b${k}`);
    // A cold block: branches to it (or falling through to it) cost 1 in the pipeline model.
    if (hasUnlikely && random.chance(0.25)) writer.code.emit({ op: Op.unlikely });
    const body = random.below(random.chance(0.2) ? 30 : 9);
    const middle = random.below(body + 1);
    for (let i = 0; i < body; i++) {
      if (i === middle) writer.code.label(`m${k}`);
      writer.bodyInstruction();
    }
    if (middle === body) writer.code.label(`m${k}`);
    writer.terminator(k === blocks - 1);
  }
  writer.code.label("end");
  if (writer.code.length === 0) writer.code.emit({ op: Op.trap });
  const built = writer.code.build(choice.profile, writer.jumpTable);
  const pairPcs = Array.from({ length: writer.pairs }, (_, n) => built.labels.get(`p${n}`)!);
  return { ...built, pairPcs };
}

/** Random bytes as code, with a random bitmask and jump table. */
function soupCode(random: Random) {
  const length = random.below(300);
  const code = random.bytes(length);
  const bitmask = Uint8Array.from({ length: Math.ceil(length / 8) }, () => {
    const density = random.below(4);
    return density === 0
      ? random.u32() & 0xff
      : density === 1
      ? 0xff
      : random.u32() & random.u32() & 0xff;
  });
  const jumpTable = Array.from({ length: random.below(8) }, () => random.below(length + 4));
  return { code, bitmask, jumpTable };
}

/** How many blocks a structured program gets: usually few, sometimes many (long translated chunks). */
function blockCount(random: Random): number {
  return random.chance(0.03) ? random.between(120, 250) : random.between(1, 14);
}

/** Gas to start with: often tiny, so it runs out at block boundaries. */
function initialGas(random: Random): bigint {
  return BigInt(random.chance(0.4) ? random.below(40) : random.between(100, 3000));
}

/**
 * The first pc of a bare case: mostly 0, sometimes the middle of a fusable pair (entering
 * between two instructions the compiler emits as one), sometimes anywhere.
 */
function startPc(random: Random, codeLength: number, pairPcs: readonly number[]): number {
  const roll = random.below(20);
  if (roll === 0 && pairPcs.length > 0) return random.pick(pairPcs);
  return roll < 18 ? 0 : random.below(codeLength + 2);
}

/** The case of `seed` under the `isa` profile. */
export function generateCase(seed: number, isa: IsaName = "jam-0.7"): DiffCase {
  const random = new Random(seed);
  const choice = CHOICES[isa];
  const roll = random.below(100);
  if (roll < 55 || roll >= 85) {
    const plan = barePlan(random);
    const blob = roll < 55
      ? structuredCode(random, plan, blockCount(random), choice)
      : { ...soupCode(random), pairPcs: [] };
    const bytes = encodeBlob(blob);
    return {
      seed,
      kind: roll < 55 ? "bare" : "soup",
      program: Program.parse(bytes, { container: "raw", isa }),
      bytes,
      regions: plan.regions,
      registers: plan.registers,
      gas: initialGas(random),
      pc: startPc(random, blob.code.length, blob.pairPcs),
      heapTop: plan.heapTop,
    };
  }
  const { plan, memory } = standardPlan(random);
  const blob = structuredCode(random, plan, blockCount(random), choice);
  const bytes = encodeStandardProgram({ ...memory, blob: encodeBlob(blob) });
  return {
    seed,
    kind: "standard",
    program: Program.parse(bytes, { container: "standard", isa }),
    bytes,
    regions: plan.regions,
    registers: plan.registers,
    gas: initialGas(random),
    pc: 0,
    heapTop: plan.heapTop,
  };
}
