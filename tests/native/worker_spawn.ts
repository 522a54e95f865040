/**
 * Test helper run as a Worker: spawns, runs and disposes zygotes from a non-main thread, then
 * reports the results to the parent.
 * @module
 */
import { Zygote } from "../../src/sandbox/native/mod.ts";
import { Asm, R } from "./x86.ts";

const self = globalThis as unknown as Worker;
self.onmessage = (event: MessageEvent<{ count: number; tag: number }>) => {
  const results: bigint[] = [];
  for (let i = 0; i < event.data.count; i++) {
    using zygote = Zygote.spawn();
    zygote.loadCode(new Asm().movImm(R.rax, event.data.tag * 1000 + i).ret().build());
    zygote.run(0);
    results.push(zygote.getRegister(7));
  }
  self.postMessage(results.map(String));
};
