/**
 * `Sandbox`: one PVM instance — registers, gas, pc and guest memory — on a chosen backend, set up
 * by JAM standard initialization or left bare for the caller to prepare.
 * @module
 */
import {
  ADDRESS_SPACE_SIZE,
  applyLayout,
  type Backend,
  type Exit,
  REGISTER_COUNT,
  SandboxError,
  type StandardLayout,
  standardLayout,
} from "../pvm/mod.ts";
import type { Program } from "../program/program.ts";
import {
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendName,
  chooseBackend,
  DEFAULT_BACKEND,
} from "./backends.ts";
import {
  invoke,
  invokeAsync,
  type InvokeAsyncOptions,
  type InvokeOptions,
  type InvokeResult,
} from "./invoke.ts";
import { SandboxMemory } from "./memory.ts";

const I64_MAX = (1n << 63n) - 1n;

/** How a sandbox is prepared before its first `run()`. */
export type InitMode = "standard" | "bare";

/** Options of `Sandbox.create`. */
export interface SandboxOptions {
  /**
   * Which backend runs the code: `native` (compiled to x86-64, in a locked-down process; Linux
   * x86-64 with `--allow-ffi`), `interpreter` (anywhere, no permissions), or `auto` (native where
   * it runs, otherwise the interpreter; `backendReason` says why). Default `DEFAULT_BACKEND`.
   */
  readonly backend?: BackendChoice;
  /** Initial gas (0 … 2^63 − 1). Default 0: set `gas` before running. */
  readonly gas?: bigint;
  /**
   * `standard`: JAM standard initialization (memory layout, registers, heap top), the default
   * for programs with a memory layout. `bare`: all memory inaccessible and registers 0; the
   * caller maps memory and sets registers. Raw blobs only support `bare`.
   */
  readonly init?: InitMode;
  /** The argument buffer for standard initialization (at most 2^24 bytes). Default empty. */
  readonly args?: Uint8Array;
  /** The pc of the first instruction. Default 0. */
  readonly entry?: number;
  /**
   * Tracing: called with the pc of each instruction after it executed, except the one that ends
   * a run (its pc is in the `Exit`; an `ecalli` is reported before its exit). Inside the hook
   * `getRegister` reads live values. Slows execution.
   */
  readonly onInstruction?: (pc: number) => void;
}

function checkGas(gas: unknown): bigint {
  if (typeof gas !== "bigint" || gas < 0n || gas > I64_MAX) {
    throw new SandboxError(
      "invalid-argument",
      `gas must be a bigint in 0…2^63−1, not ${String(gas)}${typeof gas === "bigint" ? "n" : ""}`,
    );
  }
  return gas;
}

/** Checks that `value` (named `what` in the error) is a 32-bit natural number. */
function checkU32(what: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new SandboxError(
      "invalid-argument",
      `${what} must be an integer in 0…2^32−1, not ${value}`,
    );
  }
  return value;
}

function checkRegisterIndex(index: unknown): number {
  if (
    typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= REGISTER_COUNT
  ) {
    throw new SandboxError(
      "invalid-argument",
      `register index must be an integer in 0…${REGISTER_COUNT - 1}, not ${index}`,
    );
  }
  return index;
}

/** Options of `Sandbox.reset`: how the program starts again. */
export type ResetOptions = Pick<SandboxOptions, "gas" | "init" | "args" | "entry">;

/** A validated start: the layout to apply (standard initialization), gas and entry pc. */
interface Start {
  readonly layout: StandardLayout | undefined;
  readonly gas: bigint;
  readonly entry: number;
}

/** Validates how `program` starts; throws `SandboxError` (`invalid-argument`) when it cannot. */
function startOf(program: Program, options: ResetOptions): Start {
  const gas = checkGas(options.gas ?? 0n);
  const entry = checkU32("pc", options.entry ?? 0);
  const init = options.init ?? (program.memory === undefined ? "bare" : "standard");
  if (init !== "standard" && init !== "bare") {
    throw new SandboxError("invalid-argument", `init must be 'standard' or 'bare', not ${init}`);
  }
  if (options.args !== undefined && !(options.args instanceof Uint8Array)) {
    throw new SandboxError("invalid-argument", "args must be a Uint8Array");
  }
  if (init === "bare" && options.args !== undefined) {
    throw new SandboxError(
      "invalid-argument",
      "args need standard initialization; in bare mode write them to memory yourself",
    );
  }
  if (init === "standard" && program.memory === undefined) {
    throw new SandboxError(
      "invalid-argument",
      "a raw blob has no memory layout for standard initialization; use init: 'bare'",
    );
  }
  const layout = init === "standard"
    ? standardLayout(program.memory!, options.args ?? new Uint8Array(0))
    : undefined;
  return { layout, gas, entry };
}

