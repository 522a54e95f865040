/**
 * `Program`: bytes in any supported container, validated and ready for a backend. Parsing checks
 * every length against the input before it allocates, and any malformed input — truncated,
 * oversized, inconsistent or with trailing bytes — fails with a `ProgramError` that names the
 * byte offset and the reason.
 * @module
 */
import { parseBlob, type RawBlob } from "./blob.ts";
import { decodeCode, type DecodedCode } from "./decoder.ts";
import { PAGE_SIZE, ProgramError, type ProgramMemory } from "../pvm/mod.ts";
import { type BlobViolation, validateCode } from "./validation.ts";
import { DEFAULT_PROFILE, type IsaName, type IsaProfile, PROFILES } from "./isa/index.ts";
import { hasPolkaVmMagic, parsePolkaVm, type PolkaVmIsa } from "./polkavm.ts";
import {
  decodeServiceMetadata,
  hasServiceFraming,
  parseServiceCode,
  type ServiceMetadata,
} from "./service.ts";
import { hasStandardFraming, parseStandardProgram, type StandardProgram } from "./standard.ts";

/** The container formats `Program.parse` reads. */
export type ContainerKind = "raw" | "standard" | "service" | "polkavm";

/** The order in which autodetection tries containers (`.polkavm` is recognized by its magic). */
export const AUTODETECT_ORDER: readonly ContainerKind[] = ["service", "standard", "raw"];

/** An exported entry point of a `.polkavm` program. */
export interface ProgramExport {
  /** Symbol name. */
  readonly name: string;
  /** Code offset of the entry point. */
  readonly pc: number;
}

/** Options of `Program.parse`. */
export interface ParseOptions {
  /** The container to read; autodetected when omitted. */
  readonly container?: ContainerKind;
  /**
   * The ISA profile to decode with; when omitted, the one a `.polkavm` file names (version 3,
   * JamV1, is `jam-0.8`), else `jam-0.7`.
   */
  readonly isa?: IsaName;
  /**
   * Check the whole blob as the profile requires (Gray Paper 0.8's `deblob` for `jam-0.8`) and
   * throw a `ProgramError` naming the offset and the rule broken. Without it an invalid blob
   * still parses, and a backend panics before running it, as the Gray Paper specifies.
   */
  readonly validate?: boolean;
}

/** The parts of a program, for building one without bytes (e.g. from an assembler). */
export interface ProgramParts {
  /** Which container the parts came from; "standard" with memory, "raw" without by default. */
  readonly container?: ContainerKind;
  /** The ISA profile; `jam-0.7` by default. */
  readonly isa?: IsaName;
  /** Code, bitmask and jump table. */
  readonly blob: RawBlob;
  /** Initial memory, or undefined for a bare blob. */
  readonly memory?: ProgramMemory;
  /** Service metadata bytes. */
  readonly metadata?: Uint8Array;
  /** Exported entry points. */
  readonly exports?: readonly ProgramExport[];
  /** Imported symbols. */
  readonly imports?: readonly string[];
  /** The instruction set a `.polkavm` file declares. */
  readonly polkavmIsa?: PolkaVmIsa;
}

/** A plain-data summary of a program (what `pvmbox info` prints). */
export interface ProgramSummary {
  /** Container format. */
  readonly container: ContainerKind;
  /** ISA profile name. */
  readonly isa: IsaName;
  /** Instruction set declared by a `.polkavm` file, if any. */
  readonly polkavmIsa?: PolkaVmIsa;
  /** Code length in bytes. */
  readonly codeBytes: number;
  /** Jump-table entries. */
  readonly jumpTableEntries: number;
  /** Bytes per jump-table entry. */
  readonly jumpTableEntrySize: number;
  /** Jump-table entries that are no basic-block start (a dynamic jump to them panics). */
  readonly jumpTableEntriesNotBlockStarts: number;
  /** Instructions (opcode positions in the bitmask). */
  readonly instructions: number;
  /** Basic blocks that start inside the code. */
  readonly basicBlocks: number;
  /** Initial memory sizes, when the container has them. */
  readonly memory?: {
    readonly roDataBytes: number;
    readonly rwDataBytes: number;
    readonly heapPages: number;
    readonly stackBytes: number;
  };
  /** Exported entry points. */
  readonly exports: readonly ProgramExport[];
  /** Imported symbols. */
  readonly imports: readonly string[];
  /** Service metadata: decoded when it follows JIP-6, else its bytes in hex. */
  readonly metadata?: ServiceMetadata | { readonly hex: string };
  /**
   * Under a profile with whole-blob validation (jam-0.8): `valid`, or the rule the blob breaks
   * (every run of it then panics at once).
   */
  readonly validity?: "valid" | BlobViolation;
}

