/**
 * The execution backends a `Sandbox` can use, by name, and how each is created for a program.
 * Adding a backend is its name in `BackendName` and `BACKENDS` and one case in `createBackend`.
 * @module
 */
import { Interpreter } from "../interpreter/interpreter.ts";
import type { Program } from "../program/program.ts";
import type { Backend } from "../pvm/mod.ts";

/** Names of the backends a sandbox can run on. */
export type BackendName = "interpreter";

/** Every backend name, for validation and help texts. */
export const BACKENDS: readonly BackendName[] = ["interpreter"];

/** Creates backend `name` for `program`; `onInstruction` is the interpreter's tracing hook. */
export function createBackend(
  name: BackendName,
  program: Program,
  onInstruction?: (pc: number) => void,
): Backend {
  switch (name) {
    case "interpreter": {
      const interpreter = new Interpreter(program.blob, { isa: program.isa });
      interpreter.onInstruction = onInstruction;
      return interpreter;
    }
  }
}
