/**
 * PolkaVM's `.polkavm` container: magic `PVM\0`, a version byte naming the instruction set, the
 * total length as a u64 (little-endian), then sections `id ‖ varint length ‖ payload` in
 * ascending id order, closed by section 0. Section 1 is the memory configuration (varint ro, rw
 * and stack sizes), 2 read-only data, 3 read-write data, 4 imports, 5 exports, 6 the code and
 * jump table in the raw-blob layout; ids with bit 7 set are optional (debug information, a
 * metadata hash, or unknown) and are skipped.
 *
 * PolkaVM's varint is the Gray Paper's `E` limited to 32-bit values (at most 5 bytes).
 *
 * pvmbox runs these programs with the JAM standard memory layout, so the declared sizes must fit
 * the fields of a JAM standard program (each below 16 MiB).
 * @module
 */
import { concatBytes, encodeBlob, parseBlob, type RawBlob } from "./blob.ts";
import { ByteReader } from "./reader.ts";
import { encodeFixed, encodeVarU64 } from "./varint.ts";

/** The four magic bytes every `.polkavm` file starts with. */
export const POLKAVM_MAGIC: Uint8Array = Uint8Array.of(0x50, 0x56, 0x4d, 0x00);

/** Instruction sets a `.polkavm` version byte can name (index = version byte). */
export const POLKAVM_ISAS = ["ReviveV1", "Latest32", "Latest64", "JamV1"] as const;

/** The instruction set a `.polkavm` file declares. */
export type PolkaVmIsa = (typeof POLKAVM_ISAS)[number];

/** Largest ro, rw or stack size accepted: what a JAM standard program's 3-byte fields hold. */
export const MAX_POLKAVM_MEMORY_SIZE: number = 2 ** 24 - 1;

/** Most imports accepted (PolkaVM's own limit). */
export const MAX_POLKAVM_IMPORTS = 1024;

/** Section ids. */
const Section = {
  End: 0,
  MemoryConfig: 1,
  RoData: 2,
  RwData: 3,
  Imports: 4,
  Exports: 5,
  Code: 6,
} as const;

const OPTIONAL_SECTION_BIT = 0x80;

/** An exported entry point. */
export interface PolkaVmExport {
  /** Symbol name (invalid UTF-8 shows as U+FFFD). */
  readonly name: string;
  /** Code offset of the entry point. */
  readonly pc: number;
}

/** A parsed `.polkavm` file. */
export interface PolkaVmProgram {
  /** The version byte. */
  readonly version: number;
  /** The instruction set the version byte names. */
  readonly isa: PolkaVmIsa;
  /** Declared read-only data size (the data is zero-padded to it). */
  readonly roDataSize: number;
  /** Declared read-write data size (the data is zero-padded to it). */
  readonly rwDataSize: number;
  /** Declared stack size. */
  readonly stackSize: number;
  /** Initial read-only data (may be shorter than `roDataSize`). */
  readonly roData: Uint8Array;
  /** Initial read-write data (may be shorter than `rwDataSize`). */
  readonly rwData: Uint8Array;
  /** Imported symbol names, by index. */
  readonly imports: readonly string[];
  /** Exported entry points. */
  readonly exports: readonly PolkaVmExport[];
  /** Code, bitmask and jump table. */
  readonly blob: RawBlob;
  /** Ids of the optional sections that were skipped, in file order. */
  readonly skippedSections: readonly number[];
}

/** True when `bytes` starts with the `.polkavm` magic. */
export function hasPolkaVmMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && POLKAVM_MAGIC.every((b, i) => bytes[i] === b);
}

/** Reads one of PolkaVM's varints: the Gray Paper `E` codec restricted to 32-bit values. */
function varU32(r: ByteReader, what: string): number {
  const at = r.position;
  const value = r.varU64(what);
  if (r.position - at > 5 || value > 0xffffffffn) {
    throw r.error(`${what} is not a valid varint (more than 32 bits)`, at);
  }
  return Number(value);
}

const lenientUtf8 = new TextDecoder("utf-8");

