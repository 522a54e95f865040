/**
 * The library with host calls written in TypeScript: `examples/host_calls.s` logs a message
 * (JIP-1 `log`, host call 100) and asks for the gas left (host call 0); the handlers below answer
 * both, and the program halts with the gas the host reported.
 *
 * ```sh
 * deno run --allow-read examples/host_calls.ts
 * ```
 * @module
 */
import { assemble } from "../asm.ts";
import { HOST_RESULT, invokeProgram, JAM_HOST_CALLS, Program, readLogMessage } from "../mod.ts";

const source = await Deno.readTextFile(new URL("host_calls.s", import.meta.url));
const program = Program.parse(assemble(source));

const result = invokeProgram(program, {
  gas: 100_000n,
  hostCalls: {
    [JAM_HOST_CALLS.log]: (sandbox) => {
      const log = readLogMessage(sandbox); // level, target and message from guest memory
      console.log(`guest says [${log?.target}] ${log?.message}`);
      return HOST_RESULT.OK; // written to φ7 (a0)
    },
    [JAM_HOST_CALLS.gas]: (sandbox) => sandbox.gas,
  },
});
console.log(result.status, "with a0 =", result.regs[7], "after", result.gasUsed, "gas");
