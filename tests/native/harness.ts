/**
 * Shared helpers for the native sandbox tests.
 * @module
 */
import assert from "node:assert/strict";
import { nativeLibrary } from "../../ffi/library.ts";
import { ABI } from "../../ffi/vmctx.ts";
import { Zygote, type ZygoteOptions } from "../../src/sandbox/native/mod.ts";
import type { Asm } from "./x86.ts";

/** Spawns a zygote, loads `code` and runs it once. */
export function runOnce(code: Asm, options: ZygoteOptions = {}): {
  zygote: Zygote;
  exit: ReturnType<Zygote["run"]>;
} {
  const zygote = Zygote.spawn(options);
  zygote.loadCode(code.build());
  return { zygote, exit: zygote.run(0) };
}

/**
 * Spawns a fully isolated zygote straight through the library's symbols, below `Zygote`'s
 * checks, as an attacker on the library would; returns the symbols and the handle (dispose it).
 */
export function spawnRaw(): {
  symbols: ReturnType<typeof nativeLibrary>["symbols"];
  handle: number;
} {
  const { symbols } = nativeLibrary();
  const handle = symbols.pvmbox_spawn(
    ABI.PROFILE_FULL,
    5000,
    new Uint32Array(2),
    new Uint8Array(256),
    256n,
  );
  assert.ok(handle >= 0, "the zygote spawned");
  return { symbols, handle };
}

/** Lines of /proc/<pid>/status as a map. */
export function procStatus(pid: number): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of Deno.readTextFileSync(`/proc/${pid}/status`).split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) map.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return map;
}

/** True while a process with `pid` exists (zombies count as gone). */
export function processExists(pid: number): boolean {
  try {
    return procStatus(pid).get("State")?.startsWith("Z") === false;
  } catch {
    return false;
  }
}

/** Children of this process (all threads), from /proc. */
export function childPids(): number[] {
  const pids: number[] = [];
  for (const task of Deno.readDirSync("/proc/self/task")) {
    const text = Deno.readTextFileSync(`/proc/self/task/${task.name}/children`).trim();
    if (text) pids.push(...text.split(/\s+/).map(Number));
  }
  return pids.sort((a, b) => a - b);
}

/** Number of open fds of this process. */
export function openFdCount(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/** Mappings of this process backed by the sandbox's memfds (V8's own heap churns freely). */
export function sandboxMappings(): string[] {
  return Deno.readTextFileSync("/proc/self/maps").split("\n").filter((l) =>
    l.includes("memfd:pvmbox")
  );
}