/**
 * A PVM instance. Registers are in `regs` (a `BigUint64Array` the sandbox copies into the
 * backend before each `run()` and back after it, so edit it freely between runs) or through the
 * checked `getRegister`/`setRegister`. `gas`, `pc` and `heapTop` are readable and writable
 * between runs. Dispose it (`using sb = Sandbox.create(...)`) to release the backend.
 *
 * @example Run until the program halts, answering host calls on the way
 * ```ts
 * import { assemble } from "@pvmbox/pvmbox/asm";
 * import { Program, Sandbox } from "@pvmbox/pvmbox";
 *
 * const program = Program.parse(assemble(".stack_size 4096\n ecalli 1\n jump_ind ra, 0\n"));
 * using sandbox = Sandbox.create(program, { gas: 10_000n });
 * let exit = sandbox.run();
 * while (exit.kind === "host-call") {
 *   sandbox.regs[7] = BigInt(exit.id) * 100n; // the host's answer in a0
 *   exit = sandbox.run();
 * }
 * console.log(exit.kind, sandbox.regs[7], sandbox.gas); // "halt" 100n 9998n
 * ```
 */
export class Sandbox implements Disposable {
  /** The program this sandbox runs. */
  readonly program: Program;
  /** Name of the backend running the program. */
  readonly backend: BackendName;
  /** Why this backend runs the program (what `auto` found, or that it was asked for). */
  readonly backendReason: string;
  /** φ0…φ12, synced with the backend around every `run()`. */
  readonly regs: BigUint64Array = new BigUint64Array(REGISTER_COUNT);
  /** Guest memory with checked arguments. */
  readonly memory: SandboxMemory;
  /** The exit of the latest `run()`, or `undefined` before the first. */
  lastExit: Exit | undefined;

  #machine: Backend | undefined;
  #running = false;

  private constructor(program: Program, backend: BackendName, reason: string, machine: Backend) {
    this.program = program;
    this.backend = backend;
    this.backendReason = reason;
    this.#machine = machine;
    this.memory = new SandboxMemory(() => this.#live().memory);
  }

  /**
   * Creates a sandbox for `program`. Throws `SandboxError` (`invalid-argument`) for an unknown
   * backend, bad gas or entry, arguments larger than 2^24 bytes, arguments in bare mode, or
   * standard initialization of a raw blob (which has no memory layout).
   */
  static create(program: Program, options: SandboxOptions = {}): Sandbox {
    const backend = options.backend ?? DEFAULT_BACKEND;
    if (!BACKEND_CHOICES.includes(backend)) {
      throw new SandboxError(
        "invalid-argument",
        `unknown backend '${backend}'; available: ${BACKEND_CHOICES.join(", ")}`,
      );
    }
    // Validate the start before creating the backend so nothing needs disposing on failure.
    const start = startOf(program, options);
    const chosen = chooseBackend(backend, program, options.onInstruction);
    const sandbox = new Sandbox(program, chosen.name, chosen.reason, chosen.machine);
    try {
      sandbox.#begin(start);
    } catch (error) {
      sandbox.dispose();
      throw error;
    }
    return sandbox;
  }

  /**
   * Starts the program afresh on the same backend (on native, the same sandbox process, its
   * code still loaded): all memory discarded, registers zeroed, then initialized as `create`
   * does with these options. Cheaper than a new sandbox; throws like `create` for bad options.
   */
  reset(options: ResetOptions = {}): void {
    const machine = this.#live();
    if (this.#running) throw new SandboxError("invalid-argument", "reset() inside a run");
    const start = startOf(this.program, options);
    machine.reset();
    this.regs.fill(0n);
    this.lastExit = undefined;
    this.#begin(start);
  }

  /** Applies a validated start to the (fresh) backend. */
  #begin({ layout, gas, entry }: Start): void {
    const machine = this.#live();
    if (layout !== undefined) {
      if (machine.applyLayout !== undefined) machine.applyLayout(layout);
      else applyLayout(machine.memory, layout);
      if (this.program.isa.hasSbrk) machine.heapTop = layout.heapTop;
      this.regs.set(layout.registers);
    }
    machine.gas = gas;
    machine.pc = entry;
  }

  #live(): Backend {
    if (this.#machine === undefined) {
      throw new SandboxError("disposed", "this sandbox has been disposed; create a new one");
    }
    return this.#machine;
  }

  /** Remaining gas (0 … 2^63 − 1). */
  get gas(): bigint {
    return this.#live().gas;
  }
  set gas(value: bigint) {
    this.#live().gas = checkGas(value);
  }

  /**
   * Where the next `run()` starts. After a host call it is the instruction after the `ecalli`;
   * after a page fault, the faulting instruction; after out-of-gas, the unpaid block. Setting it
   * starts a new basic block there, charged on entry.
   */
  get pc(): number {
    return this.#live().pc;
  }
  set pc(value: number) {
    this.#live().pc = checkU32("pc", value);
  }

