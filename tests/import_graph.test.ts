/**
 * The folder dependency rule, checked on the import specifiers of every module under `src/` and
 * `ffi/`: each folder imports only the folders below it, and no cycle exists between folders
 * (subfolders included).
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * What each top-level folder may import besides itself, lowest layer first:
 * src/pvm ← src/program ← {src/interpreter, src/compiler} ← src/sandbox ← src/conformance ←
 * src/cli; ffi/ sees only src/pvm (and deno.json, for the version in the embedded library's
 * cache name), and only src/sandbox/native/ sees ffi/.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  "src/pvm": [],
  "src/program": ["src/pvm"],
  "src/interpreter": ["src/pvm", "src/program"],
  "src/compiler": ["src/pvm", "src/program"],
  "src/sandbox": ["src/pvm", "src/program", "src/interpreter", "src/compiler"],
  "src/conformance": ["src/pvm", "src/program", "src/interpreter", "src/compiler", "src/sandbox"],
  "src/cli": [
    "src/pvm",
    "src/program",
    "src/interpreter",
    "src/compiler",
    "src/sandbox",
    "src/conformance",
  ],
  "ffi": ["src/pvm", "deno.json"],
};

/** The only folder of src/ that may import ffi/. */
const FFI_GATE = "src/sandbox/native";

/** One relative import: the importing file and the imported file, both relative to the root. */
interface Edge {
  readonly from: string;
  readonly to: string;
}

function moduleFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...moduleFiles(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Static and dynamic import/export specifiers that are relative paths. */
const SPECIFIER = /(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of [...moduleFiles("src"), ...moduleFiles("ffi")]) {
    const text = Deno.readTextFileSync(join(ROOT, file));
    for (const match of text.matchAll(SPECIFIER)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), match[1]));
      edges.push({ from: file, to: target });
    }
  }
  return edges;
}

/** The top-level folder a file belongs to (`src/<name>` or `ffi`), or the file itself. */
function topFolder(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "src" && parts.length > 2) return `src/${parts[1]}`;
  return parts[0] === "ffi" ? "ffi" : file;
}

/** Folder cycles, each as the list of folders on it (strongly connected components of 2+). */
function folderCycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = dirname(from), b = dirname(to);
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  // Tarjan's algorithm over the folder graph.
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), cycles: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

Deno.test("the import scan sees the project's known dependencies", () => {
  const edges = importEdges();
  const has = (from: string, to: string) => edges.some((e) => e.from === from && e.to === to);
  assert.ok(has("src/interpreter/interpreter.ts", "src/program/analysis.ts"));
  assert.ok(has("src/sandbox/native/zygote.ts", "ffi/library.ts"));
  assert.ok(has("src/pvm/mod.ts", "src/pvm/machine.ts"));
});

Deno.test("every folder imports only the folders below it", () => {
  const violations: string[] = [];
  for (const { from, to } of importEdges()) {
    const source = topFolder(from), target = topFolder(to);
    if (source === target) continue;
    const allowed = ALLOWED[source];
    assert.ok(allowed !== undefined, `${source} has no place in the dependency rule`);
    const gate = target === "ffi" && dirname(from).startsWith(FFI_GATE);
    if (!allowed.includes(target) && !gate) violations.push(`${from} imports ${to}`);
  }
  assert.deepEqual(violations, []);
});

Deno.test("no import cycle exists between folders", () => {
  assert.deepEqual(folderCycles(importEdges()), []);
});

Deno.test("the cycle finder reports a cycle between two folders", () => {
  const cycles = folderCycles([
    { from: "src/a/x.ts", to: "src/b/y.ts" },
    { from: "src/b/y.ts", to: "src/a/z.ts" },
    { from: "src/b/y.ts", to: "src/c/w.ts" },
  ]);
  assert.deepEqual(cycles, [["src/a", "src/b"]]);
});
