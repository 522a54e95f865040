/**
 * Every official jam-0.7.2 conformance vector on every engine (both interpreter modes and every
 * other backend): exit, pc, registers, gas, page-fault address and every byte of every mapped
 * page must match exactly.
 */
import assert from "node:assert/strict";
import { runVectorOn } from "../src/conformance/runner.ts";
import { parseVector } from "../src/conformance/vector.ts";
import { Program } from "../src/program/program.ts";
import { forEachEngine } from "./backends.ts";
import { NEEDS_SHARED, vectorDir, vectorFileNames } from "./fixtures.ts";

forEachEngine("every jam-0.7.2 conformance vector passes exactly", (engine) => {
  const files = vectorFileNames();
  const failures: string[] = [];
  for (const file of files) {
    const vector = parseVector(Deno.readTextFileSync(new URL(file, vectorDir())), file);
    using machine = engine.create(Program.parse(vector.program, { container: "raw" }));
    const difference = runVectorOn(vector, machine);
    if (difference !== undefined) failures.push(`${file}: ${difference.message}`);
  }
  assert.deepEqual(failures, []);
  assert.ok(files.length >= 251, `only ${files.length} vectors found`);
}, { ignore: NEEDS_SHARED });