  /**
   * The heap top `sbrk` grows from. A profile without `sbrk` (`jam-0.8`, whose heap grows by the
   * `grow_heap` host call) has none: it reads 0 and setting it throws `unsupported`.
   */
  get heapTop(): number {
    return this.#live().heapTop;
  }
  set heapTop(value: number) {
    const machine = this.#live();
    if (!this.program.isa.hasSbrk) {
      throw new SandboxError(
        "unsupported",
        `${this.program.isa.name} has no sbrk, so no heap top; its heap grows by grow_heap`,
      );
    }
    machine.heapTop = checkU32("heapTop", value);
  }

  /** Reads register `index` (0…12). Inside `onInstruction` this is the live value. */
  getRegister(index: number): bigint {
    checkRegisterIndex(index);
    const machine = this.#live();
    return this.#running ? machine.getRegister(index) : this.regs[index];
  }

  /**
   * Sets register `index` (0…12) to `value` (a bigint or safe integer, taken modulo 2^64). Inside
   * `onInstruction` it writes the live register.
   */
  setRegister(index: number, value: bigint | number): void {
    checkRegisterIndex(index);
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new SandboxError("invalid-argument", `register value ${value} is not a safe integer`);
    }
    if (typeof value !== "bigint" && typeof value !== "number") {
      throw new SandboxError("invalid-argument", "register value must be a bigint or a number");
    }
    const wrapped = BigInt.asUintN(64, BigInt(value));
    const machine = this.#live();
    if (this.#running) machine.setRegister(index, wrapped);
    else this.regs[index] = wrapped;
  }

  /** Runs until the next exit and returns it. */
  run(): Exit {
    const machine = this.#live();
    if (this.#running) throw new SandboxError("invalid-argument", "run() is not re-entrant");
    machine.setRegisters(this.regs);
    this.#running = true;
    try {
      this.lastExit = machine.run();
    } finally {
      this.#running = false;
      machine.getRegisters(this.regs);
    }
    return this.lastExit;
  }

  /**
   * Like `run()`, without blocking the JS thread on the native backend (all sandboxes of the
   * process share one native waiter); the interpreter runs synchronously. The sandbox is busy
   * until the promise settles.
   */
  async runAsync(): Promise<Exit> {
    const machine = this.#live();
    if (this.#running) throw new SandboxError("invalid-argument", "run() is not re-entrant");
    if (machine.runAsync === undefined) return this.run();
    machine.setRegisters(this.regs);
    this.#running = true;
    try {
      this.lastExit = await machine.runAsync();
    } finally {
      this.#running = false;
      if (this.#machine !== undefined) machine.getRegisters(this.regs);
    }
    return this.lastExit;
  }

  /**
   * The output of a halted program, memory [φ7, φ7 + φ8), or `undefined` when that range is not
   * readable (or leaves the 4 GiB address space).
   */
  output(): Uint8Array | undefined {
    const address = this.regs[7], length = this.regs[8];
    if (address + length > BigInt(ADDRESS_SPACE_SIZE)) return undefined;
    return this.memory.tryRead(Number(address), Number(length));
  }

  /** Runs to completion, servicing host calls from `options.hostCalls`; see `InvokeOptions`. */
  invoke(options: InvokeOptions = {}): InvokeResult {
    return invoke(this, options);
  }

  /** Like `invoke`, but host-call handlers may return promises. */
  invokeAsync(options: InvokeAsyncOptions = {}): Promise<InvokeResult> {
    return invokeAsync(this, options);
  }

  /** True once disposed. */
  get disposed(): boolean {
    return this.#machine === undefined;
  }

  /** Releases the backend; further use throws `SandboxError` (`disposed`). Idempotent. */
  dispose(): void {
    const machine = this.#machine;
    this.#machine = undefined;
    machine?.[Symbol.dispose]();
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Options of `invokeProgram`: sandbox creation plus the invocation. */
export type InvokeProgramOptions = SandboxOptions & InvokeOptions;

/**
 * One-shot: creates a sandbox for `program` (standard initialization with `args` unless it is a
 * raw blob), runs it from `entry` with `gas`, services host calls, disposes it and returns the
 * result.
 *
 * @example Host calls as a table of handlers
 * ```ts
 * import { assemble } from "@pvmbox/pvmbox/asm";
 * import { invokeProgram, Program } from "@pvmbox/pvmbox";
 *
 * const program = Program.parse(assemble(".stack_size 4096\n ecalli 5\n jump_ind ra, 0\n"));
 * const result = invokeProgram(program, {
 *   gas: 10_000n,
 *   hostCalls: { 5: (sandbox) => void (sandbox.regs[7] = 42n) },
 * });
 * console.log(result.status, result.regs[7]); // "halt" 42n
 * ```
 */
export function invokeProgram(
  program: Program,
  options: InvokeProgramOptions = {},
): InvokeResult {
  using sandbox = Sandbox.create(program, options);
  const { hostCalls, defaultHostCall, onPageFault } = options;
  return sandbox.invoke({ hostCalls, defaultHostCall, onPageFault });
}
