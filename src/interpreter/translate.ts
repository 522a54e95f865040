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
import { Op } from "../program/isa/index.ts";
import { bswap32, ctz32, divS64, divU64, mulUpper, popcount32, remS64, remU64 } from "./arith64.ts";
import { ADDRESS_SPACE_SIZE, PAGE_SIZE } from "../pvm/mod.ts";
import { dynamicJumpTarget, JUMP_HALTS } from "../program/dynamic_jump.ts";
import type { PagedMemory } from "./memory.ts";
import type { ProgramAnalysis } from "../program/analysis.ts";

/** Why a chunk returned -1: the kinds of stop it reports through `ChunkState.kind`. */
export const StopKind = {
  /** A trap, an invalid jump target or an undecodable instruction at `index`. */
  Panic: 1,
  /** A dynamic jump to the halt address at `index`. */
  Halt: 2,
  /** A denied memory access at `index`; the lowest denied address is in `address`. */
  Fault: 3,
  /** `ecalli` at `index`. */
  HostCall: 4,
  /** The block starting at `index` costs more than the budget; nothing of it ran. */
  OutOfGas: 5,
} as const;

/** One of the `StopKind` values. */
export type StopKind = typeof StopKind[keyof typeof StopKind];

/** What a chunk reads and reports besides registers: shared with the interpreter. */
export interface ChunkState {
  /** Gas budget (a JS number, at most 2^52 plus one block). */
  budget: number;
  /** Instructions of the blocks entered so far (whole blocks; the caller corrects at stops). */
  executed: number;
  /** Why the last chunk stopped (valid when it returned -1). */
  kind: StopKind;
  /** Instruction number of the stop. */
  index: number;
  /** Lowest denied address, for `StopKind.Fault`. */
  address: number;
  /** `sbrk`: grows the heap and returns the old top (0 on failure). */
  sbrk(amountLow: number, amountHigh: number): number;
}

/** A fresh `ChunkState` whose `sbrk` is `sbrk` (one shape for every state, for V8's sake). */
export function chunkState(sbrk: (amountLow: number, amountHigh: number) => number): ChunkState {
  return { budget: 0, executed: 0, kind: StopKind.Panic, index: 0, address: 0, sbrk };
}

/**
 * A translated chunk: runs from block ordinal `block` and returns the ordinal of the next block
 * (outside the chunk) or -1 after a stop described in `state`.
 */
export type Chunk = (
  block: number,
  lo: Int32Array,
  hi: Int32Array,
  memory: PagedMemory,
  state: ChunkState,
) => number;

/** Helpers the generated code calls for rare or long operations. */
const RUNTIME = Object.freeze({
  dynamicJumpTarget,
  bswap32,
  ctz32,
  divS64,
  divU64,
  mulUpper,
  popcount32,
  remS64,
  remU64,
  tl: new Int32Array(1),
  th: new Int32Array(1),
});

/**
 * Chunks longer than this (one huge block) are interpreted: their source would take long to
 * compile, could exceed V8's string limit, and would never be optimized.
 */
const MAX_TRANSLATED_INSTRUCTIONS = 5000;

