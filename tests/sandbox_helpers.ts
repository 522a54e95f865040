/** Helpers shared by the sandbox tests: assembling programs and spotting `SandboxError`s. */
import assert from "node:assert/strict";
import { assemble } from "../src/program/asm/index.ts";
import { Program } from "../src/program/program.ts";
import { SandboxError, type SandboxErrorKind } from "../src/pvm/mod.ts";

/** Assembles `source` and parses the result as a program. */
export function program(source: string): Program {
  return Program.parse(assemble(source));
}

/**
 * Asserts that `fn` throws a `SandboxError` of `kind` (with a message matching `message`, when
 * given) and returns it.
 */
export function assertSandboxError(
  fn: () => unknown,
  kind: SandboxErrorKind,
  message?: RegExp,
): SandboxError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SandboxError, `expected a SandboxError, got ${error}`);
    assert.equal(error.kind, kind, `expected kind ${kind}: ${error.message}`);
    if (message !== undefined) assert.match(error.message, message);
    return error;
  }
  assert.fail(`expected a SandboxError of kind ${kind}`);
}
