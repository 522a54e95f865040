/**
 * Where compiled code runs, as the compiler needs to know it: the zygote's address map, register
 * assignment and VmCtx offsets, all read from the `ffi/` mirror of `zygote/abi.zig`.
 * @module
 */
import type { CodeTarget } from "../../compiler/mod.ts";
import { ABI, ABI_LISTS, fieldOffset as at } from "../../../ffi/vmctx.ts";

/** The code target of every zygote of this ABI. */
export const ZYGOTE_CODE_TARGET: CodeTarget = Object.freeze({
  codeAddress: BigInt(ABI.CODE_ADDR),
  codeLimit: ABI.CODE_MAX,
  jumpTableAddress: BigInt(ABI.JUMP_TABLE_ADDR),
  vmctxAddress: BigInt(ABI.VMCTX_ADDR),
  gasRegister: ABI.GAS_REGISTER,
  scratchRegister: ABI.SCRATCH_REGISTER,
  guestRegisters: ABI_LISTS.GUEST_REGISTERS,
  offsets: Object.freeze({
    pc: at("pc"),
    exitArg: at("exit_arg"),
    returnToHost: at("trampolines.return_to_host"),
    hostCall: at("trampolines.host_call"),
    trap: at("trampolines.trap"),
    outOfGas: at("trampolines.out_of_gas"),
  }),
});
