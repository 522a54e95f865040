/**
 * `cli.ts` imported from a URL, as from JSR or a web server: the repository is served over HTTP
 * on the loopback interface and the CLI run from there with a fresh Deno cache, so nothing of the
 * local checkout is read through the file system.
 */
import assert from "node:assert/strict";
import { repoFile } from "./fixtures.ts";
import { runFromUrl, withServedRepository } from "./serve_repository.ts";

Deno.test("cli.ts from a URL: demo, --version, and run of a local file", async () => {
  await withServedRepository(async (base) => {
    const host = new URL(base).host;
    const demo = await runFromUrl([`--allow-net=${host}`], `${base}/cli.ts`, ["demo"]);
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stdout, /All checks passed/);

    const denied = await runFromUrl([], `${base}/cli.ts`, ["demo"]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, new RegExp(`run with --allow-net=${host}`));

    const version = await runFromUrl([], `${base}/cli.ts`, ["--version"]);
    assert.match(version.stdout, /^pvmbox \d+\.\d+\.\d+/);

    const fib = repoFile("examples/fibonacci.s");
    const run = await runFromUrl([`--allow-read=${fib}`], `${base}/cli.ts`, ["run", fib]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^halt at pc \d+$/m);
  });
});

Deno.test("deno install -g works from a clone and from a URL", async () => {
  await withServedRepository(async (base) => {
    for (const source of [repoFile("cli.ts"), `${base}/cli.ts`]) {
      const root = await Deno.makeTempDir();
      const denoDir = await Deno.makeTempDir();
      try {
        const env = { DENO_DIR: denoDir, NO_COLOR: "1" };
        const install = await new Deno.Command(Deno.execPath(), {
          args: ["install", "-g", "--root", root, "-n", "pvmbox", "--allow-read", source],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
        const fib = repoFile("examples/fibonacci.s");
        const run = await new Deno.Command(`${root}/bin/pvmbox`, {
          args: ["run", fib, "--backend", "interpreter"],
          env: { ...env, PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:/usr/bin:/bin` },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
        assert.match(new TextDecoder().decode(run.stdout), /^halt at pc \d+$/m);
      } finally {
        await Deno.remove(root, { recursive: true });
        await Deno.remove(denoDir, { recursive: true });
      }
    }
  });
});
