/**
 * The portable backend on its own: the PVM interpreter (a dispatch loop, or basic blocks
 * translated to JavaScript) with its paged memory, and the machine contract every backend
 * implements (`Backend`, `GuestMemory`). A `Sandbox` is the checked way to use it; this is for
 * tools that drive a machine directly.
 *
 * @example Run a raw blob on a bare machine
 * ```ts
 * import { Interpreter } from "@pvmbox/pvmbox/interpreter";
 * import { parseBlob } from "@pvmbox/pvmbox/program";
 *
 * using vm = new Interpreter(parseBlob(Uint8Array.of(0, 0, 1, 0, 1))); // one `trap`
 * vm.gas = 10n;
 * console.log(vm.run()); // { kind: "panic", pc: 0 }
 * ```
 *
 * @module
 */
export { Interpreter, type InterpreterOptions } from "./src/interpreter/interpreter.ts";
export { PagedMemory } from "./src/interpreter/memory.ts";
export type { Backend, GuestMemory } from "./src/pvm/mod.ts";
