/**
 * The CLI as a user meets it in a shell: `--version`, a reader that closes the pipe early, the
 * assembler's warnings and errors under `run`, negative numbers, truncated files, the exit codes
 * the help lists, and a native library that cannot be loaded.
 */
import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import { repoFile, runCliProcess } from "./fixtures.ts";
import { ownProgram } from "./own_programs.ts";
import { backendUnavailable } from "./backends.ts";

/** Writes `files` into a fresh directory for the duration of `use`. */
async function withFiles(
  files: Record<string, string | Uint8Array>,
  use: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, content] of Object.entries(files)) {
      if (typeof content === "string") await Deno.writeTextFile(`${dir}/${name}`, content);
      else await Deno.writeFile(`${dir}/${name}`, content);
    }
    await use(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Starts `pvmbox <args>`, reads standard output until `wanted` bytes arrived, closes it, and
 * returns how the process ended. A hang guard kills the process if it never notices.
 */
async function closeAfter(wanted: number, ...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", repoFile("cli.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let received = 0;
  while (received < wanted) {
    const { value, done } = await reader.read();
    if (done) break;
    received += value.length;
  }
  await reader.cancel();
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  clearTimeout(guard);
  return { code: status.code, signal: status.signal, stderr, received };
}

Deno.test("--version prints the version from deno.json", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await runCliProcess("--allow-read", flag);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `pvmbox ${denoConfig.version}\n`);
  }
});

Deno.test("run --trace of an endless loop stops quietly when the reader closes the pipe", async () => {
  await withFiles({ "loop.s": "loop:\n    add_imm_64 a0, a0, 1\n    jump loop\n" }, async (dir) => {
    const r = await closeAfter(4096, "run", `${dir}/loop.s`, "--trace", "--gas", "1000000000000");
    assert.equal(r.signal, null, "ended by itself, not by the hang guard");
    assert.equal(r.code, 141);
    assert.equal(r.stderr, "");
  });
});

Deno.test("disasm of a long listing stops quietly when the reader closes the pipe", async () => {
  // About 20 000 instructions: a listing far larger than a pipe's buffer.
  const source = Array.from({ length: 20_000 }, (_, i) => `    load_imm a${i % 6}, ${i}`);
  await withFiles({ "long.s": `${source.join("\n")}\n    trap\n` }, async (dir) => {
    const r = await closeAfter(1, "disasm", `${dir}/long.s`);
    assert.equal(r.signal, null);
    assert.equal(r.code, 141);
    assert.equal(r.stderr, "");
  });
});

Deno.test("run --trace-limit and --trace-pc choose the lines of a trace", async () => {
  const fib = repoFile("examples/fibonacci.s");
  const limited = await runCliProcess("--allow-read", "run", fib, "--trace-limit", "3");
  assert.equal(limited.code, 0, limited.stderr);
  const lines = limited.stdout.split("\n");
  assert.match(lines[0], /^\s+0 {2}load_imm t0, 20 +t0=20$/);
  assert.equal(lines[3], "… trace stopped after 3 lines");
  assert.match(lines[4], /^halt at pc \d+$/);
  const filtered = await runCliProcess("--allow-read", "run", fib, "--trace-pc", "17,20-22");
  const pcs = filtered.stdout.split("\n").filter((l) => /^\s+\d+ {2}/.test(l))
    .map((l) => Number(l.trim().split(" ")[0]));
  assert.ok(pcs.length > 10, filtered.stdout);
  assert.deepEqual([...new Set(pcs)].sort((a, b) => a - b), [17, 20, 22]);
});

Deno.test("run shows the assembler's warnings and names the file in assembly errors", async () => {
  const files = {
    // `target` follows a non-terminator, so it starts no basic block: the jump panics.
    "warned.s": "    load_imm a0, 1\ntarget:\n    load_imm a1, 2\n    jump target\n",
    "bad.s": "    load_imm a0, 1\n    jump nowhere\n",
  };
  await withFiles(files, async (dir) => {
    const warned = await runCliProcess("--allow-read", "run", `${dir}/warned.s`);
    assert.equal(warned.code, 11);
    assert.match(warned.stderr, /warned\.s:4:\d+: warning: .*target/);
    assert.match(warned.stdout, /panic at pc/);
    const bad = await runCliProcess("--allow-read", "run", `${dir}/bad.s`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^pvmbox run: .*bad\.s:2:10: error: undefined label 'nowhere'\n/);
    assert.doesNotMatch(bad.stderr, /AssemblyError|\n\s+at /);
  });
});

Deno.test("a truncated file is reported as truncated, with the offset", async () => {
  const whole = ownProgram("sort");
  await withFiles({ "cut.pvm": whole.subarray(0, 60) }, async (dir) => {
    for (const command of ["info", "run", "disasm"]) {
      const r = await runCliProcess("--allow-read", command, `${dir}/cut.pvm`);
      assert.equal(r.code, 1, command);
      assert.match(r.stderr, /^pvmbox \w+: ProgramError: truncated at byte 60: as standard: /);
    }
  });
});

Deno.test("the main help lists the exit codes every command uses", async () => {
  const help = await runCliProcess("--allow-read", "--help");
  assert.equal(help.code, 0);
  for (const line of [/^ {2}1 {4}an error in the input/m, /^ {2}2 {4}bad usage/m, /^ {2}141 /m]) {
    assert.match(help.stdout, line);
  }
  const unknown = await runCliProcess("--allow-read", "frobnicate");
  assert.equal(unknown.code, 2);
});

Deno.test("a native library that cannot be loaded is named once, with the fix", async () => {
  const probe = `import { nativeLibrary } from ${JSON.stringify(repoFile("ffi/library.ts"))};
    try { nativeLibrary(); } catch (e) { console.log(e.message); }`;
  const run = async (permissions: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", ...permissions, probe],
      env: { PVMBOX_NATIVE_LIB: "/nonexistent/libpvmbox_native.so" },
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  const missing = await run([]);
  assert.equal(missing.match(/\/nonexistent\/libpvmbox_native\.so/g)?.length, 1, missing);
  assert.doesNotMatch(missing, /Could not open library.*Could not open library/);
  assert.match(
    missing,
    /\(from PVMBOX_NATIVE_LIB\): .*; point PVMBOX_NATIVE_LIB at a built library$/,
  );
});

const native = backendUnavailable("native");

Deno.test({
  name: "run --verbose names the library loaded, and a PVMBOX_NATIVE_LIB it could not read" +
    (native === undefined ? "" : ` [ignored: native backend unavailable: ${native}]`),
  ignore: native !== undefined,
  async fn() {
    const fib = repoFile("examples/fibonacci.s");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-read",
        "--allow-ffi",
        repoFile("cli.ts"),
        "run",
        fib,
        "--verbose",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const r = { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
    assert.equal(r.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(r.stdout, /^backend: native \(.*library \S+libpvmbox_native\.so \[build\]/);
    assert.match(r.stdout, /PVMBOX_NATIVE_LIB was not read: that needs --allow-env/);
  },
});
