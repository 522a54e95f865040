/**
 * Invocation: run a sandbox to completion, servicing host calls from a handler table (and,
 * optionally, page faults), and report a typed result.
 * @module
 */
import { type Exit, SandboxError } from "../pvm/mod.ts";
import type { Sandbox } from "./sandbox.ts";

/** What a host-call handler returns. */
export type HostCallOutcome =
  /** Continue; the handler set whatever registers it needed. */
  | void
  /** Write this value (taken modulo 2^64) to φ7 and continue. */
  | bigint
  /** End the invocation with status `host-call-stopped`; the sandbox can be resumed later. */
  | "stop";

/** The host call being serviced. */
export interface HostCall {
  /** The `ecalli` immediate. */
  readonly id: number;
  /** pc of the `ecalli`. */
  readonly pc: number;
}

/**
 * Services host call `call.id`: reads arguments from `sandbox.regs` (φ7…φ12) and memory, may
 * change registers, memory and gas, and says how to go on.
 */
export type HostCallHandler = (sandbox: Sandbox, call: HostCall) => HostCallOutcome;

/** A host-call handler that may be asynchronous (for `invokeAsync`). */
export type AsyncHostCallHandler = (
  sandbox: Sandbox,
  call: HostCall,
) => HostCallOutcome | Promise<HostCallOutcome>;

/**
 * Decides what happens after a page fault at `address`: `retry` re-runs the faulting instruction
 * (after the handler mapped the page), `stop` ends the invocation with status `page-fault`. If
 * the retried instruction faults again at the same address, the invocation ends there.
 */
export type PageFaultHandler = (
  sandbox: Sandbox,
  fault: { readonly pc: number; readonly address: number },
) => "retry" | "stop";

/** Options of `Sandbox#invoke`. */
export interface InvokeOptions {
  /** Start pc; default: the sandbox's current pc. */
  readonly entry?: number;
  /** Gas to set before starting; default: the sandbox's current gas. */
  readonly gas?: bigint;
  /** Handlers by host-call id, e.g. `{ 100: log }`. */
  readonly hostCalls?: Readonly<Record<number, HostCallHandler>>;
  /** Services every id without an entry in `hostCalls`; without it they end the invocation. */
  readonly defaultHostCall?: HostCallHandler;
  /** Page-fault handler; without one a page fault ends the invocation. */
  readonly onPageFault?: PageFaultHandler;
}

/** Options of `Sandbox#invokeAsync`: handlers may return promises. */
export interface InvokeAsyncOptions extends Omit<InvokeOptions, "hostCalls" | "defaultHostCall"> {
  /** Handlers by host-call id; each may be async. */
  readonly hostCalls?: Readonly<Record<number, AsyncHostCallHandler>>;
  /** Services every id without an entry in `hostCalls`; may be async. */
  readonly defaultHostCall?: AsyncHostCallHandler;
}

/**
 * How an invocation ended: the exit kinds `halt`, `panic`, `out-of-gas` and `page-fault`;
 * `host-call-stopped` when a handler returned `stop`; `unknown-host-call` when neither
 * `hostCalls` nor `defaultHostCall` handles the id (`exit.id` says which). In both host-call cases the sandbox's pc is after
 * the `ecalli`, so the caller can service it and resume with `run()` or `invoke()`.
 */
export type InvokeStatus =
  | "halt"
  | "panic"
  | "out-of-gas"
  | "page-fault"
  | "host-call-stopped"
  | "unknown-host-call";

/** The result of an invocation. */
export interface InvokeResult {
  /** How it ended. */
  readonly status: InvokeStatus;
  /** The last exit of the machine. */
  readonly exit: Exit;
  /** Gas at the start minus gas at the end (gas handlers add counts against it). */
  readonly gasUsed: bigint;
  /** Gas left. */
  readonly gasLeft: bigint;
  /** On `halt`: memory [φ7, φ7 + φ8) when readable; otherwise `undefined`. */
  readonly output: Uint8Array | undefined;
  /** A copy of φ0…φ12 at the end. */
  readonly regs: BigUint64Array;
  /** How many host calls the handlers serviced. */
  readonly hostCallsServiced: number;
}

type Request =
  | { readonly kind: "run" }
  | { readonly kind: "host-call"; readonly id: number; readonly pc: number }
  | { readonly kind: "page-fault"; readonly pc: number; readonly address: number };

