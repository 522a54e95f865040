/**
 * The dispatch loop's operations on split 64-bit registers (int32 low and high halves in two
 * arrays): loads and stores with their fast in-page path, branch conditions, and the
 * arithmetic of the reg_reg, reg_reg_imm and reg3 instruction groups, switched on the
 * instruction id. Cases name their instruction with `satisfies typeof Op.<name>` next to the
 * id literal V8 needs for a jump table, so the type checker proves each one.
 * @module
 */
import {
  bswap32,
  ctz32,
  divS64,
  divU64,
  ltS64,
  ltU64,
  mul64,
  mulUpper,
  popcount32,
  remS64,
  remU64,
  rotr64,
  sar64,
  shl64,
  shr64,
} from "./arith64.ts";
import { Op } from "../program/isa/index.ts";
import { PAGE_SIZE } from "../pvm/mod.ts";
import type { PagedMemory } from "./memory.ts";

/**
 * Loads kind k (0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 u64) at `address` into
 * `mem.scratch` as low/high halves. The memory's tables and store are read on each call: a
 * slow-path access may replace them (a lazily added heap page gets its slot). Returns -1, or the lowest inaccessible address touched.
 */
export function load(mem: PagedMemory, address: number, kind: number): number {
  const scratch = mem.scratch, view = mem.view;
  const size = kind === 6 ? 8 : 1 << (kind >> 1);
  const base = mem.readBase[address >>> 12];
  const offset = address & 0xfff;
  let l: number;
  if (base !== 0 && offset <= PAGE_SIZE - size) {
    const at = base + offset;
    switch (kind) {
      case 0:
        l = view.getUint8(at);
        break;
      case 1:
        l = view.getInt8(at);
        break;
      case 2:
        l = view.getUint16(at, true);
        break;
      case 3:
        l = view.getInt16(at, true);
        break;
      case 6:
        scratch[0] = view.getInt32(at, true);
        scratch[1] = view.getInt32(at + 4, true);
        return -1;
      default:
        l = view.getInt32(at, true);
    }
  } else {
    const f = mem.loadSlow(address, size);
    if (f >= 0) return f;
    if (kind === 6) return -1;
    l = scratch[0];
    if (kind === 1) l = (l << 24) >> 24;
    else if (kind === 3) l = (l << 16) >> 16;
  }
  scratch[0] = l;
  scratch[1] = (kind & 1) === 1 ? l >> 31 : 0;
  return -1;
}

/**
 * Stores the low 1 << k bytes of (l, h) at `address`. Returns -1, or the lowest non-writable
 * address touched (nothing is written then).
 */
export function store(mem: PagedMemory, address: number, k: number, l: number, h: number): number {
  const view = mem.view;
  const size = 1 << k;
  const base = mem.writeBase[address >>> 12];
  const offset = address & 0xfff;
  if (base !== 0 && offset <= PAGE_SIZE - size) {
    const at = base + offset;
    switch (k) {
      case 0:
        view.setUint8(at, l);
        break;
      case 1:
        view.setUint16(at, l, true);
        break;
      case 2:
        view.setInt32(at, l, true);
        break;
      default:
        view.setInt32(at, l, true);
        view.setInt32(at + 4, h, true);
    }
    return -1;
  }
  return mem.storeSlow(address, size, l, h);
}

/** Condition of branch_*_imm `id` for register (al, ah) against immediate (bl, bh). */
export function compareImm(id: number, al: number, ah: number, bl: number, bh: number): boolean {
  switch (id) {
    case 81 satisfies typeof Op.branch_eq_imm:
      return al === bl && ah === bh;
    case 82 satisfies typeof Op.branch_ne_imm:
      return al !== bl || ah !== bh;
    case 83 satisfies typeof Op.branch_lt_u_imm:
      return ltU64(al, ah, bl, bh);
    case 84 satisfies typeof Op.branch_le_u_imm:
      return !ltU64(bl, bh, al, ah);
    case 85 satisfies typeof Op.branch_ge_u_imm:
      return !ltU64(al, ah, bl, bh);
    case 86 satisfies typeof Op.branch_gt_u_imm:
      return ltU64(bl, bh, al, ah);
    case 87 satisfies typeof Op.branch_lt_s_imm:
      return ltS64(al, ah, bl, bh);
    case 88 satisfies typeof Op.branch_le_s_imm:
      return !ltS64(bl, bh, al, ah);
    case 89 satisfies typeof Op.branch_ge_s_imm:
      return !ltS64(al, ah, bl, bh);
    default:
      return ltS64(bl, bh, al, ah);
  }
}

