/** The TypeScript examples run as their comments say, with the permissions they name. */
import assert from "node:assert/strict";
import { repoFile } from "./fixtures.ts";

Deno.test("examples/host_calls.ts answers the guest's host calls with --allow-read only", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", repoFile("examples/host_calls.ts")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.equal(lines[0], "guest says [pvmbox] hello from the guest");
  // The guest halts with the gas the host reported at the call: less than it started with, no
  // less than what was left at the end.
  const [, reported, used] = /^halt with a0 = (\d+)n after (\d+)n gas$/.exec(lines[1])!;
  assert.ok(BigInt(reported) < 100_000n && BigInt(reported) >= 100_000n - BigInt(used), lines[1]);
});
