/**
 * Compiled programs cached by content hash: every sandbox of the process that runs the same
 * program (same code, bitmask, jump table and ISA profile) shares one compilation, read-only.
 * @module
 */
import { createHash } from "node:crypto";
import type { CodeBlob, ProgramAnalysis } from "../../program/analysis.ts";

/** Most compilations kept; the least recently used are dropped beyond this… */
const CACHE_ENTRIES = 64;
/** …or beyond this many bytes of machine code in all. */
const CACHE_BYTES = 256 << 20;

/** SHA-256 of everything compilation depends on. */
function contentHash(blob: CodeBlob, program: ProgramAnalysis): string {
  const hash = createHash("sha256");
  const header = new Uint32Array([blob.code.length, blob.bitmask.length, blob.jumpTable.length]);
  hash.update(new Uint8Array(header.buffer));
  hash.update(blob.code);
  hash.update(blob.bitmask);
  hash.update(new Uint8Array(Uint32Array.from(blob.jumpTable).buffer));
  hash.update(program.profile.name);
  return hash.digest("hex");
}

/** A process-wide cache of compilations `C` of programs, by content hash. */
export class CodeCache<C extends { readonly code: Uint8Array }> {
  readonly #compile: (program: ProgramAnalysis) => C;
  readonly #byHash = new Map<string, C>();
  readonly #byProgram = new WeakMap<ProgramAnalysis, string>();
  #bytes = 0;
  #compilations = 0;
  /** The key last in `#byHash`'s insertion order. */
  #mostRecent: string | undefined;

  /** A cache that compiles with `compile` on a miss. */
  constructor(compile: (program: ProgramAnalysis) => C) {
    this.#compile = compile;
  }

  /** How many times this cache compiled (misses). */
  get compilations(): number {
    return this.#compilations;
  }

  /** The compilation of `program` (decoded from `blob`), compiled now only on a miss. */
  get(blob: CodeBlob, program: ProgramAnalysis): C {
    let key = this.#byProgram.get(program);
    if (key === undefined) {
      key = contentHash(blob, program);
      this.#byProgram.set(program, key);
    }
    let compiled = this.#byHash.get(key);
    if (compiled !== undefined) {
      // Most recently used last in the map's insertion order (already there when the same
      // program is instantiated again and again: no reinsertion then).
      if (key !== this.#mostRecent) {
        this.#byHash.delete(key);
        this.#byHash.set(key, compiled);
        this.#mostRecent = key;
      }
      return compiled;
    }
    compiled = this.#compile(program);
    this.#compilations++;
    this.#byHash.set(key, compiled);
    this.#mostRecent = key;
    this.#bytes += compiled.code.length;
    while (this.#byHash.size > CACHE_ENTRIES || this.#bytes > CACHE_BYTES) {
      const [oldestKey, oldest] = this.#byHash.entries().next().value!;
      if (oldest === compiled) break;
      this.#byHash.delete(oldestKey);
      this.#bytes -= oldest.code.length;
    }
    return compiled;
  }
}
