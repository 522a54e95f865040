/**
 * An x86-64 encoder with only the instructions the PVM code generator emits. Code goes into one
 * growing byte buffer; labels are small integers whose offsets live in a typed array. A rel32 to
 * a label not yet bound is patched when the label is bound: until then its four bytes link it
 * to the label's previous pending rel32, so the pending ones need no storage of their own and
 * encoding allocates nothing per instruction.
 *
 * Registers are ISA numbers (rax 0 … r15 15). `w` selects 64-bit operand size (REX.W); without
 * it the operation is 32-bit and zero-extends its destination, as the hardware does.
 * @module
 */
import { type AccessSize, Addr, Alu, Load } from "./operands.ts";

const TWO_BYTE = 0x0f00;

/** Opcode of each `Load` kind (by kind). */
const LOAD_OPCODE: number[] = [];
/** Whether a `Load` kind needs REX.W: sign extensions to 64 bits and the 64-bit load. */
const LOAD_WIDE: boolean[] = [];
for (
  const [kind, opcode, wide] of [
    [Load.u8, 0x0fb6, false], // movzx r32, byte
    [Load.i8, 0x0fbe, true], // movsx r64, byte
    [Load.u16, 0x0fb7, false], // movzx r32, word
    [Load.i16, 0x0fbf, true], // movsx r64, word
    [Load.u32, 0x8b, false], // mov r32
    [Load.i32, 0x63, true], // movsxd
    [Load.u64, 0x8b, true], // mov r64
  ] as const
) {
  LOAD_OPCODE[kind] = opcode;
  LOAD_WIDE[kind] = wide;
}

/** Machine code under construction. */
export class X64 {
  /** The code buffer; only the first `length` bytes are code. */
  bytes: Uint8Array;
  /** Bytes emitted so far (the offset of the next instruction). */
  length = 0;
  /** True once `code()` handed the buffer out: the next `reset` takes a new one. */
  #handedOut = false;
  /**
   * Per label: its offset once bound (≥ 0); -1 while unbound with no rel32 to it; otherwise
   * −2 − the position of its latest pending rel32. Kept from program to program (grown to the
   * most labels one has used), so labels cost no fresh memory.
   */
  #labelOffset: Int32Array = new Int32Array(64);
  #labelCount = 0;
  /** rel32s emitted to labels not bound yet. */
  #pending = 0;

  /** Starts with room for `capacity` bytes; the buffer grows as needed. */
  constructor(capacity = 4096) {
    this.bytes = new Uint8Array(Math.max(capacity, 64));
  }

  /**
   * Empties the code and labels for a program of about `capacity` bytes. The buffer is
   * reused unless `code()` handed it out or its size is far from `capacity` (one huge program
   * should not pin its memory for good). Room is only reserved: pages the code never reaches
   * are never touched, so a generous estimate costs nothing, while growing copies everything.
   */
  reset(capacity: number): void {
    this.length = 0;
    this.#labelCount = 0;
    this.#pending = 0;
    const size = this.bytes.length;
    if (this.#handedOut || size < capacity || size > 4 * Math.max(capacity, 1 << 20)) {
      this.bytes = new Uint8Array(Math.max(capacity, 64));
      this.#handedOut = false;
    }
  }

  // ---- Labels. ----

