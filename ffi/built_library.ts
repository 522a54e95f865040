/**
 * Where `deno task build` writes the native library in a clone. Kept apart from the loader
 * (`location.ts`), which also imports the embedded copy, so that the build can run before that
 * copy exists.
 * @module
 */

/** File name of the native library. */
export const LIBRARY_FILE_NAME = "libpvmbox_native.so";

/** The library path `deno task build` produces (meaningful when this module is a local file). */
export const BUILT_LIBRARY_URL: URL = new URL(
  `../zig-out/lib/${LIBRARY_FILE_NAME}`,
  import.meta.url,
);

/** The local path of a `file:` URL (percent-escapes decoded). */
export function filePath(url: URL): string {
  return decodeURIComponent(url.pathname);
}
