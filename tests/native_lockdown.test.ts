import assert from "node:assert/strict";
import { ABI } from "../ffi/vmctx.ts";
import { Zygote } from "../src/sandbox/native/mod.ts";
import { repoFile } from "./fixtures.ts";
import { Asm } from "./native/x86.ts";
import { processExists, procStatus } from "./native/harness.ts";
import { assertSandboxError } from "./sandbox_helpers.ts";

const NAMESPACES = ["user", "pid", "net", "ipc", "uts", "mnt", "cgroup"];
const EROFS = 30;
/** Securebits: NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, each with its lock, KEEP_CAPS_LOCKED. */
const LOCKED_SECUREBITS = 0b1110_1111;

/** The rlimits every zygote reports: five at zero, address space and data bounded. */
const RLIMITS = {
  nofile: 0n,
  nproc: 0n,
  fsize: 0n,
  memlock: 0n,
  core: 0n,
  as: BigInt(ABI.ADDRESS_SPACE_LIMIT),
  data: BigInt(ABI.DATA_LIMIT),
};

const full = Zygote.spawn();
addEventListener("unload", () => full[Symbol.dispose]());

Deno.test("lockdown: facts reported from inside the full profile", () => {
  const facts = full.facts();
  assert.equal(facts.uid, 0, "root only inside its own user namespace");
  assert.equal(facts.pid, 1, "first process of its own pid namespace");
  assert.equal(facts.noNewPrivs, 1);
  assert.equal(facts.securebits & LOCKED_SECUREBITS, LOCKED_SECUREBITS);
  assert.equal(facts.parentDeathSignal, 9);
  assert.equal(facts.capEffective, 0n);
  assert.equal(facts.capPermitted, 0n);
  assert.equal(facts.capInheritable, 0n);
  assert.equal(facts.capBounding, 0n);
  assert.deepEqual(facts.rlimits, RLIMITS);
  assert.deepEqual(facts.openFds, [4, 5, 6], "guest memory, code and image only (VmCtx closed)");
  assert.equal(facts.rootEntries, 0, "empty root");
  assert.equal(facts.rootMkdirErrno, EROFS, "read-only root");
});

Deno.test("lockdown: /proc shows seccomp, no_new_privs and no capabilities", () => {
  const status = procStatus(full.pid);
  assert.equal(status.get("Seccomp"), "2");
  assert.equal(status.get("Seccomp_filters"), "1");
  assert.equal(status.get("NoNewPrivs"), "1");
  for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
    assert.equal(status.get(set), "0000000000000000", set);
  }
});

Deno.test("lockdown: all seven namespaces differ from the host's", () => {
  for (const ns of NAMESPACES) {
    const inside = Deno.readLinkSync(`/proc/${full.pid}/ns/${ns}`);
    const outside = Deno.readLinkSync(`/proc/self/ns/${ns}`);
    assert.notEqual(inside, outside, ns);
  }
  const uidMap = Deno.readTextFileSync(`/proc/${full.pid}/uid_map`).trim().split(/\s+/);
  assert.deepEqual(uidMap, ["0", String(Deno.uid()), "1"]);
});

Deno.test("lockdown: only the expected fds, an empty root, rlimits at 0", () => {
  const fds = [...Deno.readDirSync(`/proc/${full.pid}/fd`)].map((e) => Number(e.name)).sort();
  assert.deepEqual(fds, [4, 5, 6]);
  assert.deepEqual([...Deno.readDirSync(`/proc/${full.pid}/root`)], []);
  const limits = Deno.readTextFileSync(`/proc/${full.pid}/limits`);
  for (
    const name of [
      "Max open files",
      "Max processes",
      "Max file size",
      "Max locked memory",
      "Max core file size",
    ]
  ) {
    const line = limits.split("\n").find((l) => l.startsWith(name));
    assert.match(line ?? "", /^\S.*?\s+0\s+0\s/, name);
  }
  const space = limits.split("\n").find((l) => l.startsWith("Max address space"));
  assert.match(
    space ?? "",
    new RegExp(`\\s${ABI.ADDRESS_SPACE_LIMIT}\\s+${ABI.ADDRESS_SPACE_LIMIT}\\s`),
  );
});

Deno.test("lockdown: the kernel's OOM killer picks a zygote first", () => {
  assert.equal(Deno.readTextFileSync(`/proc/${full.pid}/oom_score_adj`).trim(), "1000");
});

Deno.test("lockdown: speculative store bypass is mitigated where the kernel lets a process choose", () => {
  const facts = full.facts();
  const host = procStatus(Deno.pid).get("Speculation_Store_Bypass") ?? "";
  const inside = procStatus(full.pid).get("Speculation_Store_Bypass") ?? "";
  if (facts.speculationErrno === 0) {
    assert.match(inside, /force mitigated/);
  } else {
    // ENXIO or EINVAL: no per-process control here; the zygote is in the host's state.
    assert.ok([6, 22].includes(facts.speculationErrno), String(facts.speculationErrno));
    assert.equal(inside, host);
    console.log(`  (no per-process speculation control on this kernel: "${host}")`);
  }
});

