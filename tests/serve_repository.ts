/**
 * The repository served over HTTP on the loopback interface, to run its modules from a URL as
 * from JSR or a web server: nothing of the checkout is then read through the file system.
 * @module
 */
import { repoFile } from "./fixtures.ts";

const MEDIA_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".json": "application/json",
  ".s": "text/plain",
};

/** Serves the repository's files over HTTP for the duration of `use`. */
export async function withServedRepository(use: (base: string) => Promise<void>): Promise<void> {
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

/** What a process printed, and its exit code. */
export interface ProcessResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/** Runs `deno run <permissions> <url> <args>` with an empty Deno cache and extra `env`. */
export async function runFromUrl(
  permissions: string[],
  url: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ProcessResult> {
  const denoDir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, url, ...args],
      env: { ...env, DENO_DIR: denoDir, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}
