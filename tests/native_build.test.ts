import assert from "node:assert/strict";
import { NATIVE_SYMBOLS } from "../ffi/library.ts";
import { libraryPath } from "../ffi/location.ts";
import { repoFile } from "./fixtures.ts";
import { dynamicFacts } from "./native/elf.ts";

const buildScript = repoFile("build.ts");

Deno.test("build: the library is one small artifact with no library dependencies", () => {
  const bytes = Deno.readFileSync(libraryPath());
  const facts = dynamicFacts(bytes);
  assert.deepEqual(facts.needed, [], "no DT_NEEDED (no libc)");
  assert.deepEqual(facts.undefinedSymbols, [], "nothing resolved from the host process");
  assert.deepEqual(facts.exportedFunctions.sort(), Object.keys(NATIVE_SYMBOLS).sort());
  assert.ok(bytes.length < 64 * 1024, `library is ${bytes.length} bytes`);
});

Deno.test("build: --if-stale does nothing when the sources are unchanged", async () => {
  const before = Deno.statSync(libraryPath()).mtime;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", buildScript, "--if-stale"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(new TextDecoder().decode(output.stdout), /up to date/);
  assert.deepEqual(Deno.statSync(libraryPath()).mtime, before);
});
