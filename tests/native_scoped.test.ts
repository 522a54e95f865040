import assert from "node:assert/strict";
import { libraryPath } from "../ffi/location.ts";
import { repoFile } from "./fixtures.ts";

const EXAMPLE = repoFile("examples/scoped_native.ts");

Deno.test("scoped: a script with only --allow-ffi=<library> drives a sandbox through copy calls", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", `--allow-ffi=${libraryPath()}`, EXAMPLE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.deepEqual(result, {
    exits: ["host-call 1", "return"],
    output: "42",
    zeroCopy: false,
    isolation: "full",
    facts: { noNewPrivs: 1, rootEntries: 0 },
  });
});

Deno.test("scoped: without --allow-ffi the library is refused with a clear error", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", EXAMPLE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.notEqual(output.code, 0);
  assert.match(new TextDecoder().decode(output.stderr), /allow-ffi/);
});
