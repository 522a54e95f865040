/**
 * The native library the package ships (ffi/embedded_library.ts): it is byte for byte what the
 * sources build into, and an import from a URL runs the native backend through it with exactly
 * the permissions the documentation gives.
 */
import assert from "node:assert/strict";
import { EMBEDDED_LIBRARY_SHA256 } from "../ffi/embedded_library.ts";
import { BUILT_LIBRARY_URL, filePath } from "../ffi/built_library.ts";
import { embeddedLibrary } from "../ffi/location.ts";
import { backendUnavailable } from "./backends.ts";
import { repoFile } from "./fixtures.ts";
import { runFromUrl, withServedRepository } from "./serve_repository.ts";
import denoConfig from "../deno.json" with { type: "json" };

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("embedded library: identical to a build of the sources", async () => {
  // Rebuilds when a source changed since the last build (the build is reproducible).
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--lock=deno.lock", "-A", repoFile("build.ts"), "--if-stale"],
    cwd: repoFile(""),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
  const built = Deno.readFileSync(filePath(BUILT_LIBRARY_URL));
  const embedded = embeddedLibrary();
  const digest = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", embedded)));
  assert.equal(digest, EMBEDDED_LIBRARY_SHA256, "the recorded hash is the embedded bytes' hash");
  assert.ok(
    built.length === embedded.length && built.every((b, i) => b === embedded[i]),
    "ffi/embedded_library.ts is not what the sources build into: run `deno task build` " +
      "(which rewrites it) and commit it",
  );
});

const native = backendUnavailable("native");

Deno.test({
  name: "embedded library: an import from a URL runs natively with the documented permissions" +
    (native === undefined ? "" : ` [ignored: native backend unavailable: ${native}]`),
  ignore: native !== undefined,
  async fn() {
    const cache = await Deno.makeTempDir();
    try {
      await withServedRepository(async (base) => {
        const example = `${base}/examples/native_sandbox.ts`;
        const env = { PVMBOX_CACHE: cache };
        const permissions = [
          "--no-prompt",
          "--allow-env=PVMBOX_NATIVE_LIB,PVMBOX_CACHE",
          `--allow-read=${cache}`,
          `--allow-write=${cache}`,
          `--allow-ffi=${cache}`,
        ];
        const expected = { backend: "native", exit: "halt", result: "12586269025" };
        const first = await runFromUrl(permissions, example, [], env);
        assert.equal(first.code, 0, first.stderr);
        assert.deepEqual(JSON.parse(first.stdout), expected);
        const written = [...Deno.readDirSync(cache)].map((e) => e.name);
        assert.deepEqual(written, [
          `${denoConfig.version}-${EMBEDDED_LIBRARY_SHA256.slice(0, 16)}.so`,
        ]);
        // Once written, reading it is enough.
        const readOnly = permissions.filter((p) => !p.startsWith("--allow-write"));
        const again = await runFromUrl(readOnly, example, [], env);
        assert.deepEqual(JSON.parse(again.stdout), expected, again.stderr);
        // PVMBOX_NATIVE_LIB that cannot be read is named in the error, not ignored in silence.
        const noEnv = ["--no-prompt", `--allow-ffi=${cache}`];
        const denied = await runFromUrl(noEnv, example, [], {
          ...env,
          PVMBOX_NATIVE_LIB: "/elsewhere/libpvmbox_native.so",
        });
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /PVMBOX_NATIVE_LIB was not read: that needs --allow-env/);
      });
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
});
