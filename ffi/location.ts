/**
 * Where the native sandbox library lives. `deno task build` writes it to `zig-out/lib/` of the
 * project; `PVMBOX_NATIVE_LIB` overrides the path (for installed or prebuilt copies).
 * @module
 */

/** File name of the native library. */
export const LIBRARY_FILE_NAME = "libpvmbox_native.so";

/** Environment variable naming an explicit library path. */
export const LIBRARY_ENV = "PVMBOX_NATIVE_LIB";

/** The library path `deno task build` produces. */
export const BUILT_LIBRARY_URL: URL = new URL(
  `../zig-out/lib/${LIBRARY_FILE_NAME}`,
  import.meta.url,
);

/** The local path of a `file:` URL (percent-escapes decoded). */
export function filePath(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** Reads an env var, treating a denied permission like an unset variable. */
function tryGetEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The library to load: `$PVMBOX_NATIVE_LIB` if set, else the built one. */
export function libraryPath(): string {
  return tryGetEnv(LIBRARY_ENV) ?? filePath(BUILT_LIBRARY_URL);
}
