/**
 * 64-bit arithmetic on values held as two 32-bit halves (low, high; each an int32), written
 * straight into register arrays so the hot path never allocates. The rare operations that need
 * 128-bit intermediates (division of wide values, upper multiplication) go through BigInt.
 * @module
 */

/**
 * High 32 bits of the unsigned 64-bit product of two unsigned 32-bit values, from 16-bit limbs
 * with `Math.imul` so every intermediate stays an int32 (no float fallback in optimized code).
 */
function mulHighU32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = Math.imul(a0, b0), p01 = Math.imul(a0, b1), p10 = Math.imul(a1, b0);
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (Math.imul(a1, b1) + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** lo/hi[d] = (al, ah) * (bl, bh) mod 2^64. */
export function mul64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  al: number,
  ah: number,
  bl: number,
  bh: number,
): void {
  const high = (mulHighU32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
  lo[d] = Math.imul(al, bl);
  hi[d] = high;
}

/** lo/hi[d] = (l, h) << (s mod 64). */
export function shl64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  l: number,
  h: number,
  s: number,
): void {
  s &= 63;
  if (s === 0) {
    lo[d] = l;
    hi[d] = h;
  } else if (s < 32) {
    hi[d] = (h << s) | (l >>> (32 - s));
    lo[d] = l << s;
  } else {
    hi[d] = l << (s - 32);
    lo[d] = 0;
  }
}

/** lo/hi[d] = (l, h) >> (s mod 64), logical. */
export function shr64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  l: number,
  h: number,
  s: number,
): void {
  s &= 63;
  if (s === 0) {
    lo[d] = l;
    hi[d] = h;
  } else if (s < 32) {
    lo[d] = (l >>> s) | (h << (32 - s));
    hi[d] = h >>> s;
  } else {
    lo[d] = h >>> (s - 32);
    hi[d] = 0;
  }
}

/** lo/hi[d] = (l, h) >> (s mod 64), arithmetic. */
export function sar64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  l: number,
  h: number,
  s: number,
): void {
  s &= 63;
  if (s === 0) {
    lo[d] = l;
    hi[d] = h;
  } else if (s < 32) {
    lo[d] = (l >>> s) | (h << (32 - s));
    hi[d] = h >> s;
  } else {
    lo[d] = h >> (s - 32);
    hi[d] = h >> 31;
  }
}

/** lo/hi[d] = (l, h) rotated right by (s mod 64). */
export function rotr64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  l: number,
  h: number,
  s: number,
): void {
  s &= 63;
  if (s >= 32) {
    const t = l;
    l = h;
    h = t;
    s -= 32;
  }
  if (s === 0) {
    lo[d] = l;
    hi[d] = h;
  } else {
    lo[d] = (l >>> s) | (h << (32 - s));
    hi[d] = (h >>> s) | (l << (32 - s));
  }
}

/** Unsigned (al, ah) < (bl, bh). */
export function ltU64(al: number, ah: number, bl: number, bh: number): boolean {
  return ah === bh ? (al >>> 0) < (bl >>> 0) : (ah >>> 0) < (bh >>> 0);
}

/** Signed (al, ah) < (bl, bh). */
export function ltS64(al: number, ah: number, bl: number, bh: number): boolean {
  return ah === bh ? (al >>> 0) < (bl >>> 0) : ah < bh;
}

/** Number of set bits of a 32-bit value. */
export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Trailing zero bits of a 32-bit value (32 for 0). */
export function ctz32(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}

/** The 32-bit value with its bytes reversed. */
export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** The halves as an unsigned 64-bit BigInt. */
export function toU64(l: number, h: number): bigint {
  return (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
}

/** The halves as a signed 64-bit BigInt. */
function toI64(l: number, h: number): bigint {
  return BigInt.asIntN(64, toU64(l, h));
}

/** lo/hi[d] = v mod 2^64. */
function storeBig(lo: Int32Array, hi: Int32Array, d: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  lo[d] = Number(u & 0xffffffffn) | 0;
  hi[d] = Number(u >> 32n) | 0;
}

/** lo/hi[d] = unsigned (al, ah) / (bl, bh); all ones when dividing by zero. */
export function divU64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  al: number,
  ah: number,
  bl: number,
  bh: number,
): void {
  if (bl === 0 && bh === 0) {
    lo[d] = -1;
    hi[d] = -1;
  } else if (ah === 0 && bh === 0) {
    lo[d] = ((al >>> 0) / (bl >>> 0)) | 0;
    hi[d] = 0;
  } else {
    storeBig(lo, hi, d, toU64(al, ah) / toU64(bl, bh));
  }
}

/** lo/hi[d] = unsigned (al, ah) mod (bl, bh); the dividend when dividing by zero. */
export function remU64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  al: number,
  ah: number,
  bl: number,
  bh: number,
): void {
  if (bl === 0 && bh === 0) {
    lo[d] = al;
    hi[d] = ah;
  } else if (ah === 0 && bh === 0) {
    lo[d] = ((al >>> 0) % (bl >>> 0)) | 0;
    hi[d] = 0;
  } else {
    storeBig(lo, hi, d, toU64(al, ah) % toU64(bl, bh));
  }
}

/** True when the halves hold a value that fits in an int32 (the high half is the sign). */
function isSmall(l: number, h: number): boolean {
  return h === l >> 31;
}

/**
 * lo/hi[d] = signed (al, ah) / (bl, bh) rounded toward zero; all ones when dividing by zero and
 * the dividend when dividing −2^63 by −1.
 */
export function divS64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  al: number,
  ah: number,
  bl: number,
  bh: number,
): void {
  if (bl === 0 && bh === 0) {
    lo[d] = -1;
    hi[d] = -1;
  } else if (isSmall(al, ah) && isSmall(bl, bh)) {
    const q = Math.trunc(al / bl); // |q| ≤ 2^31: exact
    lo[d] = q | 0;
    hi[d] = q < 0 ? -1 : 0;
  } else if (al === 0 && ah === -0x80000000 && bl === -1 && bh === -1) {
    lo[d] = al;
    hi[d] = ah;
  } else {
    storeBig(lo, hi, d, toI64(al, ah) / toI64(bl, bh));
  }
}

/**
 * lo/hi[d] = signed (al, ah) rem (bl, bh) with the dividend's sign; the dividend when dividing
 * by zero and 0 when dividing −2^63 by −1.
 */
export function remS64(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  al: number,
  ah: number,
  bl: number,
  bh: number,
): void {
  if (bl === 0 && bh === 0) {
    lo[d] = al;
    hi[d] = ah;
  } else if (isSmall(al, ah) && isSmall(bl, bh)) {
    const r = al % bl; // sign of the dividend, |r| < 2^31
    lo[d] = r | 0;
    hi[d] = r < 0 ? -1 : 0;
  } else if (al === 0 && ah === -0x80000000 && bl === -1 && bh === -1) {
    lo[d] = 0;
    hi[d] = 0;
  } else {
    storeBig(lo, hi, d, toI64(al, ah) % toI64(bl, bh));
  }
}

/** lo/hi[d] = upper 64 bits of the 128-bit product; each operand signed when its flag is set. */
export function mulUpper(
  lo: Int32Array,
  hi: Int32Array,
  d: number,
  al: number,
  ah: number,
  aSigned: boolean,
  bl: number,
  bh: number,
  bSigned: boolean,
): void {
  const a = aSigned ? toI64(al, ah) : toU64(al, ah);
  const b = bSigned ? toI64(bl, bh) : toU64(bl, bh);
  storeBig(lo, hi, d, (a * b) >> 64n);
}
