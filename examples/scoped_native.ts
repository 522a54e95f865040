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

/**
 * Guest machine code (x86-64; guest register ω7 is rax). The VmCtx lies 64 MiB (0x4000000)
 * after the code, reached RIP-relative: a displacement counts from the end of its instruction.
 */
const GUEST = new Uint8Array([
  // 0: mov rcx, 0x10000 ; mov rax, [rcx]                    ω7 = the input word
  ...[0x48, 0xb9, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
  ...[0x48, 0x8b, 0x01],
  // 13: mov dword [rip+0x3fffff5], 1 ; call [rip+0x40002bb]  host call 1 (VmCtx exit_arg at
  // 12 = 0x3fffff5 + 23, host_call trampoline at 728 = 0x40002bb + 29, past 0x4000000)
  ...[0xc7, 0x05, 0xf5, 0xff, 0xff, 0x03, 0x01, 0x00, 0x00, 0x00],
  ...[0xff, 0x15, 0xbb, 0x02, 0x00, 0x04],
  // 29: mov rcx, 0x10008 ; mov [rcx], rax                   store the host's answer
  ...[0x48, 0xb9, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
  ...[0x48, 0x89, 0x01],
  // 42: jmp [rip+0x40002a0]                                  return to the host (trampoline
  // return_to_host at 720 = 0x40002a0 + 48, past 0x4000000)
  ...[0xff, 0x25, 0xa0, 0x02, 0x00, 0x04],
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