function profileFor(name: IsaName | undefined): IsaProfile {
  if (name === undefined) return DEFAULT_PROFILE;
  const profile = Object.hasOwn(PROFILES, name) ? PROFILES[name] : undefined;
  if (profile === undefined) {
    throw new RangeError(
      `unknown ISA profile '${name}' (known: ${Object.keys(PROFILES).join(", ")})`,
    );
  }
  return profile;
}

function fromStandard(s: StandardProgram): { blob: RawBlob; memory: ProgramMemory } {
  const { roData, rwData, heapPages, stackSize, blob } = s;
  return { blob, memory: { roData, rwData, heapPages, stackSize } };
}

/** Reads `bytes` as the given container into program parts. */
function parseContainer(bytes: Uint8Array, container: ContainerKind): ProgramParts {
  switch (container) {
    case "raw":
      return { container, blob: parseBlob(bytes) };
    case "standard":
      return { container, ...fromStandard(parseStandardProgram(bytes)) };
    case "service": {
      const service = parseServiceCode(bytes);
      return { container, metadata: service.metadata, ...fromStandard(service.program) };
    }
    case "polkavm": {
      const p = parsePolkaVm(bytes);
      // The ro data is zero-padded to its declared size; the rw size beyond the data becomes
      // heap pages, which the standard layout maps right after the data, page aligned.
      const roData = new Uint8Array(p.roDataSize);
      roData.set(p.roData);
      const rwPages = Math.ceil(p.rwDataSize / PAGE_SIZE) - Math.ceil(p.rwData.length / PAGE_SIZE);
      return {
        container,
        blob: p.blob,
        memory: { roData, rwData: p.rwData, heapPages: rwPages, stackSize: p.stackSize },
        exports: p.exports,
        imports: p.imports,
        polkavmIsa: p.isa,
      };
    }
  }
}

/**
 * Cheap checks that rule a container out without parsing (and without throwing): each holds for
 * every input the container's parser accepts.
 */
const MAY_BE: Readonly<Record<ContainerKind, (bytes: Uint8Array) => boolean>> = {
  service: hasServiceFraming,
  standard: (bytes) => hasStandardFraming(bytes),
  raw: () => true,
  polkavm: hasPolkaVmMagic,
};

/**
 * Returns the first container in `AUTODETECT_ORDER` that parses. Containers whose framing does
 * not fit are skipped without the cost of an exception; only when nothing parses is every
 * container tried again, to say why each one failed.
 */
function autodetect(bytes: Uint8Array): ProgramParts {
  if (hasPolkaVmMagic(bytes)) return parseContainer(bytes, "polkavm");
  for (const container of AUTODETECT_ORDER) {
    if (!MAY_BE[container](bytes)) continue;
    try {
      return parseContainer(bytes, container);
    } catch (error) {
      if (!(error instanceof ProgramError)) throw error;
    }
  }
  throw noContainerError(bytes);
}

/**
 * The error for input no container accepts: every attempt and why it failed. When an attempt ran
 * out of bytes at the end of the input, the input was most likely cut short, and that leads.
 */
