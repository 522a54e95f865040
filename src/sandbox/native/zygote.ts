/**
 * `Zygote`: one locked-down sandbox process that runs native guest code, driven through the
 * shared VmCtx page by the native library.
 * @module
 */
import { REGISTER_COUNT, SandboxError } from "../../pvm/mod.ts";
import { type NativeLibrary, nativeLibrary, pointerAccessGranted } from "../../../ffi/library.ts";
import { ABI, FACTS_SIZE, factsOffset } from "../../../ffi/vmctx.ts";
import type { NativeExit } from "./exit.ts";
import { deathError, ERR_DEAD, protocolError, spawnError } from "./failure.ts";
import { NativeMemory } from "./memory.ts";
import { asyncWaiter } from "./waiter.ts";
import { VmCtxAccess } from "./vmctx_access.ts";

/** How a zygote is spawned and limited. */
export interface ZygoteOptions {
  /**
   * Opt in to the weaker profile for machines that refuse user namespaces: seccomp, rlimits,
   * no_new_privs and dropped capabilities, but no namespaces and no empty root. Never implied.
   */
  readonly weakIsolation?: boolean;
  /**
   * Wall-clock limit in milliseconds of each run, resume and memory-operation flush (default
   * `DEFAULT_TIMEOUT_MS`); `Infinity` opts out explicitly. Passing it kills the zygote.
   */
  readonly timeoutMs?: number;
  /** Limit on the zygote's start-up in milliseconds (default 5000). */
  readonly spawnTimeoutMs?: number;
  /**
   * Most guest memory in bytes the sandbox may allocate (default `DEFAULT_MEMORY_LIMIT_BYTES`);
   * `Infinity` opts out. Passing it kills the zygote with a "memory-limit" error.
   */
  readonly memoryLimitBytes?: number;
  /**
   * Bytes of dirty guest memory a reset zeroes in place rather than frees (default 4 MiB, set
   * in zig-native/slots.zig; at most a quarter of `memoryLimitBytes`, which they count against):
   * the next user finds those pages already mapped (no page faults), and an idle zygote holds up
   * to this much memory.
   */
  readonly keepResidentBytes?: number;
}

/** Wall-clock limit of every wait unless `timeoutMs` says otherwise: 10 s. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Guest memory budget unless `memoryLimitBytes` says otherwise: 1 GiB. */
export const DEFAULT_MEMORY_LIMIT_BYTES: number = 2 ** 30;

/** A positive limit (Infinity allowed) or a SandboxError naming the option. */
function positiveLimit(name: string, value: number | undefined, fallback: number): number {
  const limit = value ?? fallback;
  if (!(limit > 0)) {
    throw new SandboxError(
      "invalid-argument",
      `${name} must be positive (Infinity for no limit), got ${value}`,
    );
  }
  return limit;
}

/** A wall-clock limit in milliseconds as the library takes it: nanoseconds, 0 for none. */
function timeoutNs(ms: number): bigint {
  if (!(ms > 0)) {
    throw new SandboxError("invalid-argument", `timeoutMs must be positive, got ${ms}`);
  }
  return ms === Infinity ? 0n : BigInt(Math.ceil(ms * 1e6));
}

/** Options of one run. */
export interface RunOptions {
  /** Wall-clock limit in milliseconds, overriding the zygote's `timeoutMs` (Infinity: none). */
  readonly timeoutMs?: number;
}

/** What a zygote reports about its own confinement, gathered from inside before seccomp. */
export interface ZygoteFacts {
  /** uid inside the sandbox (0 in its user namespace under the full profile). */
  readonly uid: number;
  /** gid inside the sandbox. */
  readonly gid: number;
  /** pid inside the sandbox (1 in its pid namespace under the full profile). */
  readonly pid: number;
  /** PR_GET_NO_NEW_PRIVS. */
  readonly noNewPrivs: number;
  /** PR_GET_SECUREBITS. */
  readonly securebits: number;
  /** PR_GET_PDEATHSIG. */
  readonly parentDeathSignal: number;
  /** Effective capability set. */
  readonly capEffective: bigint;
  /** Permitted capability set. */
  readonly capPermitted: bigint;
  /** Inheritable capability set. */
  readonly capInheritable: bigint;
  /** Capabilities left in the bounding set. */
  readonly capBounding: bigint;
  /** Hard/soft maxima of the rlimits, by name. */
  readonly rlimits: {
    readonly nofile: bigint;
    readonly nproc: bigint;
    readonly fsize: bigint;
    readonly memlock: bigint;
    readonly core: bigint;
    readonly as: bigint;
    readonly data: bigint;
  };
  /** PR_GET_SPECULATION_CTRL for speculative store bypass (0 where the kernel offers none). */
  readonly speculationStoreBypass: number;
  /** errno of forcing that mitigation on (0: forced on). */
  readonly speculationErrno: number;
  /** Open file descriptors (0..62). */
  readonly openFds: readonly number[];
  /** Entries in "/" other than "." and "..". */
  readonly rootEntries: number;
  /** errno of mkdir("/probe") (30 = EROFS: read-only root). */
  readonly rootMkdirErrno: number;
}

