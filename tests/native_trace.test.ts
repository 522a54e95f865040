/**
 * Tracing on the native backend (step mode): the hook sees the same pcs, gas and registers as on
 * the interpreter, over generated programs resumed after every kind of exit, and `run --trace`
 * prints the same trace on both backends.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/pvm/mod.ts";
import { type BackendName, createBackend } from "../src/sandbox/backends.ts";
import { backendUnavailable, type Engine } from "./backends.ts";
import { cli } from "./cli_helpers.ts";
import { generateCase } from "./differential/generate.ts";
import { runOnEngines } from "./differential/run.ts";
import { repoFile } from "./fixtures.ts";

const NATIVE_UNAVAILABLE = backendUnavailable("native");

/** An engine whose tracing hook appends pc, gas and registers to `log`. */
function traced(backend: BackendName, log: string[]): Engine {
  return {
    name: `${backend} (traced)`,
    backend,
    unavailable: undefined,
    create(program) {
      let machine: Backend | undefined = undefined;
      const registers = new BigUint64Array(13);
      machine = createBackend(backend, program, (pc) => {
        machine!.getRegisters(registers);
        log.push(`${pc} gas ${machine!.gas} ${registers.join(" ")}`);
      });
      return machine;
    },
  };
}

Deno.test({
  name: "trace: step mode reports what the interpreter reports, over 300 generated programs",
  ignore: NATIVE_UNAVAILABLE !== undefined,
  fn() {
    let traced_lines = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const interpreterLog: string[] = [], nativeLog: string[] = [];
      const engines = [traced("interpreter", interpreterLog), traced("native", nativeLog)];
      const report = runOnEngines(generateCase(seed), engines, seed);
      assert.equal(report.mismatch?.difference.message, undefined, `seed ${seed}`);
      assert.deepEqual(nativeLog, interpreterLog, `seed ${seed}`);
      traced_lines += interpreterLog.length;
    }
    assert.ok(traced_lines > 10_000, `only ${traced_lines} instructions traced`);
  },
});

Deno.test({
  name: "trace: run --trace prints the same on the native backend",
  ignore: NATIVE_UNAVAILABLE !== undefined,
  async fn() {
    for (const [file, extra] of [["fibonacci.s", ["--args", "0a"]], ["memory.s", []]] as const) {
      const path = repoFile(`examples/${file}`);
      const interpreter = await cli("run", path, ...extra, "--trace", "--backend", "interpreter");
      const native = await cli("run", path, ...extra, "--trace", "--backend", "native");
      assert.equal(interpreter.code, 0, interpreter.stderr);
      assert.ok(interpreter.stdout.split("\n").length > 20);
      assert.equal(native.stdout, interpreter.stdout, file);
      assert.equal(native.code, interpreter.code);
    }
  },
});
