/**
 * Translates analysed PVM code into JavaScript, a chunk of consecutive basic blocks at a time,
 * so V8 compiles guest code to machine code. Inside a chunk the registers live in local
 * variables (int32 halves), each block is a `case` of a `switch` in a loop, and control flow
 * between blocks of the chunk never leaves the function; leaving the chunk or stopping writes
 * the registers back and returns.
 *
 * The generated code has exactly the interpreter's semantics: gas is checked and charged on
 * block entry, and every exit names the instruction it happened at, so the caller can finish
 * the bookkeeping (fault address rule, resumable state, executed-instruction count). Only
 * integers from the analysis arrays are written into the generated source, so a program
 * cannot inject code.
 * @module
 */
import type { ProgramAnalysis } from "../program/analysis.ts";
import { chunkBlocks, numberBlocks } from "../program/blocks.ts";
import type { Chunk } from "./chunk.ts";
import { chunkSource, RUNTIME } from "./emit_js.ts";

/**
 * Chunks longer than this (one huge block) are interpreted: their source would take long to
 * compile, could exceed V8's string limit, and would never be optimized.
 */
const MAX_TRANSLATED_INSTRUCTIONS = 5000;

/**
 * Most instructions translated into one chunk (unless one block is longer): ~100 bytes of V8
 * bytecode each keeps a chunk under TurboFan's 60 KiB limit, and smaller chunks warm up faster.
 */
const CHUNK_INSTRUCTIONS = 400;

/** Basic-block numbering and the chunks over it, for one analysed program. */
export class Translation {
  /** Block ordinal of each instruction that starts a block; -1 elsewhere. */
  readonly blockOf: Int32Array;
  /** Instruction number of each block ordinal. */
  readonly blockStart: Int32Array;
  /** Chunk number of each block ordinal. */
  readonly chunkOf: Int32Array;
  readonly #chunkFirst: number[];
  readonly #chunks: (Chunk | undefined)[] = [];
  readonly #untranslatable = new Set<number>();
  readonly #jumpBlocks: Int32Array;
  readonly #program: ProgramAnalysis;

  /** Numbers the blocks of `program` and splits them into chunks (translated lazily). */
  constructor(program: ProgramAnalysis) {
    this.#program = program;
    const blocks = numberBlocks(program);
    this.blockOf = blocks.blockOf;
    this.blockStart = blocks.blockStart;
    this.#chunkFirst = chunkBlocks(program, blocks, CHUNK_INSTRUCTIONS);
    this.chunkOf = new Int32Array(this.blockStart.length);
    for (let c = 0; c + 1 < this.#chunkFirst.length; c++) {
      this.chunkOf.fill(c, this.#chunkFirst[c], this.#chunkFirst[c + 1]);
    }
    this.#jumpBlocks = program.jumpTargets.map((t) => (t < 0 ? -1 : this.blockOf[t]));
  }

  /**
   * The chunk holding block ordinal `block`, translated on first use; undefined when it is not
   * translated (a single block too long to translate well, or an engine that forbids
   * generating code), and the caller interprets it instead.
   */
  chunkFor(block: number): Chunk | undefined {
    const c = this.chunkOf[block];
    const chunk = this.#chunks[c];
    if (chunk !== undefined || this.#untranslatable.has(c)) return chunk;
    try {
      if (this.#chunkSize(c) > MAX_TRANSLATED_INSTRUCTIONS) throw new RangeError("too long");
      return this.#chunks[c] = this.#translate(c);
    } catch {
      this.#untranslatable.add(c);
      return undefined;
    }
  }

  #chunkSize(c: number): number {
    let size = 0;
    for (let ord = this.#chunkFirst[c]; ord < this.#chunkFirst[c + 1]; ord++) {
      size += this.#program.toEnd[this.blockStart[ord]];
    }
    return size;
  }

  #translate(c: number): Chunk {
    const source = chunkSource(
      this.#program,
      this,
      this.#chunkFirst[c],
      this.#chunkFirst[c + 1],
    );
    const factory = new Function("jt", "rt", source) as (
      jt: Int32Array,
      rt: typeof RUNTIME,
    ) => Chunk;
    return factory(this.#jumpBlocks, RUNTIME);
  }
}