  /** Reserves `count` consecutive unbound labels and returns the first one's number. */
  newLabels(count: number): number {
    const first = this.#labelCount;
    this.#labelCount += count;
    if (this.#labelCount > this.#labelOffset.length) {
      // With headroom: a few labels more (stubs) should not copy the many reserved at once.
      const room = this.#labelCount + (this.#labelCount >> 1);
      const grown = new Int32Array(Math.max(room, this.#labelOffset.length * 2));
      grown.set(this.#labelOffset.subarray(0, first));
      this.#labelOffset = grown;
    }
    const offsets = this.#labelOffset, end = this.#labelCount;
    // A built-in fill pays off for many labels; a loop is cheaper for a few.
    if (count > 16) offsets.fill(-1, first, end);
    else for (let label = first; label < end; label++) offsets[label] = -1;
    return first;
  }

  /** Binds `label` to the current offset, patching the rel32s that wait for it. */
  bind(label: number): void {
    const state = this.#labelOffset[label];
    this.#labelOffset[label] = this.length;
    if (state <= -2) this.#patch(-2 - state, this.length);
  }

  /** Offset of `label`, or -1 while unbound. */
  labelOffset(label: number): number {
    const state = this.#labelOffset[label];
    return state >= 0 ? state : -1;
  }

  /** Checks that every rel32 to a label was patched; throws if a label used is still unbound. */
  checkLabelsBound(): void {
    if (this.#pending === 0) return;
    const unbound = this.#labelOffset.subarray(0, this.#labelCount).findIndex((s) => s <= -2);
    throw new Error(`label ${unbound} is used but never bound`);
  }

  /** Points the chain of pending rel32s whose latest is at `site` to `target`. */
  #patch(site: number, target: number): void {
    const bytes = this.bytes;
    while (site >= 0) {
      const previous = bytes[site] | (bytes[site + 1] << 8) | (bytes[site + 2] << 16) |
        (bytes[site + 3] << 24);
      this.#int32At(site, target - (site + 4));
      this.#pending--;
      site = previous;
    }
  }

  /**
   * Makes room for at least `bytes` more bytes. Encoding methods do not check for room (that
   * would cost a test per instruction): callers reserve enough before each group they emit.
   */
  reserve(bytes: number): void {
    if (this.length + bytes > this.bytes.length) this.#grow(bytes);
  }

  #grow(bytes: number): void {
    this.#checkRoom();
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + bytes));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /**
   * The finished code: exactly `length` bytes. When the buffer is at least half full it is
   * handed out as it is (no copy; the next `reset` takes a new buffer), otherwise copied.
   * Throws if more was written than reserved.
   */
  code(): Uint8Array {
    this.#checkRoom();
    if (2 * this.length < this.bytes.length) return this.bytes.slice(0, this.length);
    this.#handedOut = true;
    return this.bytes.subarray(0, this.length);
  }

  #checkRoom(): void {
    if (this.length > this.bytes.length) {
      throw new Error(
        `${this.length - this.bytes.length} bytes were emitted past the reserved room`,
      );
    }
  }

  // ---- Control flow. ----

  /** `jcc` to `label`: rel8 when it is bound and near, else rel32 (patched when bound). */
  jcc(cond: number, label: number): void {
    const bytes = this.bytes, at = this.length;
    const offset = this.#labelOffset[label], rel = offset - (at + 2);
    if (offset >= 0 && rel >= -128) {
      bytes[at] = 0x70 | cond;
      bytes[at + 1] = rel;
      this.length = at + 2;
      return;
    }
    bytes[at] = 0x0f;
    bytes[at + 1] = 0x80 | cond;
    this.#rel32(at + 2, label);
  }

  /** `jmp` to `label`: rel8 when it is bound and near, else rel32 (patched when bound). */
  jmp(label: number): void {
    const bytes = this.bytes, at = this.length;
    const offset = this.#labelOffset[label], rel = offset - (at + 2);
    if (offset >= 0 && rel >= -128) {
      bytes[at] = 0xeb;
      bytes[at + 1] = rel;
      this.length = at + 2;
      return;
    }
    bytes[at] = 0xe9;
    this.#rel32(at + 1, label);
  }

  /** `jcc rel8` forward; returns the position to pass to `bindShort` at the target. */
  jccShort(cond: number): number {
    this.#b(0x70 | cond);
    this.#b(0);
    return this.length - 1;
  }

  /** Points the short jump whose displacement byte is at `at` to the current offset. */
  bindShort(at: number): void {
    const rel = this.length - (at + 1);
    if (rel > 127) throw new Error(`short jump of ${rel} bytes`);
    this.bytes[at] = rel;
  }

  /**
   * `jcc rel32` forward, to a place known later (not a label); returns the position to pass to
   * `bindFar` there.
   */
  jccFar(cond: number): number {
    const bytes = this.bytes, at = this.length;
    bytes[at] = 0x0f;
    bytes[at + 1] = 0x80 | cond;
    this.length = at + 6;
    return at + 2;
  }

