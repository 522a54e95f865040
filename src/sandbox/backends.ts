/**
 * The execution backends a `Sandbox` can use, by name, how each is created for a program, and
 * how `auto` picks one. Adding a backend is its name in `BackendName` and `BACKENDS` and one case
 * in `createBackend`.
 * @module
 */
import { Interpreter } from "../interpreter/interpreter.ts";
import type { Program } from "../program/program.ts";
import { type Backend, SandboxError } from "../pvm/mod.ts";
import { nativeLibraryDescription, nativeUnavailable } from "./native/availability.ts";
import { createNativeBackend } from "./native/instantiate.ts";

/** Names of the backends a sandbox can run on. */
export type BackendName = "interpreter" | "native";

/** A backend name, or `auto`: native where it works here, otherwise the interpreter. */
export type BackendChoice = BackendName | "auto";

/** Every backend name, for validation and help texts. */
export const BACKENDS: readonly BackendName[] = ["interpreter", "native"];

/** The backend a sandbox runs on when none is asked for. */
export const DEFAULT_BACKEND: BackendChoice = "auto";

/** Every accepted backend choice. */
export const BACKEND_CHOICES: readonly BackendChoice[] = [...BACKENDS, "auto"];

/**
 * Creates backend `name` for `program`; `onInstruction` is the tracing hook (native code then runs
 * in step mode).
 */
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
    case "native": {
      const unavailable = nativeUnavailable();
      if (unavailable !== undefined) throw new SandboxError("unsupported", unavailable);
      return createNativeBackend(program, onInstruction);
    }
  }
}

/** Why spawning a native sandbox failed in `auto` mode, so later choices skip the attempt. */
let spawnRefused: string | undefined;

/** A created backend, which one it is and why it was chosen. */
export interface ChosenBackend {
  /** The backend. */
  readonly machine: Backend;
  /** Its name. */
  readonly name: BackendName;
  /** Why this one: asked for by name, or what `auto` found. */
  readonly reason: string;
}

/**
 * Creates the backend `choice` asks for. `auto` takes the native backend when it runs here
 * (Linux x86-64, `--allow-ffi`, the library present, a sandbox process spawns) and the
 * interpreter otherwise, never failing for want of the native one.
 */
export function chooseBackend(
  choice: BackendChoice,
  program: Program,
  onInstruction?: (pc: number) => void,
): ChosenBackend {
  if (choice !== "auto") {
    return {
      machine: createBackend(choice, program, onInstruction),
      name: choice,
      reason: "asked for by name",
    };
  }
  const interpreter = (why: string): ChosenBackend => ({
    machine: createBackend("interpreter", program, onInstruction),
    name: "interpreter",
    reason: `auto chose it: ${why}`,
  });
  if (onInstruction !== undefined) {
    return interpreter("tracing is faster on the interpreter (native traces in step mode)");
  }
  const unavailable = nativeUnavailable() ?? spawnRefused;
  if (unavailable !== undefined) return interpreter(unavailable);
  try {
    return {
      machine: createNativeBackend(program),
      name: "native",
      reason: "auto chose it: Linux x86-64, --allow-ffi granted, library " +
        `${nativeLibraryDescription()} loaded, sandbox spawned`,
    };
  } catch (error) {
    if (!(error instanceof SandboxError)) throw error;
    if (error.kind === "namespaces-unavailable" || error.kind === "spawn-failed") {
      spawnRefused = error.message;
    }
    return interpreter(error.message);
  }
}
