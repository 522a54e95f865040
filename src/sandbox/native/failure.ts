/**
 * Turning the native library's failure codes into `SandboxError`s that say what happened and
 * what to do about it.
 * @module
 */
import { SandboxError } from "../../pvm/mod.ts";

/** Spawn steps of `zig-native/spawn.zig` (`Step`), by number. */
const SPAWN_STEPS: Readonly<Record<number, string>> = {
  1: "creating the zygote image memfd",
  2: "creating the VmCtx memfd",
  3: "creating the guest memory memfd",
  4: "creating or sealing the code memfd",
  5: "creating the lifetime pipe",
  6: "mapping the child stack",
  7: "clone3",
  8: "writing /proc/self/setgroups",
  9: "writing /proc/self/uid_map",
  10: "writing /proc/self/gid_map",
  11: "making mounts private",
  12: "mounting the empty tmpfs root",
  13: "entering the empty root",
  14: "arranging file descriptors",
  15: "arming the parent-death signal",
  16: "execveat of the zygote image",
  17: "zygote start-up",
  18: "zygote start-up (the process died)",
  19: "zygote start-up (timed out)",
  20: "finding a free sandbox slot (1024 in use)",
  21: "mapping shared memory",
  22: "writing /proc/self/oom_score_adj",
  23: "restoring the child's CPU affinity",
};

/** Steps that fail when user namespaces are refused. */
const NAMESPACE_STEPS = new Set([7, 8, 9, 10, 11, 12, 13]);

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  38: "ENOSYS",
};

function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

function readSysctl(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

/** Why user namespaces may be refused on this machine, and how to allow them. */
function namespaceHint(): string {
  const hints: string[] = [];
  if (readSysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1") {
    hints.push(
      "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): " +
        "run `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` or give deno an AppArmor " +
        "profile that allows `userns`",
    );
  }
  if (readSysctl("/proc/sys/kernel/unprivileged_userns_clone") === "0") {
    hints.push("run `sudo sysctl kernel.unprivileged_userns_clone=1`");
  }
  if (readSysctl("/proc/sys/user/max_user_namespaces") === "0") {
    hints.push("user.max_user_namespaces is 0: run `sudo sysctl user.max_user_namespaces=15000`");
  }
  if (hints.length === 0) {
    hints.push("the kernel, a container runtime or a security module refused a user namespace");
  }
  return hints.join("; ");
}

/** The error for a failed `pvmbox_spawn`. */
export function spawnError(
  step: number,
  errno: number,
  message: string,
  weak: boolean,
): SandboxError {
  const what = SPAWN_STEPS[step] ?? `step ${step}`;
  const detail = `${what} failed (${errnoName(errno)})${message ? `: ${message}` : ""}`;
  if (!weak && NAMESPACE_STEPS.has(step)) {
    return new SandboxError(
      "namespaces-unavailable",
      `cannot isolate the sandbox process: ${detail}. ${namespaceHint()}. ` +
        "Alternatively opt in to the weaker profile (seccomp, rlimits and no_new_privs, but no " +
        "namespaces or empty root) with { weakIsolation: true }.",
    );
  }
  if (step === 16 && errno === 13) {
    return new SandboxError(
      "spawn-failed",
      `cannot start the sandbox process: ${detail}. Executable memfds may be disabled ` +
        "(vm.memfd_noexec=2); set it to 0 or 1.",
    );
  }
  return new SandboxError("spawn-failed", `cannot start the sandbox process: ${detail}`);
}

/** Native protocol failure codes (`zig-native/protocol.zig`). */
export const ERR_DEAD: number = -1;
/** The wall-clock limit passed; the zygote was killed. */
export const ERR_TIMEOUT: number = -2;
/** The zygote broke the VmCtx protocol; it was killed. */
export const ERR_PROTOCOL: number = -3;
/** The handle is stale. */
export const ERR_HANDLE: number = -4;
/** An asynchronous run is still in progress. */
export const ERR_BUSY: number = -5;
/** The guest's memory passed its budget; the zygote was killed. */
export const ERR_MEMORY: number = -6;

const CLD_EXITED = 1;
const SIGNAL_NAMES: Readonly<Record<number, string>> = {
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  11: "SIGSEGV",
  31: "SIGSYS",
};

/**
 * The error for a zygote that died: `code` is CLD_*, `status` the exit code or signal. Guest
 * code can exit with any status it likes, so an exit status is reported, never interpreted.
 */
export function deathError(code: number, status: number): SandboxError {
  if (code === CLD_EXITED) {
    return new SandboxError(
      "zygote-died",
      `the sandbox process exited with status ${status} (guest code, or the zygote on a fault ` +
        "outside guest code)",
    );
  }
  const name = SIGNAL_NAMES[status] ?? `signal ${status}`;
  const why = status === 31
    ? ": guest code made a system call the seccomp filter forbids"
    : status === 9
    ? ": it was killed from outside"
    : "";
  return new SandboxError("zygote-killed", `the sandbox process was killed by ${name}${why}`);
}

/** The error for a negative result of a protocol call, given how the zygote died (if it did). */
export function protocolError(code: number, death: () => SandboxError): SandboxError {
  switch (code) {
    case ERR_TIMEOUT:
      return new SandboxError(
        "timeout",
        "guest code exceeded its wall-clock limit; the sandbox process was killed",
      );
    case ERR_PROTOCOL:
      return new SandboxError(
        "protocol-violation",
        "the sandbox process corrupted its VmCtx page; it was killed and must be disposed",
      );
    case ERR_HANDLE:
      return new SandboxError("disposed", "the sandbox has been disposed");
    case ERR_BUSY:
      return new SandboxError("invalid-argument", "an asynchronous run is still in progress");
    case ERR_MEMORY:
      return new SandboxError(
        "memory-limit",
        "guest memory exceeded the sandbox's memory limit (memoryLimitBytes); the sandbox " +
          "process was killed",
      );
    default:
      return death();
  }
}
