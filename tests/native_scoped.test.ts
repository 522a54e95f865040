import assert from "node:assert/strict";
import { libraryPath } from "../ffi/location.ts";

Deno.test("scoped: a script with only --allow-ffi=<library> drives a sandbox through copy calls", async () => {
  const example = new URL("../examples/scoped_native.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", `--allow-ffi=${libraryPath()}`, example],
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
    args: ["run", "--no-prompt", new URL("../examples/scoped_native.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.notEqual(output.code, 0);
  assert.match(new TextDecoder().decode(output.stderr), /allow-ffi/);
});