Deno.test("lockdown: guest memory, a 4 GiB gap, then only the zygote's fixed regions", () => {
  full.reset();
  full.loadCode(new Asm().ret().build());
  full.memory.map(0x10000, 8192, "read-write");
  assert.equal(full.run(0).kind, "return");
  const maps = Deno.readTextFileSync(`/proc/${full.pid}/maps`).trim().split("\n");
  const fixed: [number, number][] = [
    [ABI.CODE_ADDR, ABI.CODE_ADDR + ABI.CODE_MAX],
    [ABI.JUMP_TABLE_ADDR, ABI.JUMP_TABLE_ADDR + ABI.JUMP_TABLE_MAX],
    [ABI.IMAGE_ADDR, ABI.STACK_ADDR],
    [ABI.VMCTX_ADDR, ABI.VMCTX_ADDR + ABI.VMCTX_SIZE],
    [ABI.STACK_ADDR, ABI.STACK_ADDR + ABI.STACK_SIZE],
    [ABI.SIGSTACK_ADDR, ABI.REGIONS_END],
  ];
  for (const line of maps) {
    const [range, perms] = line.split(/\s+/);
    const [start, end] = range.split("-").map((h) => Number(BigInt(`0x${h}`)));
    assert.ok(!(perms.includes("w") && perms.includes("x")), `W+X mapping: ${line}`);
    assert.doesNotMatch(
      line,
      /\[(stack|vdso|vvar|heap)/,
      "the original stack, vDSO and vvar are gone",
    );
    if (line.includes("[vsyscall]")) continue; // above user space; cannot be unmapped
    const guest = start >= ABI.GUEST_START && end <= ABI.GUEST_END;
    if (guest) assert.match(line, /memfd:pvmbox-memory/);
    else {
      assert.ok(start >= ABI.GUEST_END + ABI.GUARD_GAP, `mapping inside the guard gap: ${line}`);
      assert.ok(fixed.some(([lo, hi]) => start >= lo && end <= hi), `stray mapping: ${line}`);
    }
  }
  const code = maps.find((l) => l.startsWith(`${ABI.CODE_ADDR.toString(16)}-`));
  assert.match(code ?? "", /^\w+-\w+ r-xs .*memfd:pvmbox-code/);
});

Deno.test("lockdown: the zygote dies with its host process", async () => {
  const helper = repoFile("tests/native/orphan.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", "--allow-env", helper],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const zygotePid = Number(text.trim());
  assert.ok(zygotePid > 0 && processExists(zygotePid), `zygote pid ${text}`);
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  const deadline = Date.now() + 5000;
  while (processExists(zygotePid) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(!processExists(zygotePid), "zygote outlived its host");
});

Deno.test("lockdown: the weak profile is opt-in and keeps seccomp, no_new_privs and rlimits", () => {
  using weak = Zygote.spawn({ weakIsolation: true });
  assert.equal(weak.isolation, "weak");
  assert.equal(full.isolation, "full");
  const facts = weak.facts();
  assert.equal(facts.noNewPrivs, 1);
  assert.equal(facts.capEffective, 0n);
  assert.deepEqual(facts.rlimits, RLIMITS);
  assert.deepEqual(facts.openFds, [4, 5, 6]);
  const status = procStatus(weak.pid);
  assert.equal(status.get("Seccomp"), "2");
  assert.equal(status.get("NoNewPrivs"), "1");
  // No namespaces: that is what makes it weaker.
  assert.equal(
    Deno.readLinkSync(`/proc/${weak.pid}/ns/net`),
    Deno.readLinkSync("/proc/self/ns/net"),
  );
  weak.loadCode(new Asm().ret().build());
  assert.equal(weak.run(0).kind, "return");
});

Deno.test({
  name:
    "lockdown: refused user namespaces give an error naming cause and fix, never a silent fallback",
  ignore: !canNestUserNamespaces(),
  fn: async () => {
    // Inside a user namespace whose own limit is 0, creating a nested one fails like it does
    // on hosts that forbid user namespaces.
    const script = `
      import { Zygote } from ${
      JSON.stringify(new URL("../src/sandbox/native/mod.ts", import.meta.url).href)
    };
      try { Zygote.spawn(); console.log("spawned"); }
      catch (e) { console.log(JSON.stringify({ kind: e.kind, message: e.message })); }
      const weak = Zygote.spawn({ weakIsolation: true });
      console.log(weak.isolation); weak[Symbol.dispose]();`;
    const output = await new Deno.Command("unshare", {
      args: [
        "--user",
        "--map-root-user",
        "sh",
        "-c",
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" eval "$1"',
        Deno.execPath(),
        script,
      ],
      env: {
        PVMBOX_NATIVE_LIB: repoFile("zig-out/lib/libpvmbox_native.so"),
      },
    }).output();
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
    assert.equal(lines.length, 2, new TextDecoder().decode(output.stderr));
    const error = JSON.parse(lines[0]);
    assert.equal(error.kind, "namespaces-unavailable");
    assert.match(error.message, /max_user_namespaces/);
    assert.match(error.message, /weakIsolation: true/);
    assert.equal(lines[1], "weak");
  },
});

Deno.test("lockdown: a disposed zygote refuses further use", () => {
  const zygote = Zygote.spawn();
  const pid = zygote.pid;
  zygote[Symbol.dispose]();
  assert.ok(!processExists(pid));
  assertSandboxError(() => zygote.run(0), "disposed");
  zygote[Symbol.dispose]();
});

function canNestUserNamespaces(): boolean {
  try {
    return new Deno.Command("unshare", { args: ["--user", "--map-root-user", "true"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}