/** Most blocks in a loop region emitted as one JS loop (their code is emitted twice). */
const MAX_LOOP_BLOCKS = 8;

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
  readonly #chunkFirst: number[] = [];
  readonly #chunks: (Chunk | undefined)[] = [];
  readonly #untranslatable = new Set<number>();
  readonly #jumpBlocks: Int32Array;
  readonly #program: ProgramAnalysis;

  /** Numbers the blocks of `program` and splits them into chunks (translated lazily). */
  constructor(program: ProgramAnalysis) {
    this.#program = program;
    const { count, blockStart, toEnd, jumpTargets } = program;
    this.blockOf = new Int32Array(count).fill(-1);
    const starts: number[] = [];
    for (let i = 0; i < count; i++) {
      if (blockStart[i] === 1) {
        this.blockOf[i] = starts.length;
        starts.push(i);
      }
    }
    this.blockStart = Int32Array.from(starts);
    this.chunkOf = new Int32Array(starts.length);
    let size = 0;
    for (let ord = 0; ord < starts.length; ord++) {
      const length = toEnd[starts[ord]];
      if (ord === 0 || size + length > CHUNK_INSTRUCTIONS) {
        this.#chunkFirst.push(ord);
        size = 0;
      }
      size += length;
      this.chunkOf[ord] = this.#chunkFirst.length - 1;
    }
    this.#chunkFirst.push(starts.length);
    this.#jumpBlocks = jumpTargets.map((t) => (t < 0 ? -1 : this.blockOf[t]));
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

/** True for the instructions whose only targets are static (jumps, branches). */
function isStaticControl(op: number): boolean {
  return op === Op.jump || op === Op.load_imm_jump ||
    (op >= Op.branch_eq_imm && op <= Op.branch_gt_s_imm) ||
    (op >= Op.branch_eq && op <= Op.branch_ge_s);
}

/** Generates the source of the factory for the chunk of block ordinals [first, end). */
function chunkSource(p: ProgramAnalysis, t: Translation, first: number, end: number): string {
  const used = new Set<number>();
  const L = (r: number): string => {
    used.add(r);
    return `l${r}`;
  };
  const H = (r: number): string => {
    used.add(r);
    return `h${r}`;
  };

  // Stops only set locals: the shared epilogue stores them, so a rarely taken stop has no
  // property store of its own that V8 would deoptimize on for lack of feedback.
  const stop = (kind: StopKind, index: number, address = ""): string =>
    `{ sk = ${kind}; si = ${index};${address ? ` sa = ${address};` : ""} next = -1; break main; }`;

  // Emission context. A loop region is a run of blocks [loopHead, loopEnd] whose last block
  // branches back to its first; it is emitted as a labelled JS loop, so its back edge needs no
  // dispatch through the switch. `self` is the block being emitted and `nextCase` the block
  // whose code textually follows it (-1 when none), which a tail transfer can fall into.
  let self = -1, loopHead = -1, loopEnd = -1, nextCase = -1, afterLoop = "";

  /** Control transfer to block ordinal `ord`; a `tail` transfer is the block's last statement. */
  const goto = (ord: number, tail: boolean): string => {
    if (loopHead >= 0 && ord === loopHead) return `continue r${loopHead};`;
    if (loopHead >= 0 && tail && self === loopEnd) {
      afterLoop = leave(ord, true);
      return `break r${loopHead};`;
    }
    return leave(ord, tail);
  };
  const leave = (ord: number, tail: boolean): string => {
    if (ord < first || ord >= end) return `{ next = ${ord}; break main; }`;
    if (tail && ord === nextCase) return "";
    return `{ b = ${ord}; continue main; }`;
  };

  /** The last block of the loop region starting at block `head`, or -1 when there is none. */
  const regionEnd = (head: number): number => {
    const headPc = t.blockStart[head];
    for (let ord = head; ord < end && ord < head + MAX_LOOP_BLOCKS; ord++) {
      const start = t.blockStart[ord];
      const last = start + p.toEnd[start] - 1;
      if (isStaticControl(p.op[last]) && p.target[last] === headPc) return ord;
    }
    return -1;
  };

  /** Static branch to instruction `target` (or panic when it is no block start). */
  const branchTo = (target: number, i: number, tail: boolean): string =>
    target < 0 ? stop(StopKind.Panic, i) : goto(t.blockOf[target], tail);

  /** Dynamic jump to the address in local `ad`. */
  const dynamicJump = (i: number): string =>
    `{ const tb = rt.dynamicJumpTarget(jt, ad);
        if (tb === ${JUMP_HALTS}) ${stop(StopKind.Halt, i)}
        if (tb < 0) ${stop(StopKind.Panic, i)}
        if (tb >= ${first} && tb < ${end}) { b = tb; continue main; }
        next = tb; break main; }`;

  const set32 = (d: number, expr: string): string => `${L(d)} = ${expr}; ${H(d)} = ${L(d)} >> 31;`;
  const setPair = (d: number, l: string, h: string): string =>
    `{ const tl = ${l}, th = ${h}; ${L(d)} = tl; ${H(d)} = th; }`;
  const setBool = (d: number, cond: string): string => `${L(d)} = (${cond}) ? 1 : 0; ${H(d)} = 0;`;
  const ltU = (al: string, ah: string, bl: string, bh: string): string =>
    `(${ah} === ${bh} ? (${al} >>> 0) < (${bl} >>> 0) : (${ah} >>> 0) < (${bh} >>> 0))`;
  const ltS = (al: string, ah: string, bl: string, bh: string): string =>
    `(${ah} === ${bh} ? (${al} >>> 0) < (${bl} >>> 0) : ${ah} < ${bh})`;
  const viaHelper = (d: number, call: string): string =>
    `rt.${call}; ${L(d)} = rt.tl[0]; ${H(d)} = rt.th[0];`;

  /** 64-bit shifts/rotates of (al, ah) by count expression `s` (masked here). */
  const shift = (
    kind: "shl" | "shr" | "sar" | "rotr",
    d: number,
    al: string,
    ah: string,
    s: string,
  ) => {
    const body = {
      shl:
        `if (s === 0) { tl = ${al}; th = ${ah}; } else if (s < 32) { th = (${ah} << s) | (${al} >>> (32 - s)); tl = ${al} << s; } else { th = ${al} << (s - 32); tl = 0; }`,
      shr:
        `if (s === 0) { tl = ${al}; th = ${ah}; } else if (s < 32) { tl = (${al} >>> s) | (${ah} << (32 - s)); th = ${ah} >>> s; } else { tl = ${ah} >>> (s - 32); th = 0; }`,
      sar:
        `if (s === 0) { tl = ${al}; th = ${ah}; } else if (s < 32) { tl = (${al} >>> s) | (${ah} << (32 - s)); th = ${ah} >> s; } else { tl = ${ah} >> (s - 32); th = ${ah} >> 31; }`,
      rotr:
        `let xl = ${al}, xh = ${ah}; if (s >= 32) { const sw = xl; xl = xh; xh = sw; } const r = s & 31; if (r === 0) { tl = xl; th = xh; } else { tl = (xl >>> r) | (xh << (32 - r)); th = (xh >>> r) | (xl << (32 - r)); }`,
    }[kind];
    return `{ const s = (${s}) & 63; let tl = 0, th = 0; ${body} ${L(d)} = tl | 0; ${
      H(d)
    } = th | 0; }`;
  };

  /** Constant 64-bit shift/rotate of (al, ah) by `n`, straight-line. */
  const shiftConst = (
    kind: "shl" | "shr" | "sar" | "rotr",
    d: number,
    al: string,
    ah: string,
    n: number,
  ) => {
    const s = n & 63;
    if (s === 0) return setPair(d, al, ah);
    if (kind === "rotr") {
      const [xl, xh] = s >= 32 ? [ah, al] : [al, ah];
      const r = s & 31;
      if (r === 0) return setPair(d, xl, xh);
      return setPair(
        d,
        `(${xl} >>> ${r}) | (${xh} << ${32 - r})`,
        `(${xh} >>> ${r}) | (${xl} << ${32 - r})`,
      );
    }
    if (s < 32) {
      if (kind === "shl") {
        return setPair(d, `${al} << ${s}`, `(${ah} << ${s}) | (${al} >>> ${32 - s})`);
      }
      const h = kind === "shr" ? `(${ah} >>> ${s}) | 0` : `${ah} >> ${s}`;
      return setPair(d, `(${al} >>> ${s}) | (${ah} << ${32 - s})`, h);
    }
    if (kind === "shl") return setPair(d, "0", `${al} << ${s - 32}`);
    if (kind === "shr") return setPair(d, `(${ah} >>> ${s - 32}) | 0`, "0");
    return setPair(d, `${ah} >> ${s - 32}`, `${ah} >> 31`);
  };

  /** 64-bit product mod 2^64, inline (16-bit limbs for the high half of the low product). */
  const mul64 = (d: number, al: string, ah: string, bl: string, bh: string): string =>
    `{ const al = ${al}, bl = ${bl};
      const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
      const p00 = Math.imul(a0, b0), p01 = Math.imul(a0, b1), p10 = Math.imul(a1, b0);
      const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
      const th = (Math.imul(a1, b1) + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) +
        Math.imul(al, ${bh}) + Math.imul(${ah}, bl)) | 0;
      ${L(d)} = Math.imul(al, bl); ${H(d)} = th; }`;

  // A slow-path access may give a lazily added heap page its slot, replacing the tables or
  // the store the fast path holds in locals.
  const refresh = "rb = mem.readBase; wb = mem.writeBase; dv = mem.view;";

  /** Load of kind k (0 u8 … 6 u64) from address expression `addr` into register `a`. */
  const load = (k: number, a: number, addr: string, i: number): string => {
    const size = k === 6 ? 8 : 1 << (k >> 1);
    const fast = [
      `${L(a)} = dv.getUint8(at); ${H(a)} = 0;`,
      `${L(a)} = dv.getInt8(at); ${H(a)} = ${L(a)} >> 31;`,
      `${L(a)} = dv.getUint16(at, true); ${H(a)} = 0;`,
      `${L(a)} = dv.getInt16(at, true); ${H(a)} = ${L(a)} >> 31;`,
      `${L(a)} = dv.getInt32(at, true); ${H(a)} = 0;`,
      `${L(a)} = dv.getInt32(at, true); ${H(a)} = ${L(a)} >> 31;`,
      `{ const tl = dv.getInt32(at, true), th = dv.getInt32(at + 4, true); ${L(a)} = tl; ${
        H(a)
      } = th; }`,
    ][k];
    const slow = [
      `${L(a)} = sc[0]; ${H(a)} = 0;`,
      `${L(a)} = (sc[0] << 24) >> 24; ${H(a)} = ${L(a)} >> 31;`,
      `${L(a)} = sc[0]; ${H(a)} = 0;`,
      `${L(a)} = (sc[0] << 16) >> 16; ${H(a)} = ${L(a)} >> 31;`,
      `${L(a)} = sc[0]; ${H(a)} = 0;`,
      `${L(a)} = sc[0]; ${H(a)} = ${L(a)} >> 31;`,
      `${L(a)} = sc[0]; ${H(a)} = sc[1];`,
    ][k];
    return `{ const ad = ${addr}; const bs = rb[ad >>> 12], o = ad & 4095;
      if (bs !== 0 && o <= ${PAGE_SIZE - size}) { const at = bs + o; ${fast} }
      else { const f = mem.loadSlow(ad, ${size}); ${refresh} if (f >= 0) ${
      stop(StopKind.Fault, i, "f")
    } ${slow} } }`;
  };

  /** Store of 1 << k bytes of (vl, vh) at address expression `addr`. */
  const store = (k: number, addr: string, vl: string, vh: string, i: number): string => {
    const size = 1 << k;
    const fast = [
      `dv.setUint8(at, ${vl});`,
      `dv.setUint16(at, ${vl}, true);`,
      `dv.setInt32(at, ${vl}, true);`,
      `dv.setInt32(at, ${vl}, true); dv.setInt32(at + 4, ${vh}, true);`,
    ][k];
    return `{ const ad = ${addr}; const bs = wb[ad >>> 12], o = ad & 4095;
      if (bs !== 0 && o <= ${PAGE_SIZE - size}) { const at = bs + o; ${fast} }
      else { const f = mem.storeSlow(ad, ${size}, ${vl}, ${vh}); ${refresh} if (f >= 0) ${
      stop(StopKind.Fault, i, "f")
    } } }`;
  };

  /** One instruction; terminators end with a transfer of control. */
  const instruction = (i: number): string => {
    const op = p.op[i], a = p.ra[i], b = p.rb[i], d = p.rd[i], x = p.x[i], y = p.y[i];
    const xh = x >> 31, xu = x >>> 0, yh = y >> 31;
    const next = (): string => goto(t.blockOf[i + 1], true);
    const branch = (cond: string): string =>
      `if (${cond}) { ${branchTo(p.target[i], i, false)} } ${next()}`;
    switch (op) {
      case Op.trap:
        return stop(StopKind.Panic, i);
      case Op.fallthrough:
        return next();
      case Op.unlikely:
        return "";
      case Op.ecalli:
        return stop(StopKind.HostCall, i);
      case Op.load_imm_64:
        return `${L(a)} = ${x}; ${H(a)} = ${y};`;
      case Op.store_imm_u8:
      case Op.store_imm_u16:
      case Op.store_imm_u32:
      case Op.store_imm_u64:
        return store(op - Op.store_imm_u8, `${xu}`, `${y}`, `${yh}`, i);
      case Op.jump:
        return branchTo(p.target[i], i, true);
      case Op.jump_ind:
        return `{ const ad = (${L(a)} + ${x}) >>> 0; ${dynamicJump(i)} }`;
      case Op.load_imm:
        return `${L(a)} = ${x}; ${H(a)} = ${xh};`;
      case Op.load_u8:
      case Op.load_i8:
      case Op.load_u16:
      case Op.load_i16:
      case Op.load_u32:
      case Op.load_i32:
      case Op.load_u64:
        return load(op - Op.load_u8, a, `${xu}`, i);
      case Op.store_u8:
      case Op.store_u16:
      case Op.store_u32:
      case Op.store_u64:
        return store(op - Op.store_u8, `${xu}`, L(a), H(a), i);
      case Op.store_imm_ind_u8:
      case Op.store_imm_ind_u16:
      case Op.store_imm_ind_u32:
      case Op.store_imm_ind_u64:
        return store(op - Op.store_imm_ind_u8, `(${L(a)} + ${x}) >>> 0`, `${y}`, `${yh}`, i);
      case Op.load_imm_jump:
        return `${L(a)} = ${x}; ${H(a)} = ${xh}; ${branchTo(p.target[i], i, true)}`;
      case Op.branch_eq_imm:
        return branch(`${L(a)} === ${x} && ${H(a)} === ${xh}`);
      case Op.branch_ne_imm:
        return branch(`${L(a)} !== ${x} || ${H(a)} !== ${xh}`);
      case Op.branch_lt_u_imm:
        return branch(ltU(L(a), H(a), `${x}`, `${xh}`));
      case Op.branch_le_u_imm:
        return branch(`!${ltU(`${x}`, `${xh}`, L(a), H(a))}`);
      case Op.branch_ge_u_imm:
        return branch(`!${ltU(L(a), H(a), `${x}`, `${xh}`)}`);
      case Op.branch_gt_u_imm:
        return branch(ltU(`${x}`, `${xh}`, L(a), H(a)));
      case Op.branch_lt_s_imm:
        return branch(ltS(L(a), H(a), `${x}`, `${xh}`));
      case Op.branch_le_s_imm:
        return branch(`!${ltS(`${x}`, `${xh}`, L(a), H(a))}`);
      case Op.branch_ge_s_imm:
        return branch(`!${ltS(L(a), H(a), `${x}`, `${xh}`)}`);
      case Op.branch_gt_s_imm:
        return branch(ltS(`${x}`, `${xh}`, L(a), H(a)));
      case Op.move_reg:
        return setPair(d, L(a), H(a));
      case Op.sbrk:
        return `{ const r = st.sbrk(${L(a)}, ${H(a)}); ${L(d)} = r | 0; ${
          H(d)
        } = r >= ${ADDRESS_SPACE_SIZE} ? 1 : 0; }`;
      case Op.count_set_bits_64:
        return `${L(d)} = rt.popcount32(${L(a)}) + rt.popcount32(${H(a)}); ${H(d)} = 0;`;
      case Op.count_set_bits_32:
        return `${L(d)} = rt.popcount32(${L(a)}); ${H(d)} = 0;`;
      case Op.leading_zero_bits_64:
        return `${L(d)} = ${H(a)} !== 0 ? Math.clz32(${H(a)}) : 32 + Math.clz32(${L(a)}); ${
          H(d)
        } = 0;`;
      case Op.leading_zero_bits_32:
        return `${L(d)} = Math.clz32(${L(a)}); ${H(d)} = 0;`;
      case Op.trailing_zero_bits_64:
        return `${L(d)} = ${L(a)} !== 0 ? rt.ctz32(${L(a)}) : 32 + rt.ctz32(${H(a)}); ${H(d)} = 0;`;
      case Op.trailing_zero_bits_32:
        return `${L(d)} = rt.ctz32(${L(a)}); ${H(d)} = 0;`;
      case Op.sign_extend_8:
        return set32(d, `(${L(a)} << 24) >> 24`);
      case Op.sign_extend_16:
        return set32(d, `(${L(a)} << 16) >> 16`);
      case Op.zero_extend_16:
        return `${L(d)} = ${L(a)} & 0xffff; ${H(d)} = 0;`;
      case Op.reverse_bytes:
        return setPair(d, `rt.bswap32(${H(a)})`, `rt.bswap32(${L(a)})`);
      case Op.store_ind_u8:
      case Op.store_ind_u16:
      case Op.store_ind_u32:
      case Op.store_ind_u64:
        return store(op - Op.store_ind_u8, `(${L(b)} + ${x}) >>> 0`, L(a), H(a), i);
      case Op.load_ind_u8:
      case Op.load_ind_i8:
      case Op.load_ind_u16:
      case Op.load_ind_i16:
      case Op.load_ind_u32:
      case Op.load_ind_i32:
      case Op.load_ind_u64:
        return load(op - Op.load_ind_u8, a, `(${L(b)} + ${x}) >>> 0`, i);
      case Op.add_imm_32:
        return set32(a, `(${L(b)} + ${x}) | 0`);
      case Op.and_imm:
        return setPair(a, `${L(b)} & ${x}`, xh === 0 ? "0" : H(b));
      case Op.xor_imm:
        return setPair(a, `${L(b)} ^ ${x}`, xh === 0 ? H(b) : `~${H(b)}`);
      case Op.or_imm:
        return setPair(a, `${L(b)} | ${x}`, xh === 0 ? H(b) : "-1");
      case Op.mul_imm_32:
        return set32(a, `Math.imul(${L(b)}, ${x})`);
      case Op.set_lt_u_imm:
        return setBool(a, ltU(L(b), H(b), `${x}`, `${xh}`));
      case Op.set_lt_s_imm:
        return setBool(a, ltS(L(b), H(b), `${x}`, `${xh}`));
      case Op.shlo_l_imm_32:
        return set32(a, `${L(b)} << ${x & 31}`);
      case Op.shlo_r_imm_32:
        return set32(a, `(${L(b)} >>> ${x & 31}) | 0`);
      case Op.shar_r_imm_32:
        return set32(a, `${L(b)} >> ${x & 31}`);
      case Op.neg_add_imm_32:
        return set32(a, `(${x} - ${L(b)}) | 0`);
      case Op.set_gt_u_imm:
        return setBool(a, ltU(`${x}`, `${xh}`, L(b), H(b)));
      case Op.set_gt_s_imm:
        return setBool(a, ltS(`${x}`, `${xh}`, L(b), H(b)));
      case Op.shlo_l_imm_alt_32:
        return set32(a, `${x} << ${L(b)}`);
      case Op.shlo_r_imm_alt_32:
        return set32(a, `(${x} >>> ${L(b)}) | 0`);
      case Op.shar_r_imm_alt_32:
        return set32(a, `${x} >> ${L(b)}`);
      case Op.cmov_iz_imm:
        return `if (${L(b)} === 0 && ${H(b)} === 0) { ${L(a)} = ${x}; ${H(a)} = ${xh}; }`;
      case Op.cmov_nz_imm:
        return `if (${L(b)} !== 0 || ${H(b)} !== 0) { ${L(a)} = ${x}; ${H(a)} = ${xh}; }`;
      case Op.add_imm_64:
        return `{ const bl = ${L(b)}, tl = (bl + ${x}) | 0; ${H(a)} = (${
          H(b)
        } + ${xh} + ((tl >>> 0) < (bl >>> 0) ? 1 : 0)) | 0; ${L(a)} = tl; }`;
      case Op.mul_imm_64:
        return mul64(a, L(b), H(b), `${x}`, `${xh}`);
      case Op.shlo_l_imm_64:
        return shiftConst("shl", a, L(b), H(b), x);
      case Op.shlo_r_imm_64:
        return shiftConst("shr", a, L(b), H(b), x);
      case Op.shar_r_imm_64:
        return shiftConst("sar", a, L(b), H(b), x);
      case Op.neg_add_imm_64:
        return `{ const bl = ${L(b)}, tl = (${x} - bl) | 0; ${H(a)} = (${xh} - ${
          H(b)
        } - (${xu} < (bl >>> 0) ? 1 : 0)) | 0; ${L(a)} = tl; }`;
      case Op.shlo_l_imm_alt_64:
        return shift("shl", a, `${x}`, `${xh}`, L(b));
      case Op.shlo_r_imm_alt_64:
        return shift("shr", a, `${x}`, `${xh}`, L(b));
      case Op.shar_r_imm_alt_64:
        return shift("sar", a, `${x}`, `${xh}`, L(b));
      case Op.rot_r_64_imm:
        return shiftConst("rotr", a, L(b), H(b), x);
      case Op.rot_r_64_imm_alt:
        return shift("rotr", a, `${x}`, `${xh}`, L(b));
      case Op.rot_r_32_imm: {
        const s = x & 31;
        return set32(a, s === 0 ? L(b) : `(${L(b)} >>> ${s}) | (${L(b)} << ${32 - s})`);
      }
      case Op.rot_r_32_imm_alt:
        return `{ const s = ${L(b)} & 31; ${set32(a, `(${x} >>> s) | (${x} << (32 - s))`)} }`;
      case Op.branch_eq:
        return branch(`${L(a)} === ${L(b)} && ${H(a)} === ${H(b)}`);
      case Op.branch_ne:
        return branch(`${L(a)} !== ${L(b)} || ${H(a)} !== ${H(b)}`);
      case Op.branch_lt_u:
        return branch(ltU(L(a), H(a), L(b), H(b)));
      case Op.branch_lt_s:
        return branch(ltS(L(a), H(a), L(b), H(b)));
      case Op.branch_ge_u:
        return branch(`!${ltU(L(a), H(a), L(b), H(b))}`);
      case Op.branch_ge_s:
        return branch(`!${ltS(L(a), H(a), L(b), H(b))}`);
      case Op.load_imm_jump_ind:
        return `{ const ad = (${L(b)} + ${y}) >>> 0; ${L(a)} = ${x}; ${H(a)} = ${xh}; ${
          dynamicJump(i)
        } }`;
      case Op.add_32:
        return set32(d, `(${L(a)} + ${L(b)}) | 0`);
      case Op.sub_32:
        return set32(d, `(${L(a)} - ${L(b)}) | 0`);
      case Op.mul_32:
        return set32(d, `Math.imul(${L(a)}, ${L(b)})`);
      case Op.div_u_32:
        return `{ const bl = ${L(b)}; ${
          set32(d, `bl === 0 ? -1 : ((${L(a)} >>> 0) / (bl >>> 0)) | 0`)
        } }`;
      case Op.div_s_32:
        return `{ const al = ${L(a)}, bl = ${L(b)}; ${
          set32(d, `bl === 0 ? -1 : al === -2147483648 && bl === -1 ? al : (al / bl) | 0`)
        } }`;
      case Op.rem_u_32:
        return `{ const al = ${L(a)}, bl = ${L(b)}; ${
          set32(d, `bl === 0 ? al : ((al >>> 0) % (bl >>> 0)) | 0`)
        } }`;
      case Op.rem_s_32:
        return `{ const al = ${L(a)}, bl = ${L(b)}; ${
          set32(d, `bl === 0 ? al : al === -2147483648 && bl === -1 ? 0 : (al % bl) | 0`)
        } }`;
      case Op.shlo_l_32:
        return set32(d, `${L(a)} << ${L(b)}`);
      case Op.shlo_r_32:
        return set32(d, `(${L(a)} >>> ${L(b)}) | 0`);
      case Op.shar_r_32:
        return set32(d, `${L(a)} >> ${L(b)}`);
      case Op.add_64:
        return `{ const al = ${L(a)}, tl = (al + ${L(b)}) | 0; ${H(d)} = (${H(a)} + ${
          H(b)
        } + ((tl >>> 0) < (al >>> 0) ? 1 : 0)) | 0; ${L(d)} = tl; }`;
      case Op.sub_64:
        return `{ const al = ${L(a)}, bl = ${L(b)}; ${H(d)} = (${H(a)} - ${
          H(b)
        } - ((al >>> 0) < (bl >>> 0) ? 1 : 0)) | 0; ${L(d)} = (al - bl) | 0; }`;
      case Op.mul_64:
        return mul64(d, L(a), H(a), L(b), H(b));
      case Op.div_u_64:
        return viaHelper(d, `divU64(rt.tl, rt.th, 0, ${L(a)}, ${H(a)}, ${L(b)}, ${H(b)})`);
      case Op.div_s_64:
        return viaHelper(d, `divS64(rt.tl, rt.th, 0, ${L(a)}, ${H(a)}, ${L(b)}, ${H(b)})`);
      case Op.rem_u_64:
        return viaHelper(d, `remU64(rt.tl, rt.th, 0, ${L(a)}, ${H(a)}, ${L(b)}, ${H(b)})`);
      case Op.rem_s_64:
        return viaHelper(d, `remS64(rt.tl, rt.th, 0, ${L(a)}, ${H(a)}, ${L(b)}, ${H(b)})`);
      case Op.shlo_l_64:
        return shift("shl", d, L(a), H(a), L(b));
      case Op.shlo_r_64:
        return shift("shr", d, L(a), H(a), L(b));
      case Op.shar_r_64:
        return shift("sar", d, L(a), H(a), L(b));
      case Op.and:
        return setPair(d, `${L(a)} & ${L(b)}`, `${H(a)} & ${H(b)}`);
      case Op.xor:
        return setPair(d, `${L(a)} ^ ${L(b)}`, `${H(a)} ^ ${H(b)}`);
      case Op.or:
        return setPair(d, `${L(a)} | ${L(b)}`, `${H(a)} | ${H(b)}`);
      case Op.mul_upper_s_s:
      case Op.mul_upper_u_u:
      case Op.mul_upper_s_u: {
        const sa = op !== Op.mul_upper_u_u, sb = op === Op.mul_upper_s_s;
        return viaHelper(
          d,
          `mulUpper(rt.tl, rt.th, 0, ${L(a)}, ${H(a)}, ${sa}, ${L(b)}, ${H(b)}, ${sb})`,
        );
      }
      case Op.set_lt_u:
        return setBool(d, ltU(L(a), H(a), L(b), H(b)));
      case Op.set_lt_s:
        return setBool(d, ltS(L(a), H(a), L(b), H(b)));
      case Op.cmov_iz:
        return `if (${L(b)} === 0 && ${H(b)} === 0) ${setPair(d, L(a), H(a))}`;
      case Op.cmov_nz:
        return `if (${L(b)} !== 0 || ${H(b)} !== 0) ${setPair(d, L(a), H(a))}`;
      case Op.rot_l_64:
        return shift("rotr", d, L(a), H(a), `64 - (${L(b)} & 63)`);
      case Op.rot_l_32:
        return `{ const s = ${L(b)} & 31, al = ${L(a)}; ${
          set32(d, `(al << s) | (al >>> (32 - s))`)
        } }`;
      case Op.rot_r_64:
        return shift("rotr", d, L(a), H(a), L(b));
      case Op.rot_r_32:
        return `{ const s = ${L(b)} & 31, al = ${L(a)}; ${
          set32(d, `(al >>> s) | (al << (32 - s))`)
        } }`;
      case Op.and_inv:
        return setPair(d, `${L(a)} & ~${L(b)}`, `${H(a)} & ~${H(b)}`);
      case Op.or_inv:
        return setPair(d, `${L(a)} | ~${L(b)}`, `${H(a)} | ~${H(b)}`);
      case Op.xnor:
        return setPair(d, `~(${L(a)} ^ ${L(b)})`, `~(${H(a)} ^ ${H(b)})`);
      case Op.max:
      case Op.min:
      case Op.max_u:
      case Op.min_u: {
        const lt = op === Op.max || op === Op.min ? ltS : ltU;
        const aWins = op === Op.min || op === Op.min_u
          ? lt(L(a), H(a), L(b), H(b))
          : `!${lt(L(a), H(a), L(b), H(b))}`;
        return `if (${aWins}) ${setPair(d, L(a), H(a))} else ${setPair(d, L(b), H(b))}`;
      }
      default:
        return stop(StopKind.Panic, i);
    }
  };

  // When every block costs its length in gas, the instructions entered are the gas spent, so
  // the count needs no work per block.
  let gasCounts = true;
  for (let ord = first; ord < end; ord++) {
    const start = t.blockStart[ord];
    if (p.entryCost[start] !== p.toEnd[start]) gasCounts = false;
  }
  const blockCode = (ord: number): string => {
    self = ord;
    const start = t.blockStart[ord];
    const length = p.toEnd[start];
    const body = [
      `if (budget < ${p.entryCost[start]}) ${stop(StopKind.OutOfGas, start)}`,
      `budget -= ${p.entryCost[start]};${gasCounts ? "" : ` ex += ${length};`}`,
    ];
    for (let i = start; i < start + length; i++) body.push(instruction(i));
    return `{\n${body.join("\n")}\n}`;
  };
  const cases: string[] = [];
  // Blocks inside a loop region after its head also get a plain case, for entries from
  // elsewhere; those go after all others, where no tail can fall into them.
  const plain: number[] = [];
  const ends = new Int32Array(end - first);
  for (let ord = first; ord < end; ord++) ends[ord - first] = regionEnd(ord);
  // Only innermost loops become JS loops: a region holding another loop head would send that
  // inner loop's every iteration through the switch.
  const innermost = (head: number): number => {
    const last = ends[head - first];
    for (let k = head + 1; k <= last; k++) if (ends[k - first] >= 0) return -1;
    return last;
  };
  for (let ord = first; ord < end; ord++) {
    const last = innermost(ord);
    if (last < 0) {
      nextCase = ord + 1;
      cases.push(`case ${ord}: ${blockCode(ord)}`);
      continue;
    }
    loopHead = ord;
    loopEnd = last;
    afterLoop = "";
    const bodies: string[] = [];
    for (let k = ord; k <= last; k++) {
      nextCase = k + 1; // inside the loop, block k's code is followed by block k + 1's
      bodies.push(blockCode(k));
    }
    loopHead = loopEnd = -1;
    cases.push(`case ${ord}: r${ord}: for (;;) {\n${bodies.join("\n")}\n}\n${afterLoop}`);
    for (let k = ord + 1; k <= last; k++) plain.push(k);
    ord = last;
  }
  nextCase = -1;
  for (const ord of plain) cases.push(`case ${ord}: ${blockCode(ord)}`);
  const regs = [...used].sort((m, n) => m - n);
  return `"use strict";
return function chunk(b, lo, hi, mem, st) {
  let budget = st.budget, ex = 0, next = -1, sk = 0, si = 0, sa = 0;
  const budget0 = budget;
  const sc = mem.scratch;
  let rb = mem.readBase, wb = mem.writeBase, dv = mem.view;
  ${regs.map((r) => `let l${r} = lo[${r}], h${r} = hi[${r}];`).join(" ")}
  main: for (;;) {
    switch (b) {
${cases.join("\n")}
      default: next = b; break main;
    }
  }
  ${regs.map((r) => `lo[${r}] = l${r}; hi[${r}] = h${r};`).join(" ")}
  st.budget = budget; st.executed += ${
    gasCounts ? "budget0 - budget" : "ex"
  }; st.kind = sk; st.index = si; st.address = sa;
  return next;
};`;
}
