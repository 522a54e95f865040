/**
 * `cli.ts` imported from a URL, as from JSR or a web server: the repository is served over HTTP
 * on the loopback interface and the CLI run from there with a fresh Deno cache, so nothing of the
 * local checkout is read through the file system.
 */
import assert from "node:assert/strict";
import { repoFile } from "./fixtures.ts";

const MEDIA_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".json": "application/json",
  ".s": "text/plain",
};

/** Serves the repository's files over HTTP for the duration of `use`. */
async function withServedRepository(use: (base: string) => Promise<void>): Promise<void> {
  const root = repoFile("");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    const type = MEDIA_TYPES[path.slice(path.lastIndexOf("."))];
    if (path.includes("..") || type === undefined) {
      return new Response("not found", { status: 404 });
    }
    try {
      return new Response(await Deno.readFile(`${root}${path}`), {
        headers: { "content-type": type },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    await use(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** Runs `deno run <permissions> <url> <args>` with an empty Deno cache. */
async function runFromUrl(permissions: string[], url: string, ...args: string[]) {
  const denoDir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, url, ...args],
      env: { DENO_DIR: denoDir, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}

Deno.test("cli.ts from a URL: demo, --version, and run of a local file", async () => {
  await withServedRepository(async (base) => {
    const host = new URL(base).host;
    const demo = await runFromUrl([`--allow-net=${host}`], `${base}/cli.ts`, "demo");
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stdout, /All checks passed/);

    const denied = await runFromUrl([], `${base}/cli.ts`, "demo");
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, new RegExp(`run with --allow-net=${host}`));

    const version = await runFromUrl([], `${base}/cli.ts`, "--version");
    assert.match(version.stdout, /^pvmbox \d+\.\d+\.\d+/);

    const fib = repoFile("examples/fibonacci.s");
    const run = await runFromUrl([`--allow-read=${fib}`], `${base}/cli.ts`, "run", fib);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^halt at pc \d+$/m);
  });
});
