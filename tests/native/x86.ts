/**
 * A tiny x86-64 encoder for the hand-written guest snippets the native sandbox tests run.
 * Registers are numbered as in the ISA (rax 0 … r15 15). Guest code reaches the VmCtx
 * RIP-relative and finds the gas in ABI.GAS_REGISTER, as generated code does; snippets are loaded at
 * CODE_ADDR, so an offset in the snippet is an offset from CODE_ADDR.
 * @module
 */
import { ABI, ABI_LISTS, fieldOffset } from "../../ffi/vmctx.ts";
import { Reg } from "../../src/compiler/x64/operands.ts";

/** x86-64 register numbers (the compiler's table). */
export const R: typeof Reg = Reg;

/** Native register holding PVM register i (the order of abi.GUEST_REGISTERS). */
export const GUEST_REGISTER: readonly number[] = ABI_LISTS.GUEST_REGISTERS;

function le(value: bigint, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) {
    out.push(Number((BigInt.asUintN(bytes * 8, value) >> BigInt(8 * i)) & 0xffn));
  }
  return out;
}

/** Offset of a VmCtx field. */
export const field: (name: string) => number = fieldOffset;

/** Offset of the VmCtx from CODE_ADDR, where snippets are loaded. */
const VMCTX_FROM_CODE = ABI.VMCTX_ADDR - ABI.CODE_ADDR;

/** Builds machine code by appending instructions. */
export class Asm {
  readonly bytes: number[] = [];

  /** Current offset. */
  get here(): number {
    return this.bytes.length;
  }

  /** Raw bytes. */
  raw(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }

  /** mov reg, imm64 */
  movImm(reg: number, value: bigint | number): this {
    return this.raw(0x48 | (reg >> 3), 0xb8 + (reg & 7), ...le(BigInt(value), 8));
  }

  /** mov dst, src (64-bit) */
  movReg(dst: number, src: number): this {
    return this.raw(
      0x48 | ((src >> 3) << 2) | (dst >> 3),
      0x89,
      0xc0 | ((src & 7) << 3) | (dst & 7),
    );
  }

  /** add reg, imm32 (64-bit) */
  addImm(reg: number, value: number): this {
    return this.raw(0x48 | (reg >> 3), 0x81, 0xc0 | (reg & 7), ...le(BigInt(value), 4));
  }

  /** mov qword [addr], src via rcx as the address register. */
  store64(address: bigint | number, src: number): this {
    this.movImm(R.rcx, address);
    return this.raw(0x48 | ((src >> 3) << 2), 0x89, ((src & 7) << 3) | 1);
  }

  /** mov dst, qword [addr] via rcx as the address register. */
  load64(dst: number, address: bigint | number): this {
    this.movImm(R.rcx, address);
    return this.raw(0x48 | ((dst >> 3) << 2), 0x8b, ((dst & 7) << 3) | 1);
  }

  /** mov byte [addr], imm8 via rcx. */
  storeByte(address: bigint | number, value: number): this {
    this.movImm(R.rcx, address);
    return this.raw(0xc6, 0x01, value & 0xff);
  }

  /** The rel32 of a RIP-relative operand reaching VmCtx byte `offset`, `after` bytes on. */
  #vm(offset: number, after: number): number[] {
    return le(BigInt(VMCTX_FROM_CODE + offset - (this.here + 4 + after)), 4);
  }

  /** mov dword [VmCtx + offset], imm32 (RIP-relative) */
  setVm32(offset: number, value: number): this {
    this.raw(0xc7, 0x05);
    return this.raw(...this.#vm(offset, 4), ...le(BigInt(value), 4));
  }

  /** mov qword [VmCtx + offset], src (RIP-relative) */
  setVm64(offset: number, src: number): this {
    this.raw(0x48 | ((src >> 3) << 2), 0x89, ((src & 7) << 3) | 5);
    return this.raw(...this.#vm(offset, 0));
  }

  /** sub <gas register>, imm32: pays gas (the register holds it while guest code runs) */
  subGas(value: number): this {
    const gas = ABI.GAS_REGISTER;
    return this.raw(0x48 | (gas >> 3), 0x81, 0xe8 | (gas & 7), ...le(BigInt(value), 4));
  }

  /** jmp qword [VmCtx + offset] (RIP-relative) */
  jmpVm(offset: number): this {
    this.raw(0xff, 0x25);
    return this.raw(...this.#vm(offset, 0));
  }

  /** call qword [VmCtx + offset] (RIP-relative) */
  callVm(offset: number): this {
    this.raw(0xff, 0x15);
    return this.raw(...this.#vm(offset, 0));
  }

  /** js rel32 to an absolute offset in this code. */
  js(target: number): this {
    return this.raw(0x0f, 0x88, ...le(BigInt(target - (this.here + 6)), 4));
  }

  /** jmp rel32 to an absolute offset in this code. */
  jmp(target: number): this {
    return this.raw(0xe9, ...le(BigInt(target - (this.here + 5)), 4));
  }

  /** Returns to the host. */
  ret(): this {
    return this.jmpVm(field("trampolines.return_to_host"));
  }

  /** Host call `id` reported at guest `pc`; continues after the call when resumed. */
  hostCall(id: number, pc = 0): this {
    return this.setVm32(field("exit_arg"), id).setVm32(field("pc"), pc).callVm(
      field("trampolines.host_call"),
    );
  }

  /** Trap at guest `pc`. */
  trap(pc: number): this {
    return this.setVm32(field("pc"), pc).jmpVm(field("trampolines.trap"));
  }

  /** A raw system call: rax = nr, args in rdi, rsi, rdx, r10, r8, r9. */
  syscall(nr: number, ...args: (bigint | number)[]): this {
    const regs = [R.rdi, R.rsi, R.rdx, R.r10, R.r8, R.r9];
    this.movImm(R.rax, nr);
    args.forEach((a, i) => this.movImm(regs[i], a));
    return this.raw(0x0f, 0x05);
  }

  /** The code as bytes. */
  build(): Uint8Array {
    return new Uint8Array(this.bytes);
  }
}
