/**
 * The package's entry points: `mod.ts` is what a Sandbox user needs and nothing that runs
 * arbitrary machine code or pins internals; the specialised parts are reachable through the
 * subpaths deno.json exports.
 */
import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import * as pvmbox from "../mod.ts";

Deno.test("mod.ts exports the Sandbox API, not the machinery", () => {
  for (const name of ["Program", "Sandbox", "invokeProgram", "SandboxError", "ProgramError"]) {
    assert.ok(name in pvmbox, `${name} missing from mod.ts`);
  }
  for (const name of ["JAM_HOST_CALLS", "HOST_RESULT", "readLogMessage", "growHeap"]) {
    assert.ok(name in pvmbox, `host-call helper ${name} missing from mod.ts`);
  }
  for (const name of ["Zygote", "ZygotePool", "Interpreter", "PagedMemory", "INSTRUCTIONS"]) {
    assert.ok(!(name in pvmbox), `${name} belongs under a subpath, not in mod.ts`);
  }
  assert.ok(Object.keys(pvmbox).length < 40, `${Object.keys(pvmbox).length} runtime exports`);
});

Deno.test("every subpath of deno.json imports, with the parts it is for", async () => {
  const expected: Record<string, string[]> = {
    "./asm": ["assemble", "disassemble", "AssemblyError"],
    "./program": ["parseBlob", "encodeStandardProgram", "decodeCode", "INSTRUCTIONS"],
    "./interpreter": ["Interpreter", "PagedMemory"],
    "./native": ["Zygote", "ZygotePool", "locateLibrary"],
    "./conformance": ["parseVector", "runVector", "runVectorDirectory"],
  };
  const exported = denoConfig.exports as Record<string, string>;
  for (const [subpath, names] of Object.entries(expected)) {
    assert.ok(subpath in exported, `${subpath} is not in deno.json exports`);
    const module = await import(new URL(`../${exported[subpath]}`, import.meta.url).href);
    for (const name of names) assert.ok(name in module, `${name} missing from ${subpath}`);
  }
  assert.equal(typeof denoConfig.description, "string");
});