/** Condition of branch_* `id` (register against register). */
export function compareRegs(id: number, al: number, ah: number, bl: number, bh: number): boolean {
  switch (id) {
    case 170 satisfies typeof Op.branch_eq:
      return al === bl && ah === bh;
    case 171 satisfies typeof Op.branch_ne:
      return al !== bl || ah !== bh;
    case 172 satisfies typeof Op.branch_lt_u:
      return ltU64(al, ah, bl, bh);
    case 173 satisfies typeof Op.branch_lt_s:
      return ltS64(al, ah, bl, bh);
    case 174 satisfies typeof Op.branch_ge_u:
      return !ltU64(al, ah, bl, bh);
    default:
      return !ltS64(al, ah, bl, bh);
  }
}

function set32(lo: Int32Array, hi: Int32Array, d: number, v: number): void {
  lo[d] = v;
  hi[d] = v >> 31;
}

function setBool(lo: Int32Array, hi: Int32Array, d: number, v: boolean): void {
  lo[d] = v ? 1 : 0;
  hi[d] = 0;
}

/** The reg_reg instructions 102…111: D = f(A). */
export function unary(id: number, lo: Int32Array, hi: Int32Array, d: number, a: number): void {
  const l = lo[a], h = hi[a];
  switch (id) {
    case 102 satisfies typeof Op.count_set_bits_64:
      lo[d] = popcount32(l) + popcount32(h);
      hi[d] = 0;
      break;
    case 103 satisfies typeof Op.count_set_bits_32:
      lo[d] = popcount32(l);
      hi[d] = 0;
      break;
    case 104 satisfies typeof Op.leading_zero_bits_64:
      lo[d] = h !== 0 ? Math.clz32(h) : 32 + Math.clz32(l);
      hi[d] = 0;
      break;
    case 105 satisfies typeof Op.leading_zero_bits_32:
      lo[d] = Math.clz32(l);
      hi[d] = 0;
      break;
    case 106 satisfies typeof Op.trailing_zero_bits_64:
      lo[d] = l !== 0 ? ctz32(l) : 32 + ctz32(h);
      hi[d] = 0;
      break;
    case 107 satisfies typeof Op.trailing_zero_bits_32:
      lo[d] = ctz32(l);
      hi[d] = 0;
      break;
    case 108 satisfies typeof Op.sign_extend_8:
      set32(lo, hi, d, (l << 24) >> 24);
      break;
    case 109 satisfies typeof Op.sign_extend_16:
      set32(lo, hi, d, (l << 16) >> 16);
      break;
    case 110 satisfies typeof Op.zero_extend_16:
      lo[d] = l & 0xffff;
      hi[d] = 0;
      break;
    default: // reverse_bytes
      lo[d] = bswap32(h);
      hi[d] = bswap32(l);
  }
}

