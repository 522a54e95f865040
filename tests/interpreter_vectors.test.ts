/**
 * The interpreter against every official JAM PVM conformance vector: exit, pc, registers, gas,
 * page-fault address and every byte of every accessible page must match exactly.
 */
import assert from "node:assert/strict";
import { parseVector, type PvmVector } from "../src/conformance/vector.ts";
import { Interpreter } from "../src/interpreter/interpreter.ts";
import { parseBlob } from "../src/program/blob.ts";
import { PAGE_SIZE } from "../src/sandbox/backend.ts";
import { VECTOR_DIR, vectorFileNames } from "./fixtures.ts";

function vectorFiles(): string[] {
  try {
    return vectorFileNames();
  } catch {
    return [];
  }
}

/** Runs one vector and returns the first difference, or undefined when all matches. */
function firstDifference(v: PvmVector, compile: boolean): string | undefined {
  using vm = new Interpreter(parseBlob(v.program), { compile });
  for (const region of v.initialPageMap) {
    vm.memory.map(region.address, region.length, region.writable ? "read-write" : "read");
  }
  for (const chunk of v.initialMemory) vm.memory.write(chunk.address, chunk.contents);
  v.initialRegs.forEach((value, i) => vm.setRegister(i, value));
  vm.gas = v.initialGas;
  vm.pc = v.initialPc;
  const exit = vm.run();
  if (exit.kind !== v.expectedStatus) return `status ${exit.kind}, expected ${v.expectedStatus}`;
  if (exit.pc !== v.expectedPc) return `pc ${exit.pc}, expected ${v.expectedPc}`;
  if (exit.kind === "page-fault" && exit.address !== v.expectedPageFaultAddress) {
    return `fault address ${exit.address}, expected ${v.expectedPageFaultAddress}`;
  }
  for (let i = 0; i < 13; i++) {
    const got = vm.getRegister(i);
    if (got !== v.expectedRegs[i]) return `φ${i} = ${got}, expected ${v.expectedRegs[i]}`;
  }
  if (vm.gas !== v.expectedGas) return `gas ${vm.gas}, expected ${v.expectedGas}`;
  const expected = new Map<number, number>();
  for (const chunk of v.expectedMemory) {
    chunk.contents.forEach((byte, k) => expected.set(chunk.address + k, byte));
  }
  for (const page of vm.memory.mappedPages()) {
    const bytes = vm.memory.read(page, PAGE_SIZE);
    for (let k = 0; k < PAGE_SIZE; k++) {
      const want = expected.get(page + k) ?? 0;
      if (bytes[k] !== want) {
        return `memory[0x${(page + k).toString(16)}] = ${bytes[k]}, expected ${want}`;
      }
      expected.delete(page + k);
    }
  }
  for (const [address, byte] of expected) {
    if (byte !== 0) return `expected byte ${byte} at unmapped 0x${address.toString(16)}`;
  }
  return undefined;
}

const files = vectorFiles();

for (const compile of [false, true]) {
  Deno.test({
    name: `interpreter (${compile ? "translated blocks" : "dispatch loop"}) passes every ` +
      "jam-0.7.2 conformance vector exactly",
    ignore: files.length === 0,
    fn() {
      let passed = 0;
      for (const file of files) {
        const vector = parseVector(Deno.readTextFileSync(new URL(file, VECTOR_DIR)), file);
        const diff = firstDifference(vector, compile);
        assert.equal(diff, undefined, `${file}: ${diff}`);
        passed++;
      }
      assert.equal(passed, files.length);
      assert.ok(passed >= 251, `only ${passed} vectors found`);
    },
  });
}
