import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

Deno.test("demo: runs with read permission only and every check passes", async () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "cli.ts", "demo"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(text, /a0 = 55, and fib\(10\) computed in TypeScript is 55/);
  assert.match(text, /host call log \(100\): level 3 \[pvmbox\] "hello from the guest"/);
  assert.match(text, /"squares:" then 0, 1, 4, 9, 16, 25, 36, 49/);
  assert.doesNotMatch(text, /MISMATCH/);
  assert.match(text, /All checks passed/);
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

Deno.test("demo: `deno task demo` on an empty Deno cache fetches no npm package", async () => {
  // `deno task` installs npm packages it knows of (import map, lockfile) before any task; the
  // Zig toolchain must only come with the build.
  const root = fileURLToPath(new URL("..", import.meta.url));
  const denoDir = await Deno.makeTempDir();
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "demo"],
      cwd: root,
      env: { DENO_DIR: denoDir, NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.deepEqual(filesUnder(denoDir).filter((f) => f.includes("/npm/")), []);
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});