const REPORT_KINDS = new Map<number, NativeExit["kind"]>([
  [ABI.REPORT_RETURN, "return"],
  [ABI.REPORT_HOST_CALL, "host-call"],
  [ABI.REPORT_TRAP, "trap"],
  [ABI.REPORT_OUT_OF_GAS, "out-of-gas"],
  [ABI.REPORT_PAGE_FAULT, "page-fault"],
  [ABI.REPORT_SIGNAL, "signal"],
]);

/** What a forgotten zygote's finalizer needs; nothing here refers back to the zygote. */
interface Leaked {
  readonly library: NativeLibrary;
  readonly handle: number;
  readonly detach: () => void;
}

/** A safety net for zygotes dropped without disposal: kill, reap and unmap them on collection. */
const leaked = new FinalizationRegistry<Leaked>((held) => {
  held.detach();
  held.library.symbols.pvmbox_dispose(held.handle);
});

/**
 * Runs `first`, then `second`. Built outside the constructor on purpose: a closure created there
 * shares its context with the constructor's arrow functions that use `this`, and would keep the
 * zygote alive from the finalization registry that is meant to reclaim it.
 */
function both(first: () => void, second: () => void): () => void {
  return () => {
    first();
    second();
  };
}

/** One sandbox process. Create with `Zygote.spawn()`; dispose to kill it and free everything. */
export class Zygote implements Disposable {
  readonly #library: NativeLibrary;
  readonly #handle: number;
  readonly #timeoutMs: number;
  /** `#timeoutMs` as the library takes it, converted once (a BigInt allocation per call costs). */
  readonly #defaultTimeoutNs: bigint;
  #failure: SandboxError | undefined;
  #disposed = false;
  #inHostCall = false;
  #running = false;
  #reusable = true;
  /** Host pid of the sandbox process. */
  readonly pid: number;
  /** The isolation profile it runs under. */
  readonly isolation: "full" | "weak";
  /** Guest memory (0x10000..0xFFFF0000). */
  readonly memory: NativeMemory;
  /** Registers, gas and exit details in the VmCtx page (unchecked: for backends). */
  readonly vmctx: VmCtxAccess;

  private constructor(library: NativeLibrary, handle: number, options: ZygoteOptions) {
    this.#library = library;
    this.#handle = handle;
    this.#timeoutMs = positiveLimit("timeoutMs", options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.#defaultTimeoutNs = timeoutNs(this.#timeoutMs);
    const memoryLimit = positiveLimit(
      "memoryLimitBytes",
      options.memoryLimitBytes,
      DEFAULT_MEMORY_LIMIT_BYTES,
    );
    library.symbols.pvmbox_set_memory_limit(
      handle,
      memoryLimit === Infinity ? 0n : BigInt(Math.ceil(memoryLimit)),
    );
    if (options.keepResidentBytes !== undefined) {
      library.symbols.pvmbox_set_keep_resident(handle, BigInt(options.keepResidentBytes));
    }
    this.pid = library.symbols.pvmbox_pid(handle);
    this.isolation = options.weakIsolation ? "weak" : "full";
    const zeroCopy = pointerAccessGranted();
    this.vmctx = new VmCtxAccess(library, handle, zeroCopy);
    this.memory = new NativeMemory(
      library,
      handle,
      zeroCopy,
      () => this.#timeoutNs(undefined),
      (code) => this.#fail(code),
      () => this.#usable(),
    );
    const detach = both(this.memory.detacher(), this.vmctx.detacher());
    leaked.register(this, { library, handle, detach }, this);
  }