function noContainerError(bytes: Uint8Array): ProgramError {
  const failures: ProgramError[] = [];
  for (const container of AUTODETECT_ORDER) {
    try {
      parseContainer(bytes, container);
    } catch (error) {
      if (!(error instanceof ProgramError)) throw error;
      failures.push(error);
    }
  }
  const furthestOf = (errors: ProgramError[]) =>
    errors.reduce((a, b) => (b.offset > a.offset ? b : a));
  const attempt = (f: ProgramError) =>
    `as ${AUTODETECT_ORDER[failures.indexOf(f)]}: ${f.reason} (at byte ${f.offset})`;
  const notPolkaVm = "as .polkavm: no 'PVM\\0' magic";
  const cutShort = failures.filter((f) => f.inputEnd === bytes.length);
  if (cutShort.length > 0) {
    const likeliest = furthestOf(cutShort);
    const others = failures.filter((f) => f !== likeliest).map(attempt);
    return new ProgramError(
      bytes.length,
      `truncated at byte ${bytes.length}: ${attempt(likeliest)}; other containers: ` +
        `${[...others, notPolkaVm].join("; ")}`,
      bytes.length,
    );
  }
  // The attempt that read furthest is the likeliest intended format; report its offset.
  return new ProgramError(
    furthestOf(failures).offset,
    `not a PVM program in any known container; ${
      [...failures.map(attempt), notPolkaVm].join("; ")
    }`,
  );
}

/** The profile a `.polkavm` instruction-set name selects (profile data), or undefined. */
function profileNamedBy(polkavmIsa: PolkaVmIsa | undefined): IsaName | undefined {
  if (polkavmIsa === undefined) return undefined;
  return Object.values(PROFILES).find((profile) => profile.polkavmIsa === polkavmIsa)?.name;
}

/** Throws `ProgramError` when `program` breaks its profile's whole-blob rules. */
function throwIfInvalid(program: Program, input: Uint8Array): void {
  if (program.isa.validation !== "whole-blob") return;
  const violation = validateCode(program.blob, program.isa);
  if (violation === undefined) return;
  const { code } = program.blob;
  // The code is a view into the input (every container keeps it so): report an input offset.
  const base = code.buffer === input.buffer ? code.byteOffset - input.byteOffset : 0;
  throw new ProgramError(
    base + violation.offset,
    `invalid ${program.isa.name} blob (${violation.rule}): ${violation.message}`,
  );
}

/**
 * A validated PVM program: code, jump table, and (for containers that have them) memory.
 *
 * @example Parse a file in any container and look inside
 * ```ts
 * import { Program } from "@pvmbox/pvmbox";
 *
 * const program = Program.parse(Uint8Array.of(0, 0, 1, 0, 1)); // a raw blob: one `trap`
 * console.log(program.container, program.instructionCount); // "raw" 1
 * ```
 */
export class Program {
  /** The container the program was read from. */
  readonly container: ContainerKind;
  /** The ISA profile the code is decoded with. */
  readonly isa: IsaProfile;
  /** Code, bitmask and jump table. */
  readonly blob: RawBlob;
  /** Initial memory for JAM standard initialization; undefined for raw blobs. */
  readonly memory: ProgramMemory | undefined;
  /** Service metadata bytes, as stored (service code only). */
  readonly metadata: Uint8Array | undefined;
  /** Metadata decoded per JIP-6, or undefined when absent or not in that layout. */
  readonly metadataInfo: ServiceMetadata | undefined;
  /** Exported entry points (`.polkavm` only; empty otherwise). */
  readonly exports: readonly ProgramExport[];
  /** Imported symbols (`.polkavm` only; empty otherwise). */
  readonly imports: readonly string[];
  /** The instruction set a `.polkavm` file declares (pvmbox decodes with `isa`). */
  readonly polkavmIsa: PolkaVmIsa | undefined;
  #decoded: DecodedCode | undefined;

  private constructor(parts: ProgramParts) {
    this.container = parts.container ?? (parts.memory === undefined ? "raw" : "standard");
    this.isa = profileFor(parts.isa);
    this.blob = parts.blob;
    this.memory = parts.memory;
    this.metadata = parts.metadata;
    this.metadataInfo = decodeMetadataQuietly(parts.metadata);
    this.exports = Object.freeze([...(parts.exports ?? [])]);
    this.imports = Object.freeze([...(parts.imports ?? [])]);
    this.polkavmIsa = parts.polkavmIsa;
  }

