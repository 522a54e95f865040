/**
 * A PVM program on the native backend with the permissions the package documents, and no Zig:
 * the library comes embedded in the package and is written once into `$PVMBOX_CACHE`.
 *
 * ```sh
 * export PVMBOX_CACHE=$HOME/.cache/pvmbox
 * deno run --allow-env=PVMBOX_NATIVE_LIB,PVMBOX_CACHE --allow-read=$PVMBOX_CACHE \
 *   --allow-write=$PVMBOX_CACHE --allow-ffi=$PVMBOX_CACHE examples/native_sandbox.ts
 * ```
 * @module
 */
import { assemble } from "../asm.ts";
import { Program, Sandbox } from "../mod.ts";

// fib(n) for n = the first argument byte, by a loop (see examples/fibonacci.s).
const program = Program.parse(assemble(`
.stack_size 0x1000
    load_ind_u8 t0, [a0]
    load_imm a0, 0
    load_imm a1, 1
    branch_eq_imm t0, 0, done
loop:
    add_64 t1, a0, a1
    move_reg a0, a1
    move_reg a1, t1
    add_imm_64 t0, t0, -1
    branch_ne_imm t0, 0, loop
done:
    jump_ind ra, 0
`));

using sandbox = Sandbox.create(program, {
  backend: "native",
  gas: 1_000_000n,
  args: Uint8Array.of(50),
});
const exit = sandbox.run();
console.log(JSON.stringify({
  backend: sandbox.backend,
  exit: exit.kind,
  result: sandbox.regs[7].toString(),
}));
