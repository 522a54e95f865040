/**
 * JavaScript emission for translated chunks: the source of one chunk of consecutive basic blocks,
 * with the registers in local variables, each block a `case` of a `switch` in a loop, and
 * innermost loop regions (planned by `src/program/blocks.ts`) as labelled JS loops. Only
 * integers from the analysis arrays are written into the source, so a program cannot inject
 * code.
 * @module
 */
import type { ProgramAnalysis } from "../program/analysis.ts";
import { type BlockNumbering, innermostLoops } from "../program/blocks.ts";
import { dynamicJumpTarget, JUMP_HALTS } from "../program/dynamic_jump.ts";
import { Op } from "../program/isa/index.ts";
import { ADDRESS_SPACE_SIZE, PAGE_SIZE } from "../pvm/mod.ts";
import { bswap32, ctz32, divS64, divU64, mulUpper, popcount32, remS64, remU64 } from "./arith64.ts";
import { StopKind } from "./chunk.ts";

/** Helpers the generated code calls for rare or long operations. */
export const RUNTIME = Object.freeze({
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

/** Most blocks in a loop region emitted as one JS loop (their code is emitted twice). */
const MAX_LOOP_BLOCKS = 8;

/** Generates the source of the factory for the chunk of block ordinals [first, end). */
export function chunkSource(
  p: ProgramAnalysis,
  t: BlockNumbering,
  first: number,
  end: number,
): string {
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
  // Only innermost loops become JS loops: a region holding another loop head would send that
  // inner loop's every iteration through the switch.
  const loops = innermostLoops(p, t, first, end, MAX_LOOP_BLOCKS);
  for (let ord = first; ord < end; ord++) {
    const last = loops[ord - first];
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
