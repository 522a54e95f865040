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
