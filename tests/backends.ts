/**
 * Running a test suite on every backend: `forEachBackend` registers one test per sandbox backend,
 * `forEachEngine` one per engine (each sandbox backend, with the interpreter in both of its
 * modes). A backend that cannot run here still gets its test, ignored, with the reason in its name.
 * @module
 */
import { Interpreter, type InterpreterOptions } from "../src/interpreter/interpreter.ts";
import { Program } from "../src/program/program.ts";
import type { Backend } from "../src/pvm/mod.ts";
import { type BackendName, BACKENDS, createBackend } from "../src/sandbox/backends.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";

/** A way of executing programs: a sandbox backend, or one mode of the interpreter. */
export interface Engine {
  /** Name in test names and reports. */
  readonly name: string;
  /** The sandbox backend it belongs to. */
  readonly backend: BackendName;
  /** Why it cannot run here; undefined when it can. */
  readonly unavailable: string | undefined;
  /** For the interpreter's modes: the options that select the mode. */
  readonly interpreterOptions?: InterpreterOptions;
  /** A fresh machine for `program`: memory inaccessible; registers, gas and pc zero. */
  create(program: Program): Backend;
}

/** A one-instruction program (`trap`) to probe whether a backend starts at all. */
const PROBE = Program.parse(Uint8Array.of(0, 0, 1, 0, 1), { container: "raw" });

/** Why `backend` cannot create a sandbox here, or undefined when it can. */
function unavailability(backend: BackendName): string | undefined {
  try {
    Sandbox.create(PROBE, { backend }).dispose();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const reasons = new Map<BackendName, string | undefined>();

/** Why `backend` cannot run here (probed once), or undefined when it can. */
export function backendUnavailable(backend: BackendName): string | undefined {
  if (!reasons.has(backend)) reasons.set(backend, unavailability(backend));
  return reasons.get(backend);
}

function interpreterMode(compile: boolean): Engine {
  return {
    name: compile ? "interpreter" : "interpreter (dispatch loop)",
    backend: "interpreter",
    unavailable: undefined,
    interpreterOptions: { compile },
    create: (program) => new Interpreter(program.blob, { isa: program.isa, compile }),
  };
}

/**
 * Every engine, the reference first: the interpreter with translated blocks (its default), the
 * interpreter's dispatch loop, then every other sandbox backend.
 */
export const ENGINES: readonly Engine[] = [
  interpreterMode(true),
  interpreterMode(false),
  ...BACKENDS.filter((name) => name !== "interpreter").map((backend): Engine => ({
    name: backend,
    backend,
    get unavailable() {
      return backendUnavailable(backend);
    },
    create: (program) => createBackend(backend, program),
  })),
];

/** The interpreter's modes. */
export const INTERPRETER_MODES: readonly Engine[] = ENGINES.filter((e) =>
  e.backend === "interpreter"
);

/** The engines that can run here. */
export function availableEngines(): Engine[] {
  return ENGINES.filter((engine) => engine.unavailable === undefined);
}

/** Options of `forEachBackend` and `forEachEngine`. */
export interface PerBackendOptions {
  /** Why the whole suite cannot run here (e.g. its data is absent); it is then ignored. */
  readonly ignore?: string;
}

/** Options of `forEachEngine`. */
export interface PerEngineOptions extends PerBackendOptions {
  /** The engines to register the suite for (default: all). */
  readonly engines?: readonly Engine[];
  /** Why the suite is ignored on one engine (a known, reported defect), or undefined. */
  readonly ignoreOn?: (engine: Engine) => string | undefined;
}

function register<T>(
  name: string,
  label: string,
  unavailable: string | undefined,
  subject: T,
  fn: (subject: T) => void | Promise<void>,
): void {
  Deno.test({
    name: unavailable === undefined ? `${name} [${label}]` : `${name} [${label}: ${unavailable}]`,
    ignore: unavailable !== undefined,
    fn: () => fn(subject),
  });
}

/** Registers `fn` as one test per sandbox backend, named `name [backend]`. */
export function forEachBackend(
  name: string,
  fn: (backend: BackendName) => void | Promise<void>,
  options: PerBackendOptions = {},
): void {
  for (const backend of BACKENDS) {
    const unavailable = options.ignore ?? prefixed(backendUnavailable(backend));
    register(name, backend, unavailable, backend, fn);
  }
}

/** Registers `fn` as one test per engine, named `name [engine]`. */
export function forEachEngine(
  name: string,
  fn: (engine: Engine) => void | Promise<void>,
  options: PerEngineOptions = {},
): void {
  for (const engine of options.engines ?? ENGINES) {
    const ignore = options.ignore ?? prefixed(engine.unavailable) ?? options.ignoreOn?.(engine);
    register(name, engine.name, ignore, engine, fn);
  }
}

function prefixed(reason: string | undefined): string | undefined {
  return reason === undefined ? undefined : `unavailable, ${reason}`;
}
