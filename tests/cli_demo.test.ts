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
