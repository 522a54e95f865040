/**
 * JAM PVM conformance: the test vectors' JSON (exact 64-bit integers), a runner that compares
 * every exit, register, gas and memory byte against them, and the state comparison it uses.
 *
 * @example Run one vector file
 * ```ts
 * import { parseVector, runVector } from "@pvmbox/pvmbox/conformance";
 *
 * const vector = parseVector(await Deno.readTextFile("inst_add_32.json"));
 * const result = runVector(vector, { backend: "interpreter" });
 * console.log(result.difference?.message ?? "pass");
 * ```
 *
 * @module
 */
export { JsonSyntaxError, type JsonValue, parseJson } from "./src/conformance/json.ts";
export {
  type MemoryChunk,
  type PageMapEntry,
  parseVector,
  type PvmVector,
  VectorFormatError,
} from "./src/conformance/vector.ts";
export { type Difference, type DifferenceKind } from "./src/conformance/state.ts";
export {
  type RunnerOptions,
  runVector,
  runVectorDirectory,
  type SuiteResult,
  type VectorResult,
} from "./src/conformance/runner.ts";
export {
  type BlockGasCost,
  type Expectation,
  parseAnyVector,
  type Step,
  type StepVector,
} from "./src/conformance/steps.ts";