  /** Points the rel32 at `at` (from `jccFar`) to the current offset. */
  bindFar(at: number): void {
    this.#int32At(at, this.length - (at + 4));
  }

  /** `jmp rel8` forward; returns the position to pass to `bindShort` at the target. */
  jmpShort(): number {
    this.#b(0xeb);
    this.#b(0);
    return this.length - 1;
  }

  /** `jmp qword [memory]`. */
  jmpMem(mode: number, base: number, disp: number): void {
    this.#mem(false, false, 0xff, 4, mode, base, disp, false);
  }

  /** `call qword [memory]`. */
  callMem(mode: number, base: number, disp: number): void {
    this.#mem(false, false, 0xff, 2, mode, base, disp, false);
  }

  /** `push reg` (64-bit). */
  push(reg: number): void {
    if (reg >= 8) this.#b(0x41);
    this.#b(0x50 | (reg & 7));
  }

  /** `pop reg` (64-bit). */
  pop(reg: number): void {
    if (reg >= 8) this.#b(0x41);
    this.#b(0x58 | (reg & 7));
  }

  // ---- Register and immediate operations. ----

  /** `op dst, src` for an `Alu` operation. */
  aluRR(op: number, w: boolean, dst: number, src: number): void {
    this.#rr(w, op * 8 + 1, src, dst, false);
  }

  /** `op dst, imm` for an `Alu` operation (imm8 form when it fits). */
  aluRI(op: number, w: boolean, dst: number, imm: number): void {
    const bytes = this.bytes;
    let at = this.length;
    const rex = (w ? 8 : 0) | (dst >> 3);
    if (rex !== 0) bytes[at++] = 0x40 | rex;
    const modrm = 0xc0 | (op << 3) | (dst & 7);
    if (imm >= -128 && imm <= 127) {
      bytes[at] = 0x83;
      bytes[at + 1] = modrm;
      bytes[at + 2] = imm;
      this.length = at + 3;
    } else {
      bytes[at] = 0x81;
      bytes[at + 1] = modrm;
      bytes[at + 2] = imm;
      bytes[at + 3] = imm >> 8;
      bytes[at + 4] = imm >> 16;
      bytes[at + 5] = imm >> 24;
      this.length = at + 6;
    }
  }

  /** `op qword/dword [memory], imm` for an `Alu` operation (imm8 form when it fits). */
  aluMI(op: number, w: boolean, mode: number, base: number, disp: number, imm: number): void {
    const short = imm >= -128 && imm <= 127;
    this.#mem(false, w, short ? 0x83 : 0x81, op, mode, base, disp, false, short ? 1 : 4);
    if (short) this.#b(imm);
    else this.#imm32(imm);
  }

  /** `op qword/dword [memory], src` for an `Alu` operation. */
  aluMR(op: number, w: boolean, mode: number, base: number, disp: number, src: number): void {
    this.#mem(false, w, op * 8 + 1, src, mode, base, disp, false);
  }

  /** `test a, b`. */
  testRR(w: boolean, a: number, b: number): void {
    this.#rr(w, 0x85, b, a, false);
  }

  /** `mov dst, src`. */
  movRR(w: boolean, dst: number, src: number): void {
    this.#rr(w, 0x89, src, dst, false);
  }

  /** `mov dst, imm32`: 32-bit zero-extending, or with `w` the sign-extended 64-bit form. */
  movRI(w: boolean, dst: number, imm: number): void {
    const bytes = this.bytes;
    let at = this.length;
    if (w) {
      bytes[at] = 0x48 | (dst >> 3);
      bytes[at + 1] = 0xc7;
      bytes[at + 2] = 0xc0 | (dst & 7);
      at += 3;
    } else {
      if (dst >= 8) bytes[at++] = 0x41;
      bytes[at++] = 0xb8 | (dst & 7);
    }
    bytes[at] = imm;
    bytes[at + 1] = imm >> 8;
    bytes[at + 2] = imm >> 16;
    bytes[at + 3] = imm >> 24;
    this.length = at + 4;
  }

