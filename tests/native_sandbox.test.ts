/**
 * Native sandboxes as a whole: compiled code cached by content hash (every sandbox of the process
 * running the same program shares one compilation, even when the program was parsed again from
 * the same bytes), the choice `auto` makes and why, zygotes of forgotten sandboxes reclaimed.
 */
import assert from "node:assert/strict";
import { assemble } from "../src/program/asm/index.ts";
import { Program } from "../src/program/program.ts";
import { NATIVE_CODE_CACHE } from "../src/sandbox/native/instantiate.ts";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import { backendUnavailable } from "./backends.ts";
import { cli } from "./cli_helpers.ts";
import { evalWithGc, repoFile } from "./fixtures.ts";
import { libraryPath } from "../ffi/location.ts";

const NATIVE_UNAVAILABLE = backendUnavailable("native");

const SOURCE = `
.stack_size 0x1000
    load_imm a0, 40
    add_imm_64 a0, a0, 2
    jump_ind ra, 0
`;

Deno.test({
  name: "code cache: a second sandbox of the same program compiles nothing",
  ignore: NATIVE_UNAVAILABLE !== undefined,
  fn() {
    const bytes = assemble(SOURCE);
    const run = (program: Program): bigint => {
      using sb = Sandbox.create(program, { backend: "native", gas: 100n });
      assert.deepEqual(sb.run().kind, "halt");
      return sb.regs[7];
    };
    const before = NATIVE_CODE_CACHE.compilations;
    assert.equal(run(Program.parse(bytes)), 42n);
    assert.equal(NATIVE_CODE_CACHE.compilations, before + 1, "the first sandbox compiles");
    assert.equal(run(Program.parse(bytes)), 42n);
    assert.equal(run(Program.parse(bytes.slice())), 42n);
    assert.equal(NATIVE_CODE_CACHE.compilations, before + 1, "the same content compiles once");
    const other = Program.parse(assemble(SOURCE.replace("40", "41")));
    assert.equal(run(other), 43n);
    assert.equal(NATIVE_CODE_CACHE.compilations, before + 2, "other content compiles anew");
  },
});

Deno.test({
  name: "auto: native where it runs here, and it says why",
  ignore: NATIVE_UNAVAILABLE !== undefined,
  async fn() {
    using sb = Sandbox.create(Program.parse(assemble(SOURCE)), { backend: "auto", gas: 10n });
    assert.equal(sb.backend, "native");
    assert.match(sb.backendReason, /auto chose it: Linux x86-64, --allow-ffi granted/);
    using asked = Sandbox.create(Program.parse(assemble(SOURCE)), { backend: "interpreter" });
    assert.equal(asked.backendReason, "asked for by name");
    const fib = repoFile("examples/fibonacci.s");
    const r = await cli("run", fib, "--backend", "auto", "--verbose");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^backend: native \(auto chose it: /);
  },
});

Deno.test("auto: without --allow-ffi the interpreter runs, and --verbose says why", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      repoFile("cli.ts"),
      "run",
      repoFile("examples/fibonacci.s"),
      "--backend",
      "auto",
      "--verbose",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(stdout, /^backend: interpreter \(auto chose it: .*--allow-ffi is not granted/);
  assert.match(stdout, /halt at pc/);
});

Deno.test({
  name: "native sandboxes dropped without dispose give their zygote back to the pool",
  ignore: NATIVE_UNAVAILABLE !== undefined,
  async fn() {
    const script = `
      import { Program } from ${JSON.stringify(import.meta.resolve("../src/program/program.ts"))};
      import { Sandbox } from ${JSON.stringify(import.meta.resolve("../src/sandbox/sandbox.ts"))};
      import { nativePool } from ${
      JSON.stringify(import.meta.resolve("../src/sandbox/native/instantiate.ts"))
    };
      const trap = Program.parse(Uint8Array.of(0, 0, 1, 0, 1), { container: "raw" });
      for (let i = 0; i < 4; i++) Sandbox.create(trap, { backend: "native", gas: 5n }).run();
      const leased = nativePool().leased;
      for (let i = 0; i < 50 && nativePool().leased > 0; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      console.log(JSON.stringify({ leased, after: nativePool().leased }));`;
    assert.deepEqual(await evalWithGc(script), { leased: 4, after: 0 });
  },
});

Deno.test({
  name: "scoped --allow-ffi: a native sandbox works through copy calls, with the same results",
  ignore: NATIVE_UNAVAILABLE !== undefined,
  async fn() {
    const run = async (backend: string) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--allow-read",
          `--allow-ffi=${libraryPath()}`,
          repoFile("cli.ts"),
          "run",
          repoFile("examples/host_calls.s"),
          "--backend",
          backend,
          "--on-host-call=ignore",
          "--json",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.doesNotMatch(stderr, /Error/);
      return { code: output.code, ...JSON.parse(new TextDecoder().decode(output.stdout)) };
    };
    const native = await run("native");
    assert.ok(native.hostCalls.length >= 1, "the program makes host calls");
    assert.ok(native.gasUsed > 0);
    assert.deepEqual(native, await run("interpreter"));
  },
});
