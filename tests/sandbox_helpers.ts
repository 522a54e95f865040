/** Helpers shared by the sandbox tests: assembling programs and spotting `SandboxError`s. */
import assert from "node:assert/strict";
import { assemble } from "../src/program/asm/index.ts";
import { Program } from "../src/program/program.ts";
import { SandboxError, type SandboxErrorCause } from "../src/sandbox/errors.ts";

/** Assembles `source` and parses the result as a program. */
export function program(source: string): Program {
  return Program.parse(assemble(source));
}

/** Asserts that `fn` throws a `SandboxError` of `kind` whose message matches `message`. */
export function assertSandboxError(fn: () => unknown, kind: SandboxErrorCause, message: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SandboxError, `expected a SandboxError, got ${error}`);
    assert.equal(error.kind, kind);
    assert.match(error.message, message);
    return true;
  });
}
