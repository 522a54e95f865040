/**
 * Test helper: spawns a zygote, prints its pid, then waits to be killed. Used to check that a
 * zygote dies with its host.
 * @module
 */
import { Zygote } from "../../src/sandbox/native/mod.ts";

const zygote = Zygote.spawn({ weakIsolation: Deno.args.includes("--weak") });
console.log(zygote.pid);
setTimeout(() => zygote[Symbol.dispose](), 60_000);