/** The reg_reg_imm instructions that write A from B and the immediate v. */
export function withImmediate(
  id: number,
  lo: Int32Array,
  hi: Int32Array,
  a: number,
  b: number,
  v: number,
): void {
  const bl = lo[b], bh = hi[b], vh = v >> 31;
  switch (id) {
    case 135 satisfies typeof Op.mul_imm_32:
      return set32(lo, hi, a, Math.imul(bl, v));
    case 136 satisfies typeof Op.set_lt_u_imm:
      return setBool(lo, hi, a, ltU64(bl, bh, v, vh));
    case 137 satisfies typeof Op.set_lt_s_imm:
      return setBool(lo, hi, a, ltS64(bl, bh, v, vh));
    case 138 satisfies typeof Op.shlo_l_imm_32:
      return set32(lo, hi, a, bl << v);
    case 139 satisfies typeof Op.shlo_r_imm_32:
      return set32(lo, hi, a, bl >>> v);
    case 140 satisfies typeof Op.shar_r_imm_32:
      return set32(lo, hi, a, bl >> v);
    case 141 satisfies typeof Op.neg_add_imm_32:
      return set32(lo, hi, a, (v - bl) | 0);
    case 142 satisfies typeof Op.set_gt_u_imm:
      return setBool(lo, hi, a, ltU64(v, vh, bl, bh));
    case 143 satisfies typeof Op.set_gt_s_imm:
      return setBool(lo, hi, a, ltS64(v, vh, bl, bh));
    case 144 satisfies typeof Op.shlo_l_imm_alt_32:
      return set32(lo, hi, a, v << bl);
    case 145 satisfies typeof Op.shlo_r_imm_alt_32:
      return set32(lo, hi, a, v >>> bl);
    case 146 satisfies typeof Op.shar_r_imm_alt_32:
      return set32(lo, hi, a, v >> bl);
    case 147 satisfies typeof Op.cmov_iz_imm:
      if (bl === 0 && bh === 0) set32(lo, hi, a, v);
      return;
    case 148 satisfies typeof Op.cmov_nz_imm:
      if (bl !== 0 || bh !== 0) set32(lo, hi, a, v);
      return;
    case 150 satisfies typeof Op.mul_imm_64:
      return mul64(lo, hi, a, bl, bh, v, vh);
    case 151 satisfies typeof Op.shlo_l_imm_64:
      return shl64(lo, hi, a, bl, bh, v);
    case 152 satisfies typeof Op.shlo_r_imm_64:
      return shr64(lo, hi, a, bl, bh, v);
    case 153 satisfies typeof Op.shar_r_imm_64:
      return sar64(lo, hi, a, bl, bh, v);
    case 154 satisfies typeof Op.neg_add_imm_64: {
      const l = (v - bl) | 0;
      hi[a] = (vh - bh - ((v >>> 0) < (bl >>> 0) ? 1 : 0)) | 0;
      lo[a] = l;
      return;
    }
    case 155 satisfies typeof Op.shlo_l_imm_alt_64:
      return shl64(lo, hi, a, v, vh, bl);
    case 156 satisfies typeof Op.shlo_r_imm_alt_64:
      return shr64(lo, hi, a, v, vh, bl);
    case 157 satisfies typeof Op.shar_r_imm_alt_64:
      return sar64(lo, hi, a, v, vh, bl);
    case 158 satisfies typeof Op.rot_r_64_imm:
      return rotr64(lo, hi, a, bl, bh, v);
    case 159 satisfies typeof Op.rot_r_64_imm_alt:
      return rotr64(lo, hi, a, v, vh, bl);
    case 160 satisfies typeof Op.rot_r_32_imm:
      return set32(lo, hi, a, (bl >>> v) | (bl << (32 - (v & 31))));
    default: // rot_r_32_imm_alt
      return set32(lo, hi, a, (v >>> bl) | (v << (32 - (bl & 31))));
  }
}