  /** `mov dst, imm64` (movabs) from the value's low and high 32-bit halves. */
  movRI64(dst: number, low: number, high: number): void {
    this.#b(0x48 | (dst >> 3));
    this.#b(0xb8 | (dst & 7));
    this.#imm32(low);
    this.#imm32(high);
  }

  /**
   * Loads the 64-bit value (low, high) into `dst` with the shortest form that holds it: zero by
   * `xor`, which clobbers the flags (never between a compare and its use).
   */
  loadConstant(dst: number, low: number, high: number): void {
    if (high === 0 && low === 0) this.aluRR(Alu.xor, false, dst, dst);
    else if (high === 0) this.movRI(false, dst, low);
    else if (high === low >> 31) this.movRI(true, dst, low);
    else this.movRI64(dst, low, high);
  }

  /** `op dst, imm8` for a `Shift` operation. */
  shiftRI(op: number, w: boolean, dst: number, count: number): void {
    this.#rr(w, 0xc1, op, dst, false);
    this.#b(count);
  }

  /** `op dst, cl` for a `Shift` operation. */
  shiftRCl(op: number, w: boolean, dst: number): void {
    this.#rr(w, 0xd3, op, dst, false);
  }

  /** `op reg` for a `Unary` operation (not, neg, mul, imul, div, idiv). */
  unary(op: number, w: boolean, reg: number): void {
    this.#rr(w, 0xf7, op, reg, false);
  }

  /** `cqo` (64-bit) or `cdq` (32-bit): sign-extends rax into rdx. */
  signExtendAccumulator(w: boolean): void {
    if (w) this.#b(0x48);
    this.#b(0x99);
  }

  /** `imul dst, src`. */
  imulRR(w: boolean, dst: number, src: number): void {
    this.#rr(w, 0x0faf, dst, src, false);
  }

  /** `imul dst, src, imm` (imm8 form when it fits). */
  imulRRI(w: boolean, dst: number, src: number, imm: number): void {
    const short = imm >= -128 && imm <= 127;
    this.#rr(w, short ? 0x6b : 0x69, dst, src, false);
    if (short) this.#b(imm);
    else this.#imm32(imm);
  }

  /** `movsxd dst, src32` (sign-extends the low 32 bits into 64). */
  movsxd(dst: number, src: number): void {
    this.#rr(true, 0x63, dst, src, false);
  }

  /** `movsx dst64, src8`. */
  movsx8(dst: number, src: number): void {
    this.#rr(true, 0x0fbe, dst, src, true);
  }

  /** `movsx dst64, src16`. */
  movsx16(dst: number, src: number): void {
    this.#rr(true, 0x0fbf, dst, src, false);
  }

  /** `movzx dst32, src8`. */
  movzx8(dst: number, src: number): void {
    this.#rr(false, 0x0fb6, dst, src, true);
  }

  /** `movzx dst32, src16`. */
  movzx16(dst: number, src: number): void {
    this.#rr(false, 0x0fb7, dst, src, false);
  }

  /** `setcc reg8`. */
  setcc(cond: number, reg: number): void {
    this.#rr(false, TWO_BYTE | 0x90 | cond, 0, reg, true);
  }

  /** `cmovcc dst, src`. */
  cmov(cond: number, w: boolean, dst: number, src: number): void {
    this.#rr(w, TWO_BYTE | 0x40 | cond, dst, src, false);
  }

  /** `bsr dst, src` (index of the highest set bit; ZF when src is zero). */
  bsr(w: boolean, dst: number, src: number): void {
    this.#rr(w, 0x0fbd, dst, src, false);
  }

  /** `bsf dst, src` (index of the lowest set bit; ZF when src is zero). */
  bsf(w: boolean, dst: number, src: number): void {
    this.#rr(w, 0x0fbc, dst, src, false);
  }

  /** `bswap reg`. */
  bswap(w: boolean, reg: number): void {
    const rex = (w ? 8 : 0) | (reg >> 3);
    if (rex !== 0) this.#b(0x40 | rex);
    this.#b(0x0f);
    this.#b(0xc8 | (reg & 7));
  }

