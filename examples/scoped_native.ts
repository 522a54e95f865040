/**
 * Drives a native sandbox end to end with the narrowest permissions: only `--allow-ffi` for the
 * library itself. Without unscoped FFI, guest memory goes through copy calls, not views.
 *
 * ```sh
 * deno task build
 * deno run --allow-ffi=zig-out/lib/libpvmbox_native.so examples/scoped_native.ts
 * ```
 * @module
 */
import { Zygote } from "../src/sandbox/native/mod.ts";

/** Guest machine code (x86-64; guest register ω7 is rax, VmCtx is at r13). */
const GUEST = new Uint8Array([
  // mov rcx, 0x10000 ; mov rax, [rcx]          ω7 = the input word
  ...[0x48, 0xb9, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
  ...[0x48, 0x8b, 0x01],
  // mov dword [r13+140], 1 ; call [r13+728]   host call 1 (VmCtx exit_arg, host_call trampoline)
  ...[0x41, 0xc7, 0x85, 0x8c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00],
  ...[0x41, 0xff, 0x95, 0xd8, 0x02, 0x00, 0x00],
  // mov rcx, 0x10008 ; mov [rcx], rax           store the host's answer
  ...[0x48, 0xb9, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
  ...[0x48, 0x89, 0x01],
  // jmp [r13+720]                               return to the host
  ...[0x41, 0xff, 0xa5, 0xd0, 0x02, 0x00, 0x00],
]);

using zygote = Zygote.spawn({ timeoutMs: 5000 });
zygote.memory.map(0x10000, 4096, "read-write");
const input = new Uint8Array(8);
new DataView(input.buffer).setBigUint64(0, 21n, true);
zygote.memory.write(0x10000, input);
zygote.loadCode(GUEST);

const exits: string[] = [];
let exit = zygote.run(0);
while (exit.kind === "host-call") {
  exits.push(`host-call ${exit.id}`);
  zygote.setRegister(7, zygote.getRegister(7) * 2n); // the host call doubles ω7
  exit = zygote.resume();
}
exits.push(exit.kind);
const output = new DataView(zygote.memory.read(0x10008, 8).buffer).getBigUint64(0, true);
console.log(JSON.stringify({
  exits,
  output: output.toString(),
  zeroCopy: zygote.memory.zeroCopy,
  isolation: zygote.isolation,
  facts: { noNewPrivs: zygote.facts().noNewPrivs, rootEntries: zygote.facts().rootEntries },
}));