  /** Spawns a locked-down zygote; throws `SandboxError` saying why and what to do on failure. */
  static spawn(options: ZygoteOptions = {}): Zygote {
    positiveLimit("timeoutMs", options.timeoutMs, DEFAULT_TIMEOUT_MS);
    positiveLimit("memoryLimitBytes", options.memoryLimitBytes, DEFAULT_MEMORY_LIMIT_BYTES);
    const keep = options.keepResidentBytes;
    if (keep !== undefined && !(keep >= 0 && Number.isSafeInteger(keep))) {
      throw new SandboxError(
        "invalid-argument",
        `keepResidentBytes must be a non-negative integer, got ${keep}`,
      );
    }
    const library = nativeLibrary();
    const failure = new Uint32Array(2);
    const message = new Uint8Array(256);
    const profile = options.weakIsolation ? ABI.PROFILE_WEAK : ABI.PROFILE_FULL;
    const handle = library.symbols.pvmbox_spawn(
      profile,
      options.spawnTimeoutMs ?? 5000,
      failure,
      message,
      BigInt(message.length),
    );
    if (handle < 0) {
      const text = new TextDecoder().decode(message.subarray(0, message.indexOf(0)));
      throw spawnError(failure[0], failure[1], text, options.weakIsolation ?? false);
    }
    return new Zygote(library, handle, options);
  }

  /** False once the process died, broke the protocol or was disposed. */
  get usable(): boolean {
    return !this.#disposed && this.#failure === undefined;
  }

  /** The wall-clock limit of each wait in milliseconds (`Infinity`: none). */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * False once anything unusual happened (a signal exit, an error or unexpected report, a
   * failure): such a zygote is never handed to another user. Guest code that ends in a signal
   * is not what a correct compiler emits, so it may have done anything else too.
   */
  get reusable(): boolean {
    return this.usable && this.#reusable;
  }

  /** True while guest code is parked in a host call (so `resume()` is possible). */
  get inHostCall(): boolean {
    return this.#inHostCall;
  }

  /** Reads register `index` (0..12). */
  getRegister(index: number): bigint {
    this.#checkRegister(index);
    return this.vmctx.register(index);
  }

  /** Writes register `index` (0..12), modulo 2^64. */
  setRegister(index: number, value: bigint): void {
    this.#checkRegister(index);
    this.vmctx.setRegister(index, BigInt.asUintN(64, value));
  }

  /** All 13 registers (a copy). */
  getRegisters(): BigUint64Array {
    this.#usable();
    const out = new BigUint64Array(REGISTER_COUNT);
    this.vmctx.readRegisters(out);
    return out;
  }

  /** Sets all 13 registers. */
  setRegisters(values: ArrayLike<bigint>): void {
    this.#usable();
    if (values.length !== REGISTER_COUNT) {
      throw new SandboxError(
        "invalid-argument",
        `expected ${REGISTER_COUNT} registers, got ${values.length}`,
      );
    }
    const registers = new BigUint64Array(REGISTER_COUNT);
    for (let i = 0; i < REGISTER_COUNT; i++) registers[i] = BigInt.asUintN(64, values[i]);
    this.vmctx.writeRegisters(registers);
  }

  /** Remaining gas (signed 64-bit), decremented by guest code. */
  get gas(): bigint {
    this.#usable();
    return this.vmctx.gas;
  }

  set gas(value: bigint) {
    this.#usable();
    this.vmctx.gas = BigInt.asIntN(64, value);
  }

