import assert from "node:assert/strict";
import { decodeAt, decodeCode, isTerminator, skipAt } from "../src/program/decoder.ts";
import { INSTRUCTIONS, JAM_0_7, JAM_0_8, Op } from "../src/program/isa/index.ts";

/** Builds a bitmask with bits set at the given code offsets. */
function mask(length: number, starts: number[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(length / 8));
  for (const s of starts) bits[s >> 3] |= 1 << (s & 7);
  return bits;
}

Deno.test("skip counts bytes to the next opcode, treats the end as set and caps at 24", () => {
  const code = new Uint8Array(40);
  const bits = mask(40, [0, 3, 30]);
  assert.equal(skipAt(bits, 40, 0), 2);
  assert.equal(skipAt(bits, 40, 3), 24);
  assert.equal(skipAt(bits, 40, 30), 9);
  assert.equal(skipAt(bits, code.length, 39), 0);
});

Deno.test("reg3 decodes registers and clamps nibbles to 12", () => {
  const code = Uint8Array.of(Op.add_32, 0x87, 9, Op.add_64, 0xfe, 200);
  const bits = mask(code.length, [0, 3]);
  const add32 = decodeAt(code, bits, 0);
  assert.deepEqual([add32.op, add32.a, add32.b, add32.d, add32.length], [Op.add_32, 7, 8, 9, 3]);
  const add64 = decodeAt(code, bits, 3);
  assert.deepEqual([add64.a, add64.b, add64.d], [12, 12, 12]);
});

Deno.test("immediates are little-endian and sign-extended from their length", () => {
  // load_imm r1, imm with 1..4 immediate bytes
  const cases: [number[], number][] = [
    [[], 0],
    [[0x7f], 127],
    [[0x80], -128],
    [[0xff, 0x7f], 0x7fff],
    [[0x00, 0x80], -32768],
    [[0x01, 0x02, 0x83], 0x830201 - 0x1000000],
    [[0xff, 0xff, 0xff, 0x7f], 0x7fffffff],
    [[0x00, 0x00, 0x00, 0x80], -0x80000000],
  ];
  for (const [imm, expected] of cases) {
    const code = Uint8Array.of(Op.load_imm, 0x01, ...imm);
    const decoded = decodeAt(code, mask(code.length, [0]), 0);
    assert.equal(decoded.x, expected, `immediate ${imm}`);
    assert.equal(decoded.a, 1);
  }
});

Deno.test("immediate length is capped at 4 and bytes past the code read as zero", () => {
  const code = Uint8Array.of(Op.load_imm, 0x02, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06);
  const decoded = decodeAt(code, mask(code.length, [0]), 0);
  assert.equal(decoded.x, 0x04030201);
  const short = Uint8Array.of(Op.load_imm_64, 0x03, 0xaa);
  const wide = decodeAt(short, mask(short.length, [0]), 0);
  assert.equal(wide.wide, 0xaan);
  assert.equal(wide.a, 3);
});

Deno.test("branch offsets become absolute targets", () => {
  // branch_eq_imm r5, 7, -2 with lX = 1, lY = 1, placed at pc 4
  const code = Uint8Array.of(Op.fallthrough, 0, 0, 0, Op.branch_eq_imm, 0x15, 7, 0xfe);
  const decoded = decodeAt(code, mask(code.length, [0, 4]), 4);
  assert.deepEqual([decoded.a, decoded.x, decoded.y], [5, 7, 2]);
  const jump = Uint8Array.of(Op.jump, 0x10);
  assert.equal(decodeAt(jump, mask(2, [0]), 0).x, 16);
  const rro = Uint8Array.of(Op.branch_ne, 0x21, 0xfc, 0xff);
  const ne = decodeAt(rro, mask(4, [0]), 0);
  assert.deepEqual([ne.a, ne.b, ne.x], [1, 2, -4]);
});

Deno.test("two-immediate formats split the operand bytes by the length nibble", () => {
  // store_imm_ind_u32 r3, x = 0x1234 (2 bytes), y = -1 (1 byte)
  const code = Uint8Array.of(Op.store_imm_ind_u32, 0x23, 0x34, 0x12, 0xff);
  const d = decodeAt(code, mask(code.length, [0]), 0);
  assert.deepEqual([d.a, d.x, d.y], [3, 0x1234, -1]);
  // load_imm_jump_ind r1, r2, x = 5 (1 byte), y = 0x100 (2 bytes)
  const lij = Uint8Array.of(Op.load_imm_jump_ind, 0x21, 0x01, 0x05, 0x00, 0x01);
  const j = decodeAt(lij, mask(lij.length, [0]), 0);
  assert.deepEqual([j.a, j.b, j.x, j.y], [1, 2, 5, 0x100]);
  // store_imm_u8 with lX = 7 is capped at 4 bytes
  const si = Uint8Array.of(Op.store_imm_u8, 0x07, 1, 2, 3, 4, 9);
  const s = decodeAt(si, mask(si.length, [0]), 0);
  assert.deepEqual([s.x, s.y], [0x04030201, 9]);
});

Deno.test("unknown opcodes, cleared bitmask bits and the end of code decode as trap", () => {
  const code = Uint8Array.of(255, Op.add_64, 0, 0);
  const bits = mask(code.length, [0, 3]);
  const unknown = decodeAt(code, bits, 0);
  assert.equal(unknown.op, Op.trap);
  assert.ok(unknown.invalid);
  assert.ok(decodeAt(code, bits, 1).invalid);
  const past = decodeAt(code, bits, 10);
  assert.equal(past.op, Op.trap);
  assert.ok(isTerminator(past));
});

Deno.test("basic blocks start at 0 and after every terminator", () => {
  // 0: add_64; 3: jump +5; 5: fallthrough; 6: trap
  const code = Uint8Array.of(Op.add_64, 0, 0, Op.jump, 3, Op.fallthrough, Op.load_imm, 0);
  const decoded = decodeCode(code, mask(code.length, [0, 3, 5, 6]));
  assert.deepEqual(decoded.instructions.map((i) => i.pc), [0, 3, 5, 6]);
  const starts = [...decoded.blockStart.keys()].filter((pc) => decoded.blockStart[pc] === 1);
  assert.deepEqual(starts, [0, 5, 6]);
});

Deno.test("the jam-0.7 profile encodes every instruction but `unlikely` at its own number", () => {
  for (const info of INSTRUCTIONS) {
    const expected = info.id === Op.unlikely ? -1 : info.id;
    assert.equal(JAM_0_7.encodeTable[info.id], expected, info.name);
    if (expected >= 0) assert.equal(JAM_0_7.decodeTable[expected], info.id);
  }
  assert.equal(INSTRUCTIONS.filter((i) => JAM_0_7.encodeTable[i.id] >= 0).length, 139);
});

Deno.test("profiles carry their differences as data: sbrk and the .polkavm ISA they answer to", () => {
  assert.equal(JAM_0_7.hasSbrk, true);
  assert.equal(JAM_0_8.hasSbrk, false, "Gray Paper 0.8 replaces sbrk with a host call");
  assert.equal(JAM_0_7.polkavmIsa, undefined);
  assert.equal(JAM_0_8.polkavmIsa, "JamV1");
});