/**
 * The invocation loop as a generator: yields each run it needs (and receives its exit) and each
 * exit a handler must see (and receives the handler's resolved outcome), so the sync and async
 * drivers share one loop.
 */
function* invocation(
  sandbox: Sandbox,
  options: InvokeOptions | InvokeAsyncOptions,
): Generator<Request, InvokeResult, Exit | HostCallOutcome | "retry"> {
  if (options.gas !== undefined) sandbox.gas = options.gas;
  if (options.entry !== undefined) sandbox.pc = options.entry;
  const startGas = sandbox.gas;
  let serviced = 0;
  let retried: { pc: number; address: number } | undefined;
  const finish = (status: InvokeStatus, exit: Exit): InvokeResult => {
    const gasLeft = sandbox.gas;
    return {
      status,
      exit,
      gasUsed: startGas - gasLeft,
      gasLeft,
      output: status === "halt" ? sandbox.output() : undefined,
      regs: sandbox.regs.slice(),
      hostCallsServiced: serviced,
    };
  };
  while (true) {
    const exit = (yield RUN) as Exit;
    if (exit.kind !== "page-fault") retried = undefined;
    if (exit.kind === "host-call") {
      if (handlerFor(options, exit.id) === undefined) return finish("unknown-host-call", exit);
      const outcome = (yield exit) as HostCallOutcome;
      serviced++;
      if (outcome === "stop") return finish("host-call-stopped", exit);
      if (typeof outcome === "bigint") sandbox.regs[7] = BigInt.asUintN(64, outcome);
    } else if (exit.kind === "page-fault") {
      // The same fault right after a retry means the handler did not fix it: stop, don't spin.
      const repeated = retried?.pc === exit.pc && retried.address === exit.address;
      if (options.onPageFault === undefined || repeated) return finish("page-fault", exit);
      if ((yield exit) !== "retry") return finish("page-fault", exit);
      retried = exit;
      continue;
    } else {
      return finish(exit.kind, exit);
    }
  }
}

const RUN: Request = { kind: "run" };

/** The handler for host call `id`: its own entry, else the default, else `undefined`. */
function handlerFor<H>(
  options: { readonly hostCalls?: Readonly<Record<number, H>>; readonly defaultHostCall?: H },
  id: number,
): H | undefined {
  return (Object.hasOwn(options.hostCalls ?? {}, id) ? options.hostCalls![id] : undefined) ??
    options.defaultHostCall;
}

function checkOutcome(outcome: unknown, id: number): HostCallOutcome {
  if (outcome === undefined || outcome === "stop" || typeof outcome === "bigint") {
    return outcome as HostCallOutcome;
  }
  throw new SandboxError(
    "invalid-argument",
    `the handler of host call ${id} returned ${String(outcome)}; return nothing, a bigint ` +
      `for φ7, or "stop"`,
  );
}

/** Runs `sandbox` until it halts, panics, runs out of gas, faults or meets an unhandled call. */
export function invoke(sandbox: Sandbox, options: InvokeOptions = {}): InvokeResult {
  const loop = invocation(sandbox, options);
  let step = loop.next();
  while (!step.done) {
    const request = step.value;
    if (request.kind === "run") {
      step = loop.next(sandbox.run());
      continue;
    }
    if (request.kind === "page-fault") {
      step = loop.next(options.onPageFault!(sandbox, request));
      continue;
    }
    const outcome: unknown = handlerFor(options, request.id)!(sandbox, request);
    if (outcome instanceof Promise) {
      throw new SandboxError(
        "invalid-argument",
        `the handler of host call ${request.id} returned a promise; use invokeAsync`,
      );
    }
    step = loop.next(checkOutcome(outcome, request.id));
  }
  return step.value;
}

/** Like `invoke`, awaiting handlers that return promises. */
export async function invokeAsync(
  sandbox: Sandbox,
  options: InvokeAsyncOptions = {},
): Promise<InvokeResult> {
  const loop = invocation(sandbox, options);
  let step = loop.next();
  while (!step.done) {
    const request = step.value;
    if (request.kind === "run") {
      step = loop.next(await sandbox.runAsync());
      continue;
    }
    if (request.kind === "page-fault") {
      step = loop.next(options.onPageFault!(sandbox, request));
      continue;
    }
    const outcome = await handlerFor(options, request.id)!(sandbox, request);
    step = loop.next(checkOutcome(outcome, request.id));
  }
  return step.value;
}
