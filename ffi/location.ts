/**
 * Where the native sandbox library is loaded from, in this order:
 * 1. `PVMBOX_NATIVE_LIB`, when set (read with `--allow-env=PVMBOX_NATIVE_LIB`);
 * 2. the library `deno task build` made in a clone (`zig-out/lib/`), when this module is a local
 *    file and the library is there;
 * 3. the copy embedded in the package (`embedded_library.ts`), written once into a cache
 *    directory: `$PVMBOX_CACHE`, else `$DENO_DIR/pvmbox`, else `$HOME/.cache/pvmbox`, as
 *    `<version>-<hash>.so`. This is what an import from JSR or any URL uses: no Zig needed.
 * @module
 */
import denoConfig from "../deno.json" with { type: "json" };
import { SandboxError } from "../src/pvm/mod.ts";
import { BUILT_LIBRARY_URL, filePath } from "./built_library.ts";
import { EMBEDDED_LIBRARY_BASE64, EMBEDDED_LIBRARY_SHA256 } from "./embedded_library.ts";

/** Environment variable naming an explicit library path. */
export const LIBRARY_ENV = "PVMBOX_NATIVE_LIB";

/** Environment variable naming the directory the embedded library is written to. */
export const CACHE_ENV = "PVMBOX_CACHE";

/** Which of the three places the library comes from. */
export type LibrarySource = "PVMBOX_NATIVE_LIB" | "build" | "embedded";

/** The library to load and how it was chosen. */
export interface LibraryLocation {
  /** Absolute path of the library file. */
  readonly path: string;
  /** Where it comes from. */
  readonly source: LibrarySource;
  /** Environment variables that could not be read for lack of `--allow-env`. */
  readonly unreadableEnv: readonly string[];
}

/** A note for error messages when `PVMBOX_NATIVE_LIB` could not be read (empty otherwise). */
export function unreadLibraryEnvNote(unreadableEnv: readonly string[]): string {
  return unreadableEnv.includes(LIBRARY_ENV)
    ? ` (${LIBRARY_ENV} was not read: that needs --allow-env=${LIBRARY_ENV})`
    : "";
}

/** The embedded library's bytes. */
export function embeddedLibrary(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(EMBEDDED_LIBRARY_BASE64), (c) => c.charCodeAt(0));
}

/** Reads environment variables, remembering the ones `--allow-env` does not cover. */
class Environment {
  readonly unreadable: string[] = [];
  get(name: string): string | undefined {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      this.unreadable.push(name);
      return undefined;
    }
  }
}

/**
 * True when the built library exists; without read access to check, when `--allow-ffi` covers
 * it (whoever allowed exactly that library built it).
 */
function builtLibraryPresent(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) return false;
    return Deno.permissions.querySync({ name: "ffi", path }).state === "granted";
  }
}

/** Why `what` is impossible, with the permissions that fix it; `hint` ends the message. */
function cacheError(what: string, dir: string, error: unknown, hint: string): SandboxError {
  const denied = error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied;
  return new SandboxError(
    "native-library",
    `cannot ${what} the embedded native library in ${dir}: ` +
      (denied
        ? `no permission; run with --allow-read=${dir} --allow-write=${dir}`
        : `${error instanceof Error ? error.message : String(error)}`) +
      ` (or set ${CACHE_ENV} to another directory, or ${LIBRARY_ENV} to a built library)` + hint,
  );
}

/** Writes the embedded library into `dir` unless an identical copy is there; returns its path. */
function materialize(dir: string, hint: string): string {
  const bytes = embeddedLibrary();
  const path = `${dir}/${denoConfig.version}-${EMBEDDED_LIBRARY_SHA256.slice(0, 16)}.so`;
  try {
    const existing = Deno.readFileSync(path);
    if (existing.length === bytes.length && existing.every((b, i) => b === bytes[i])) return path;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw cacheError("read", dir, error, hint);
  }
  try {
    Deno.mkdirSync(dir, { recursive: true });
    // Written beside its final name and renamed, so a concurrent loader never sees half a file.
    const temporary = `${path}.${Deno.pid}.tmp`;
    Deno.writeFileSync(temporary, bytes, { mode: 0o644 });
    Deno.renameSync(temporary, path);
  } catch (error) {
    throw cacheError("write", dir, error, hint);
  }
  return path;
}

/** The cache directory for the embedded library, or undefined when no variable names one. */
function cacheDirectory(env: Environment): string | undefined {
  const explicit = env.get(CACHE_ENV);
  if (explicit !== undefined) return explicit;
  const denoDir = env.get("DENO_DIR");
  if (denoDir !== undefined) return `${denoDir}/pvmbox`;
  const home = env.get("HOME");
  return home === undefined ? undefined : `${home}/.cache/pvmbox`;
}

/**
 * Chooses the library (see the module comment), writing the embedded copy into the cache when
 * that is the one; throws `SandboxError` ("native-library") saying what to do when it cannot.
 */
export function locateLibrary(): LibraryLocation {
  const env = new Environment();
  const unreadableEnv = env.unreadable;
  const explicit = env.get(LIBRARY_ENV);
  if (explicit !== undefined) return { path: explicit, source: LIBRARY_ENV, unreadableEnv };
  let hint = "";
  if (BUILT_LIBRARY_URL.protocol === "file:") {
    const built = filePath(BUILT_LIBRARY_URL);
    if (builtLibraryPresent(built)) return { path: built, source: "build", unreadableEnv };
    hint = `; in a clone, --allow-ffi=${built} uses the library \`deno task build\` makes`;
  }
  const dir = cacheDirectory(env);
  hint = unreadLibraryEnvNote(unreadableEnv) + hint;
  if (dir === undefined) {
    throw new SandboxError(
      "native-library",
      `no directory to write the embedded native library to: set ${CACHE_ENV} (or HOME) and ` +
        `allow reading it with --allow-env=${[LIBRARY_ENV, CACHE_ENV, "DENO_DIR", "HOME"]}` +
        ` (or set ${LIBRARY_ENV} to a built library)` + hint,
    );
  }
  return { path: materialize(dir, hint), source: "embedded", unreadableEnv };
}

/** The path of the library to load (see `locateLibrary`). */
export function libraryPath(): string {
  return locateLibrary().path;
}