/** Parses a `.polkavm` file spanning all of `bytes`; `baseOffset` shifts offsets in errors. */
export function parsePolkaVm(bytes: Uint8Array, baseOffset = 0): PolkaVmProgram {
  const r = new ByteReader(bytes, baseOffset);
  if (!hasPolkaVmMagic(bytes)) throw r.error("missing the .polkavm magic bytes 'PVM\\0'");
  r.position = 4;
  const version = r.u8("version");
  if (version === 1) {
    throw r.error(
      "32-bit PolkaVM programs (version 1, Latest32) are not supported: pvmbox runs 64-bit PVM",
      4,
    );
  }
  if (version >= POLKAVM_ISAS.length) {
    throw r.error(`unknown .polkavm version ${version} (known: 0, 2, 3)`, 4);
  }
  const declared = r.u64("total length");
  if (declared !== BigInt(bytes.length)) {
    throw r.error(`header says the file is ${declared} bytes but it is ${bytes.length}`, 5);
  }

  let roDataSize = 0, rwDataSize = 0, stackSize = 0;
  let roData: Uint8Array = new Uint8Array(0);
  let rwData: Uint8Array = new Uint8Array(0);
  let roDataAt = 0, rwDataAt = 0;
  let imports: string[] = [];
  let exports: PolkaVmExport[] = [];
  let blob: RawBlob | undefined;
  const skippedSections: number[] = [];
  let lastRequired = 0;

  for (;;) {
    const idAt = r.position;
    const id = r.u8("section id");
    if (id === Section.End) break;
    const length = varU32(r, `length of section ${id}`);
    const payloadAt = r.offset;
    const payload = r.take(length, `section ${id}`);
    if ((id & OPTIONAL_SECTION_BIT) !== 0) {
      skippedSections.push(id);
      continue;
    }
    if (id > Section.Code) throw r.error(`unknown required section ${id}`, idAt);
    if (id <= lastRequired || skippedSections.length > 0) {
      throw r.error(`section ${id} is out of order or repeated`, idAt);
    }
    lastRequired = id;
    const s = new ByteReader(payload, payloadAt);
    switch (id) {
      case Section.MemoryConfig:
        roDataSize = memorySize(s, "read-only data size");
        rwDataSize = memorySize(s, "read-write data size");
        stackSize = memorySize(s, "stack size");
        s.expectEnd("the memory configuration");
        break;
      case Section.RoData:
        [roData, roDataAt] = [payload, idAt];
        break;
      case Section.RwData:
        [rwData, rwDataAt] = [payload, idAt];
        break;
      case Section.Imports:
        imports = parseImports(s);
        break;
      case Section.Exports:
        exports = parseExports(s);
        break;
      case Section.Code:
        if (length === 0) throw r.error("the code section is empty", idAt);
        blob = parseBlob(payload, payloadAt);
        checkBitmaskPadding(blob, s);
        break;
    }
  }
  r.expectEnd("the end-of-file section");
  if (blob === undefined) throw r.error("no code section (id 6) before the end of the file");
  if (roData.length > roDataSize) {
    throw r.error(
      `read-only data is ${roData.length} bytes, more than its declared size ${roDataSize}`,
      roDataAt,
    );
  }
  if (rwData.length > rwDataSize) {
    throw r.error(
      `read-write data is ${rwData.length} bytes, more than its declared size ${rwDataSize}`,
      rwDataAt,
    );
  }
  return {
    version,
    isa: POLKAVM_ISAS[version],
    roDataSize,
    rwDataSize,
    stackSize,
    roData,
    rwData,
    imports,
    exports,
    blob,
    skippedSections,
  };
}

function memorySize(s: ByteReader, what: string): number {
  const at = s.position;
  const size = varU32(s, what);
  if (size > MAX_POLKAVM_MEMORY_SIZE) {
    throw s.error(
      `${what} is ${size} bytes; the JAM standard layout holds at most ${MAX_POLKAVM_MEMORY_SIZE}`,
      at,
    );
  }
  return size;
}

/** PolkaVM rejects a bitmask whose bits past the end of the code are set; so does pvmbox. */
function checkBitmaskPadding(blob: RawBlob, s: ByteReader): void {
  const used = blob.code.length % 8;
  if (used === 0) return;
  const last = blob.bitmask[blob.bitmask.length - 1];
  if ((last >> used) !== 0) {
    throw s.error("the opcode bitmask has set bits past the end of the code", s.bytes.length - 1);
  }
}