  /**
   * `lea dst, [base + index << scaleLog2]` (64-bit address arithmetic; `w` false keeps 32 bits);
   * `index` must not be rsp.
   */
  leaRR(w: boolean, dst: number, base: number, index: number, scaleLog2 = 0): void {
    const rex = (w ? 8 : 0) | ((dst >> 3) << 2) | ((index >> 3) << 1) | (base >> 3);
    if (rex !== 0) this.#b(0x40 | rex);
    this.#b(0x8d);
    const b = base & 7;
    // rbp/r13 as a base have no mod=00 form: they take a zero disp8.
    this.#b((b === 5 ? 0x40 : 0) | ((dst & 7) << 3) | 4);
    this.#b((scaleLog2 << 6) | ((index & 7) << 3) | b);
    if (b === 5) this.#b(0);
  }

  /** `lea dst, [base + disp]` (64-bit address arithmetic; `w` false keeps 32 bits). */
  leaRD(w: boolean, dst: number, base: number, disp: number): void {
    this.#mem(false, w, 0x8d, dst, Addr.base64, base, disp, false);
  }

  // ---- Memory accesses. ----

  /** Loads a `Load` kind from memory into `dst`, extended to 64 bits as the kind says. */
  load(kind: number, dst: number, mode: number, base: number, disp: number): void {
    this.#mem(false, LOAD_WIDE[kind], LOAD_OPCODE[kind], dst, mode, base, disp, false);
  }

  /** Stores the low `size` bytes of `src` to memory. */
  store(size: AccessSize, src: number, mode: number, base: number, disp: number): void {
    this.#mem(size === 2, size === 8, size === 1 ? 0x88 : 0x89, src, mode, base, disp, size === 1);
  }

  /** Stores the low `size` bytes of `imm` (sign-extended to 64 bits for size 8) to memory. */
  storeImm(size: AccessSize, imm: number, mode: number, base: number, disp: number): void {
    const op = size === 1 ? 0xc6 : 0xc7;
    this.#mem(size === 2, size === 8, op, 0, mode, base, disp, false, size === 8 ? 4 : size);
    if (size === 1) this.#b(imm);
    else if (size === 2) {
      this.#b(imm);
      this.#b(imm >> 8);
    } else this.#imm32(imm);
  }

  // ---- Encoding core. ----