  /**
   * Replaces the guest machine code, and the jump table of dynamic jumps (absolute native
   * addresses, mapped read-only at `JUMP_TABLE_ADDR`). Both go into a sealed memfd that the
   * zygote maps before the next run: code read+execute, never writable.
   */
  loadCode(machineCode: Uint8Array, jumpTable: Uint8Array = new Uint8Array(0)): void {
    this.#usable();
    if (machineCode.length > ABI.CODE_MAX || jumpTable.length > ABI.JUMP_TABLE_MAX) {
      throw new SandboxError(
        "invalid-argument",
        `code of ${machineCode.length} bytes and a jump table of ${jumpTable.length} bytes ` +
          `exceed the limits (${ABI.CODE_MAX} and ${ABI.JUMP_TABLE_MAX})`,
      );
    }
    const errno = this.#library.symbols.pvmbox_load_code(
      this.#handle,
      machineCode,
      BigInt(machineCode.length),
      jumpTable,
      BigInt(jumpTable.length),
    );
    if (errno !== 0) {
      throw new SandboxError("invalid-argument", `loading code failed (errno ${errno})`);
    }
  }

  /** Runs guest code from native offset `entry` of the code until it exits. */
  run(entry = 0, options: RunOptions = {}): NativeExit {
    this.#usable();
    this.#checkEntry(entry);
    this.#inHostCall = false;
    const report = this.#library.symbols.pvmbox_run(
      this.#handle,
      BigInt(entry),
      this.#timeoutNs(options.timeoutMs),
    );
    return this.#exit(report);
  }

  /** Continues guest code after a host-call exit (with the registers as the host left them). */
  resume(options: RunOptions = {}): NativeExit {
    this.#usable();
    this.#checkResumable();
    this.#inHostCall = false;
    const report = this.#library.symbols.pvmbox_resume(
      this.#handle,
      this.#timeoutNs(options.timeoutMs),
    );
    return this.#exit(report);
  }

  /**
   * Like `run`, without blocking the JS thread: all pending asynchronous runs of the process
   * share one native waiter. The zygote is busy (every other call throws) until it settles.
   */
  runAsync(entry = 0, options: RunOptions = {}): Promise<NativeExit> {
    this.#usable();
    this.#checkEntry(entry);
    this.#inHostCall = false;
    return this.#post(ABI.CMD_RUN, entry, options);
  }

  /** Like `resume`, without blocking the JS thread. */
  resumeAsync(options: RunOptions = {}): Promise<NativeExit> {
    this.#usable();
    this.#checkResumable();
    this.#inHostCall = false;
    return this.#post(ABI.CMD_RESUME, 0, options);
  }

  /** Applies queued memory operations and new code in the zygote now (normally done by `run`). */
  sync(options: RunOptions = {}): void {
    this.#usable();
    const report = this.#library.symbols.pvmbox_sync(
      this.#handle,
      this.#timeoutNs(options.timeoutMs),
    );
    if (report < 0) this.#fail(report);
    if (report !== ABI.REPORT_IDLE) this.#raiseReport(report);
  }

  /**
   * Makes the sandbox fresh for the next user, in one round trip with the zygote: all guest
   * memory is discarded (out of the guest's reach, reads back as zero if mapped again),
   * registers and gas are zeroed. Loaded code stays. The zygote keeps the current mappings in
   * place, zeroed and inaccessible to guest code, for a next user that maps exactly the same
   * ranges (the same program's layout): it then takes them over without page-table work or
   * page faults.
   */
  reset(options: RunOptions = {}): void {
    this.#usable();
    this.memory.resetPages();
    this.#inHostCall = false;
    const report = this.#library.symbols.pvmbox_reset(
      this.#handle,
      this.#timeoutNs(options.timeoutMs),
    );
    if (report < 0) this.#fail(report);
    if (report !== ABI.REPORT_IDLE) this.#raiseReport(report);
  }

  /**
   * Unmaps the mappings the last reset kept: for a user of another program, which must not
   * inherit whatever the previous program's code may have done to its own mappings.
   */
  dropKeptMappings(): void {
    this.#usable();
    const result = this.#library.symbols.pvmbox_drop_kept(this.#handle, this.#defaultTimeoutNs);
    if (result < 0) this.#fail(result);
    if (result > 0) this.#raiseReport(ABI.REPORT_ERROR);
  }

  /** What the zygote recorded about its own confinement. */
  facts(): ZygoteFacts {
    this.#usable();
    const bytes = new Uint8Array(FACTS_SIZE);
    this.#library.symbols.pvmbox_facts(this.#handle, bytes, BigInt(bytes.length));
    const view = new DataView(bytes.buffer);
    const u32 = (name: string) => view.getUint32(factsOffset(name), true);
    const u64 = (name: string) => view.getBigUint64(factsOffset(name), true);
    const fdBits = u64("open_fds");
    const openFds: number[] = [];
    for (let fd = 0; fd < 63; fd++) if ((fdBits >> BigInt(fd)) & 1n) openFds.push(fd);
    return {
      uid: u32("uid"),
      gid: u32("gid"),
      pid: u32("pid"),
      noNewPrivs: u32("no_new_privs"),
      securebits: u32("securebits"),
      parentDeathSignal: u32("parent_death_signal"),
      capEffective: u64("cap_effective"),
      capPermitted: u64("cap_permitted"),
      capInheritable: u64("cap_inheritable"),
      capBounding: u64("cap_bounding"),
      rlimits: {
        nofile: u64("rlimit_nofile"),
        nproc: u64("rlimit_nproc"),
        fsize: u64("rlimit_fsize"),
        memlock: u64("rlimit_memlock"),
        core: u64("rlimit_core"),
        as: u64("rlimit_as"),
        data: u64("rlimit_data"),
      },
      speculationStoreBypass: u32("speculation_store_bypass"),
      speculationErrno: u32("speculation_errno"),
      openFds,
      rootEntries: u32("root_entries"),
      rootMkdirErrno: u32("root_mkdir_errno"),
    };
  }

  /** Kills the process (the next call reports it); for tests and emergency stops. */
  kill(): void {
    if (!this.#disposed) this.#library.symbols.pvmbox_kill(this.#handle);
  }

  /** True while an asynchronous run is in progress. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Kills the process if needed, reaps it and releases every mapping and descriptor. A pending
   * asynchronous run then rejects with a "disposed" error.
   */
  [Symbol.dispose](): void {
    if (this.#disposed) return;
    this.#disposed = true;
    leaked.unregister(this);
    this.memory.detach();
    this.vmctx.detach();
    this.#library.symbols.pvmbox_dispose(this.#handle);
  }

  #timeoutNs(overrideMs: number | undefined): bigint {
    return overrideMs === undefined ? this.#defaultTimeoutNs : timeoutNs(overrideMs);
  }

  #usable(): void {
    if (this.#disposed) throw new SandboxError("disposed", "the sandbox has been disposed");
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#running) {
      throw new SandboxError(
        "invalid-argument",
        "an asynchronous run is in progress; await it first",
      );
    }
  }

  #checkEntry(entry: number): void {
    if (!Number.isInteger(entry) || entry < 0 || entry >= ABI.CODE_MAX) {
      throw new SandboxError("invalid-argument", `entry ${entry} is outside the code area`);
    }
  }

  #checkResumable(): void {
    if (!this.#inHostCall) {
      throw new SandboxError("invalid-argument", "resume() needs a preceding host-call exit");
    }
  }

  async #post(cmd: number, entry: number, options: RunOptions): Promise<NativeExit> {
    const posted = this.#library.symbols.pvmbox_post(
      this.#handle,
      cmd,
      BigInt(entry),
      this.#timeoutNs(options.timeoutMs),
    );
    if (posted < 0) this.#fail(posted);
    // A report instead of a post: queued memory operations failed before the command.
    if (posted > 0) return this.#exit(posted);
    this.#running = true;
    let report: number;
    try {
      report = await asyncWaiter(this.#library).wait(this.#handle);
    } finally {
      this.#running = false;
    }
    if (this.#disposed) {
      throw new SandboxError("disposed", "the sandbox was disposed during the run");
    }
    return this.#exit(report);
  }

  #checkRegister(index: number): void {
    this.#usable();
    if (!Number.isInteger(index) || index < 0 || index >= REGISTER_COUNT) {
      throw new SandboxError("invalid-argument", `register index ${index} is not in 0..12`);
    }
  }

  /** Records a fatal failure (negative native code) and throws it; the zygote stays unusable. */
  #fail(code: number): never {
    const error = protocolError(code, () => {
      const death = new Int32Array(2);
      if (this.#library.symbols.pvmbox_death(this.#handle, death) !== 0) {
        return new SandboxError("zygote-died", "the sandbox process is gone");
      }
      return deathError(death[0], death[1]);
    });
    this.#failure = error;
    this.#reusable = false;
    throw error;
  }

  #raiseReport(report: number): never {
    this.#reusable = false;
    const errno = this.#library.symbols.pvmbox_last_errno(this.#handle);
    const what = report === ABI.REPORT_ERROR
      ? `could not apply a memory operation, the code or the entry (errno ${errno})`
      : `sent an unexpected report (${report})`;
    throw new SandboxError("invalid-argument", `the sandbox ${what}`);
  }

  #exit(report: number): NativeExit {
    if (report < 0 || report === ERR_DEAD) this.#fail(report);
    const kind = REPORT_KINDS.get(report);
    if (kind === undefined) this.#raiseReport(report);
    if (kind === "return") return { kind };
    if (kind === "signal") this.#reusable = false;
    const info = this.vmctx.exitDetails();
    switch (kind) {
      case "host-call":
        this.#inHostCall = true;
        return { kind, id: info.exitArg, pc: info.pc };
      case "trap":
      case "out-of-gas":
        return { kind, pc: info.pc };
      case "page-fault":
        return {
          kind,
          address: Number(info.faultAddress),
          nativeAddress: Number(info.nativeAddress),
          signal: info.signal,
        };
      case "signal":
        return {
          kind,
          signal: info.signal,
          nativeAddress: Number(info.nativeAddress),
          address: info.faultAddress,
        };
    }
  }
}