  /**
   * Parses `bytes` as a program. The container is autodetected unless given: `.polkavm` by its
   * magic, otherwise service code, then a standard program, then a raw blob — each must account
   * for every byte, so the first that parses is the answer. Throws `ProgramError` for malformed
   * input and `RangeError` for an unknown ISA name.
   */
  static parse(bytes: Uint8Array, options: ParseOptions = {}): Program {
    const isa = options.isa;
    profileFor(isa);
    // One private copy: the program's views must not change if the caller reuses its buffer.
    const own = bytes.slice();
    const parts = options.container === undefined
      ? autodetect(own)
      : parseContainer(own, options.container);
    const program = new Program({ ...parts, isa: isa ?? profileNamedBy(parts.polkavmIsa) });
    if (options.validate) throwIfInvalid(program, own);
    return program;
  }

  /**
   * Builds a program from already-parsed parts (e.g. an assembler's output), which it keeps
   * without copying. Throws `RangeError` when the parts are inconsistent.
   */
  static fromParts(parts: ProgramParts): Program {
    checkParts(parts);
    return new Program(parts);
  }

  /** Every instruction and the basic-block starts, decoded once on first use. */
  get decoded(): DecodedCode {
    this.#decoded ??= decodeCode(this.blob.code, this.blob.bitmask, this.isa);
    return this.#decoded;
  }

  /** Number of instructions (opcode positions marked in the bitmask). */
  get instructionCount(): number {
    return this.decoded.instructions.length;
  }

  /** Number of basic blocks that start inside the code. */
  get basicBlockCount(): number {
    const { blockStart } = this.decoded;
    let count = 0;
    for (let pc = 0; pc < this.blob.code.length; pc++) count += blockStart[pc];
    return count;
  }

  /** True when a jump to `pc` is allowed: it starts a basic block inside the code. */
  isBlockStart(pc: number): boolean {
    return Number.isInteger(pc) && pc >= 0 && pc < this.blob.code.length &&
      this.decoded.blockStart[pc] === 1;
  }

  /** A plain-data summary: sizes, counts, exports, imports and metadata. */
  describe(): ProgramSummary {
    let notBlockStarts = 0;
    for (const target of this.blob.jumpTable) if (!this.isBlockStart(target)) notBlockStarts++;
    const memory = this.memory;
    return {
      container: this.container,
      isa: this.isa.name,
      ...(this.polkavmIsa === undefined ? {} : { polkavmIsa: this.polkavmIsa }),
      codeBytes: this.blob.code.length,
      jumpTableEntries: this.blob.jumpTable.length,
      jumpTableEntrySize: this.blob.jumpTableEntrySize,
      jumpTableEntriesNotBlockStarts: notBlockStarts,
      instructions: this.instructionCount,
      basicBlocks: this.basicBlockCount,
      ...(memory === undefined ? {} : {
        memory: {
          roDataBytes: memory.roData.length,
          rwDataBytes: memory.rwData.length,
          heapPages: memory.heapPages,
          stackBytes: memory.stackSize,
        },
      }),
      exports: this.exports,
      imports: this.imports,
      ...(this.metadata === undefined ? {} : {
        metadata: this.metadataInfo ?? { hex: toHex(this.metadata) },
      }),
      ...(this.isa.validation === "none" ? {} : {
        validity: validateCode(this.blob, this.isa) ?? "valid" as const,
      }),
    };
  }
}

function checkParts(parts: ProgramParts): void {
  const { blob, memory } = parts;
  if (blob.bitmask.length !== Math.ceil(blob.code.length / 8)) {
    throw new RangeError(
      `bitmask is ${blob.bitmask.length} bytes; ${blob.code.length} code bytes need ` +
        Math.ceil(blob.code.length / 8),
    );
  }
  const z = blob.jumpTableEntrySize;
  if (!Number.isInteger(z) || z < 0 || z > 4) {
    throw new RangeError(`jump-table entry size must be 0…4, not ${z}`);
  }
  if (memory !== undefined) {
    checkNatural("heap pages", memory.heapPages);
    checkNatural("stack size", memory.stackSize);
  }
}

function checkNatural(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a natural number, not ${value}`);
  }
}

function decodeMetadataQuietly(metadata: Uint8Array | undefined): ServiceMetadata | undefined {
  if (metadata === undefined || metadata.length === 0) return undefined;
  try {
    return decodeServiceMetadata(metadata);
  } catch (error) {
    // Metadata is free-form: bytes in another layout are not an error.
    if (error instanceof ProgramError) return undefined;
    throw error;
  }
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