  #b(value: number): void {
    this.bytes[this.length++] = value;
  }

  #imm32(value: number): void {
    const bytes = this.bytes;
    let at = this.length;
    bytes[at++] = value;
    bytes[at++] = value >> 8;
    bytes[at++] = value >> 16;
    bytes[at++] = value >> 24;
    this.length = at;
  }

  /**
   * A rel32 at `at` to `label`: final when it is bound, else linked into its pending chain;
   * the instruction ends after it.
   */
  #rel32(at: number, label: number): void {
    const state = this.#labelOffset[label];
    if (state >= 0) {
      this.#int32At(at, state - (at + 4));
    } else {
      this.#int32At(at, state === -1 ? -1 : -2 - state);
      this.#labelOffset[label] = -2 - at;
      this.#pending++;
    }
    this.length = at + 4;
  }

  #int32At(at: number, value: number): void {
    const bytes = this.bytes;
    bytes[at] = value;
    bytes[at + 1] = value >> 8;
    bytes[at + 2] = value >> 16;
    bytes[at + 3] = value >> 24;
  }

  /**
   * Writes at `at` the REX prefix with bits `rex` (also when they are all clear but
   * `lowByteRegister` names sil, dil, bpl or spl, which without it mean dh, bh, ch and ah) and
   * the opcode (two bytes when above 0xff); returns where the ModRM byte goes.
   */
  #rexAndOpcode(at: number, rex: number, lowByteRegister: boolean, op: number): number {
    const bytes = this.bytes;
    if (rex !== 0 || lowByteRegister) bytes[at++] = 0x40 | rex;
    if (op > 0xff) bytes[at++] = op >> 8;
    bytes[at++] = op;
    return at;
  }

  /**
   * Register-direct form: `op` with ModRM reg = `reg` (a register or a /digit) and rm = `rm`.
   * `byteRm` marks rm as an 8-bit register, which needs a REX prefix to reach sil, dil, bpl
   * and spl instead of dh, bh, ch and ah.
   */
  #rr(w: boolean, op: number, reg: number, rm: number, byteRm: boolean): void {
    const bytes = this.bytes;
    let at = this.length;
    const rex = (w ? 8 : 0) | ((reg >> 3) << 2) | (rm >> 3);
    at = this.#rexAndOpcode(at, rex, byteRm && rm >= 4 && rm < 8, op);
    bytes[at++] = 0xc0 | ((reg & 7) << 3) | (rm & 7);
    this.length = at;
  }

  /**
   * Memory form: optional operand-size prefix (`p66`), the address-size prefix for 32-bit
   * addressing modes, REX, `op`, ModRM with reg = `reg`, SIB and displacement. `byteReg` marks
   * `reg` as an 8-bit register. `immBytes` is the size of the immediate the caller appends: a
   * RIP-relative displacement counts from the end of the whole instruction. Each form has its
   * own method, small enough for V8 to inline where the mode is known.
   */
  #mem(
    p66: boolean,
    w: boolean,
    op: number,
    reg: number,
    mode: number,
    base: number,
    disp: number,
    byteReg: boolean,
    immBytes = 0,
  ): void {
    if (mode <= Addr.base32) this.#memBase(p66, w, op, reg, mode, base, disp, byteReg);
    else this.#memOther(p66, w, op, reg, mode, base, disp, byteReg, immBytes);
  }

  /** `#mem` for [base + disp] (`Addr.base64`, `Addr.base32`), the common form. */
  #memBase(
    p66: boolean,
    w: boolean,
    op: number,
    reg: number,
    mode: number,
    base: number,
    disp: number,
    byteReg: boolean,
  ): void {
    const bytes = this.bytes;
    let at = this.length;
    if (p66) bytes[at++] = 0x66;
    if (mode === Addr.base32) bytes[at++] = 0x67;
    const rex = (w ? 8 : 0) | ((reg >> 3) << 2) | (base >> 3);
    at = this.#rexAndOpcode(at, rex, byteReg && reg >= 4 && reg < 8, op);
    const rb = ((reg & 7) << 3) | (base & 7), sib = (base & 7) === 4;
    if (disp === 0 && (base & 7) !== 5) {
      bytes[at++] = rb;
      if (sib) bytes[at++] = 0x24;
    } else if (disp >= -128 && disp <= 127) {
      bytes[at++] = 0x40 | rb;
      if (sib) bytes[at++] = 0x24;
      bytes[at++] = disp;
    } else {
      bytes[at++] = 0x80 | rb;
      if (sib) bytes[at++] = 0x24;
      bytes[at] = disp;
      bytes[at + 1] = disp >> 8;
      bytes[at + 2] = disp >> 16;
      bytes[at + 3] = disp >> 24;
      at += 4;
    }
    this.length = at;
  }

  /** `#mem` for `Addr.absolute32`, `Addr.scaled8` and `Addr.rip`. */
  #memOther(
    p66: boolean,
    w: boolean,
    op: number,
    reg: number,
    mode: number,
    base: number,
    disp: number,
    byteReg: boolean,
    immBytes: number,
  ): void {
    const bytes = this.bytes;
    let at = this.length;
    if (p66) bytes[at++] = 0x66;
    if (mode === Addr.absolute32) bytes[at++] = 0x67;
    const index = mode === Addr.scaled8 ? base : 0;
    const rex = (w ? 8 : 0) | ((reg >> 3) << 2) | ((index >> 3) << 1);
    at = this.#rexAndOpcode(at, rex, byteReg && reg >= 4 && reg < 8, op);
    const r = (reg & 7) << 3;
    if (mode === Addr.rip) {
      bytes[at++] = r | 5; // mod 00, rm 101: [rip + disp32]
      disp -= at + 4 + immBytes;
    } else {
      bytes[at++] = r | 4;
      bytes[at++] = mode === Addr.scaled8 ? 0xc5 | ((index & 7) << 3) : 0x25;
    }
    bytes[at] = disp;
    bytes[at + 1] = disp >> 8;
    bytes[at + 2] = disp >> 16;
    bytes[at + 3] = disp >> 24;
    this.length = at + 4;
  }
}