/** Imports: varint count, count × u32 offsets into the symbol bytes, then the symbol bytes. */
function parseImports(s: ByteReader): string[] {
  const countAt = s.position;
  const count = varU32(s, "import count");
  if (count > MAX_POLKAVM_IMPORTS) {
    throw s.error(`${count} imports, more than the limit ${MAX_POLKAVM_IMPORTS}`, countAt);
  }
  const offsetsAt = s.position;
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(s.fixed(4, `offset of import ${i}`));
  const symbols = s.take(s.remaining, "import symbols");
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const start = offsets[i];
    const end = i + 1 < count ? offsets[i + 1] : symbols.length;
    if (start > end || end > symbols.length) {
      throw s.error(
        `import ${i} spans symbol bytes ${start}…${end}, outside the ${symbols.length} there are`,
        offsetsAt + 4 * i,
      );
    }
    names.push(lenientUtf8.decode(symbols.subarray(start, end)));
  }
  return names;
}

/** Exports: varint count, then per export a varint pc and a length-prefixed symbol. */
function parseExports(s: ByteReader): PolkaVmExport[] {
  // Each export takes at least two bytes (a pc and a name length).
  const count = s.varLength("export count", 2, "exports");
  const exports: PolkaVmExport[] = [];
  for (let i = 0; i < count; i++) {
    const pc = varU32(s, `pc of export ${i}`);
    const length = varU32(s, `name length of export ${i}`);
    const name = lenientUtf8.decode(s.take(length, `name of export ${i}`));
    exports.push({ name, pc });
  }
  s.expectEnd("the last export");
  return exports;
}

function section(id: number, payload: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.of(id), encodeVarU64(payload.length), payload]);
}

/** What `encodePolkaVm` needs; omitted parts are empty. */
export interface PolkaVmParts {
  /** Version byte (instruction set); 0 when omitted. */
  readonly version?: number;
  /** Declared sizes; default to the data lengths and a stack of 0. */
  readonly roDataSize?: number;
  /** Declared read-write size. */
  readonly rwDataSize?: number;
  /** Declared stack size. */
  readonly stackSize?: number;
  /** Read-only data. */
  readonly roData?: Uint8Array;
  /** Read-write data. */
  readonly rwData?: Uint8Array;
  /** Imported symbol names. */
  readonly imports?: readonly string[];
  /** Exported entry points. */
  readonly exports?: readonly PolkaVmExport[];
  /** The code section: an encoded raw blob or its parts. */
  readonly blob: Uint8Array | RawBlob;
  /** Extra optional sections (ids with bit 7 set), written before the end marker. */
  readonly extraSections?: readonly { id: number; payload: Uint8Array }[];
}

/** Encodes a `.polkavm` file (for tools and tests). */
export function encodePolkaVm(p: PolkaVmParts): Uint8Array {
  const encoder = new TextEncoder();
  const roData = p.roData ?? new Uint8Array(0);
  const rwData = p.rwData ?? new Uint8Array(0);
  const parts: Uint8Array[] = [];
  const memory = [p.roDataSize ?? roData.length, p.rwDataSize ?? rwData.length, p.stackSize ?? 0];
  if (memory.some((v) => v > 0)) {
    parts.push(section(Section.MemoryConfig, concatBytes(memory.map((v) => encodeVarU64(v)))));
  }
  if (roData.length > 0) parts.push(section(Section.RoData, roData));
  if (rwData.length > 0) parts.push(section(Section.RwData, rwData));
  if (p.imports !== undefined && p.imports.length > 0) {
    const symbols = p.imports.map((name) => encoder.encode(name));
    const offsets: Uint8Array[] = [];
    let at = 0;
    for (const symbol of symbols) {
      offsets.push(encodeFixed(at, 4));
      at += symbol.length;
    }
    parts.push(
      section(Section.Imports, concatBytes([encodeVarU64(symbols.length), ...offsets, ...symbols])),
    );
  }
  if (p.exports !== undefined && p.exports.length > 0) {
    const body: Uint8Array[] = [encodeVarU64(p.exports.length)];
    for (const e of p.exports) {
      const name = encoder.encode(e.name);
      body.push(encodeVarU64(e.pc), encodeVarU64(name.length), name);
    }
    parts.push(section(Section.Exports, concatBytes(body)));
  }
  parts.push(section(Section.Code, p.blob instanceof Uint8Array ? p.blob : encodeBlob(p.blob)));
  for (const extra of p.extraSections ?? []) parts.push(section(extra.id, extra.payload));
  parts.push(Uint8Array.of(Section.End));
  const body = concatBytes(parts);
  const out = concatBytes([POLKAVM_MAGIC, Uint8Array.of(p.version ?? 0), new Uint8Array(8), body]);
  new DataView(out.buffer).setBigUint64(5, BigInt(out.length), true);
  return out;
}