/** The reg3 instructions not inlined in the loop: D = f(A, B). */
export function threeRegs(
  id: number,
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  a: number,
  b: number,
): void {
  const al = lo[a], ah = hi[a], bl = lo[b], bh = hi[b];
  switch (id) {
    case 191 satisfies typeof Op.sub_32:
      return set32(lo, hi, d, (al - bl) | 0);
    case 192 satisfies typeof Op.mul_32:
      return set32(lo, hi, d, Math.imul(al, bl));
    case 193 satisfies typeof Op.div_u_32:
      return bl === 0 ? set32(lo, hi, d, -1) : set32(lo, hi, d, ((al >>> 0) / (bl >>> 0)) | 0);
    case 194 satisfies typeof Op.div_s_32:
      if (bl === 0) return set32(lo, hi, d, -1);
      if (al === -0x80000000 && bl === -1) return set32(lo, hi, d, al);
      return set32(lo, hi, d, (al / bl) | 0);
    case 195 satisfies typeof Op.rem_u_32:
      return bl === 0 ? set32(lo, hi, d, al) : set32(lo, hi, d, ((al >>> 0) % (bl >>> 0)) | 0);
    case 196 satisfies typeof Op.rem_s_32:
      if (bl === 0) return set32(lo, hi, d, al);
      if (al === -0x80000000 && bl === -1) return set32(lo, hi, d, 0);
      return set32(lo, hi, d, (al % bl) | 0);
    case 197 satisfies typeof Op.shlo_l_32:
      return set32(lo, hi, d, al << bl);
    case 198 satisfies typeof Op.shlo_r_32:
      return set32(lo, hi, d, al >>> bl);
    case 199 satisfies typeof Op.shar_r_32:
      return set32(lo, hi, d, al >> bl);
    case 202 satisfies typeof Op.mul_64:
      return mul64(lo, hi, d, al, ah, bl, bh);
    case 203 satisfies typeof Op.div_u_64:
      return divU64(lo, hi, d, al, ah, bl, bh);
    case 204 satisfies typeof Op.div_s_64:
      return divS64(lo, hi, d, al, ah, bl, bh);
    case 205 satisfies typeof Op.rem_u_64:
      return remU64(lo, hi, d, al, ah, bl, bh);
    case 206 satisfies typeof Op.rem_s_64:
      return remS64(lo, hi, d, al, ah, bl, bh);
    case 207 satisfies typeof Op.shlo_l_64:
      return shl64(lo, hi, d, al, ah, bl);
    case 208 satisfies typeof Op.shlo_r_64:
      return shr64(lo, hi, d, al, ah, bl);
    case 209 satisfies typeof Op.shar_r_64:
      return sar64(lo, hi, d, al, ah, bl);
    case 213 satisfies typeof Op.mul_upper_s_s:
      return mulUpper(lo, hi, d, al, ah, true, bl, bh, true);
    case 214 satisfies typeof Op.mul_upper_u_u:
      return mulUpper(lo, hi, d, al, ah, false, bl, bh, false);
    case 215 satisfies typeof Op.mul_upper_s_u:
      return mulUpper(lo, hi, d, al, ah, true, bl, bh, false);
    case 216 satisfies typeof Op.set_lt_u:
      return setBool(lo, hi, d, ltU64(al, ah, bl, bh));
    case 217 satisfies typeof Op.set_lt_s:
      return setBool(lo, hi, d, ltS64(al, ah, bl, bh));
    case 218 satisfies typeof Op.cmov_iz:
      if (bl === 0 && bh === 0) {
        lo[d] = al;
        hi[d] = ah;
      }
      return;
    case 219 satisfies typeof Op.cmov_nz:
      if (bl !== 0 || bh !== 0) {
        lo[d] = al;
        hi[d] = ah;
      }
      return;
    case 220 satisfies typeof Op.rot_l_64:
      return rotr64(lo, hi, d, al, ah, 64 - (bl & 63));
    case 221 satisfies typeof Op.rot_l_32:
      return set32(lo, hi, d, (al << bl) | (al >>> (32 - (bl & 31))));
    case 222 satisfies typeof Op.rot_r_64:
      return rotr64(lo, hi, d, al, ah, bl);
    case 223 satisfies typeof Op.rot_r_32:
      return set32(lo, hi, d, (al >>> bl) | (al << (32 - (bl & 31))));
    case 224 satisfies typeof Op.and_inv:
      lo[d] = al & ~bl;
      hi[d] = ah & ~bh;
      return;
    case 225 satisfies typeof Op.or_inv:
      lo[d] = al | ~bl;
      hi[d] = ah | ~bh;
      return;
    case 226 satisfies typeof Op.xnor:
      lo[d] = ~(al ^ bl);
      hi[d] = ~(ah ^ bh);
      return;
    case 227 satisfies typeof Op.max:
    case 229 satisfies typeof Op.min: {
      const aWins = ltS64(al, ah, bl, bh) === (id === Op.min);
      lo[d] = aWins ? al : bl;
      hi[d] = aWins ? ah : bh;
      return;
    }
    default: { // max_u, min_u
      const aWins = ltU64(al, ah, bl, bh) === (id === Op.min_u);
      lo[d] = aWins ? al : bl;
      hi[d] = aWins ? ah : bh;
    }
  }
}
