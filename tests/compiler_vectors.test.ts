/**
 * The official jam-0.7.2 conformance vectors' programs, compiled and run in a real zygote from
 * each vector's initial state, against the interpreter: every exit, register, gas and memory
 * page must agree (page faults resumed after mapping the page, to run past them too).
 */
import assert from "node:assert/strict";
import { parseVector } from "../src/conformance/vector.ts";
import { parseBlob } from "../src/program/blob.ts";
import { type PageSetup, runBoth } from "./compiler_harness.ts";
import { sharedTest, vectorDir, vectorFileNames } from "./fixtures.ts";

sharedTest(
  "compiled conformance-vector programs match the interpreter from the vectors' states",
  () => {
    let runs = 0;
    for (const name of vectorFileNames()) {
      const vector = parseVector(Deno.readTextFileSync(new URL(name, vectorDir())), name);
      const pages: PageSetup[] = vector.initialPageMap.map((entry) => {
        const bytes = new Uint8Array(entry.length);
        for (const chunk of vector.initialMemory) {
          const from = chunk.address - entry.address;
          if (from >= 0 && from < entry.length) {
            bytes.set(chunk.contents.subarray(0, entry.length - from), from);
          }
        }
        return { ...entry, access: entry.writable ? "read-write" : "read", bytes };
      });
      try {
        runBoth(parseBlob(vector.program), {
          registers: vector.initialRegs,
          gas: vector.initialGas,
          pc: vector.initialPc,
          pages,
          mapOnFault: true,
          maxExits: 5,
        });
      } catch (error) {
        throw new Error(`${name}: ${error instanceof Error ? error.message : error}`);
      }
      runs++;
    }
    assert.ok(runs >= 251, `${runs} vectors`);
  },
);
