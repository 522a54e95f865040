/**
 * Just enough ELF64 reading to check what the native library depends on.
 * @module
 */

/** Dynamic-linking facts of an ELF64 shared object. */
export interface DynamicFacts {
  /** DT_NEEDED entries (names of required libraries). */
  readonly needed: string[];
  /** Undefined dynamic symbols (must be resolved from elsewhere at load time). */
  readonly undefinedSymbols: string[];
  /** Defined global functions. */
  readonly exportedFunctions: string[];
}

function cString(bytes: Uint8Array, offset: number): string {
  const end = bytes.indexOf(0, offset);
  return new TextDecoder().decode(bytes.subarray(offset, end));
}

/** Reads DT_NEEDED and the dynamic symbol table of an ELF64 little-endian file. */
export function dynamicFacts(bytes: Uint8Array): DynamicFacts {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) {
    throw new Error("not an ELF64 little-endian file");
  }
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const sections = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      type: view.getUint32(at + 4, true),
      offset: Number(view.getBigUint64(at + 0x18, true)),
      size: Number(view.getBigUint64(at + 0x20, true)),
      link: view.getUint32(at + 0x28, true),
    };
  });
  const SHT_DYNSYM = 11, SHT_DYNAMIC = 6;
  const needed: string[] = [];
  const undefinedSymbols: string[] = [];
  const exportedFunctions: string[] = [];
  for (const section of sections) {
    const strtab = sections[section.link];
    if (section.type === SHT_DYNAMIC) {
      for (let at = section.offset; at < section.offset + section.size; at += 16) {
        const tag = view.getBigInt64(at, true);
        if (tag === 1n) {
          needed.push(cString(bytes, strtab.offset + Number(view.getBigUint64(at + 8, true))));
        }
      }
    }
    if (section.type === SHT_DYNSYM) {
      for (let at = section.offset + 24; at < section.offset + section.size; at += 24) {
        const name = cString(bytes, strtab.offset + view.getUint32(at, true));
        const info = bytes[at + 4];
        const shndx = view.getUint16(at + 6, true);
        if (shndx === 0) undefinedSymbols.push(name);
        else if ((info & 0xf) === 2 && info >> 4 !== 0) exportedFunctions.push(name);
      }
    }
  }
  return { needed, undefinedSymbols, exportedFunctions };
}
