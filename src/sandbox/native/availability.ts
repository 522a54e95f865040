/**
 * Whether the native backend can run in this process, and if not, why — the basis of the
 * `auto` backend choice, which then falls back to the interpreter instead of failing.
 * @module
 */
import { nativeLibrary, nativeLibraryLocation } from "../../../ffi/library.ts";
import { libraryPath, unreadLibraryEnvNote } from "../../../ffi/location.ts";

let verdict: string | undefined | null = null;

function probe(): string | undefined {
  const { os, arch } = Deno.build;
  if (os !== "linux" || arch !== "x86_64") {
    return `the native backend needs Linux on x86-64; this is ${os} on ${arch}`;
  }
  let path: string;
  try {
    path = libraryPath();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (Deno.permissions.querySync({ name: "ffi", path }).state !== "granted") {
    return `--allow-ffi is not granted (allow it, or just --allow-ffi=${path})`;
  }
  try {
    nativeLibrary();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

/**
 * Why the native backend cannot run here (wrong platform, `--allow-ffi` not granted, the library
 * missing or mismatched), or undefined when it can load. Spawning can still fail (e.g. user
 * namespaces refused); callers treat that error as the reason. Probed once per process.
 */
export function nativeUnavailable(): string | undefined {
  if (verdict === null) verdict = probe();
  return verdict;
}

/** Which library file the native backend loaded and from where, for reports; "" before it. */
export function nativeLibraryDescription(): string {
  const location = nativeLibraryLocation();
  if (location === undefined) return "";
  return `${location.path} [${location.source}]${unreadLibraryEnvNote(location.unreadableEnv)}`;
}
