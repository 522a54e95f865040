/**
 * Slow: the three real compiled bench programs (JAM standard programs, ~420 M instructions in
 * all) run to completion under standard initialization and must halt with the documented φ7 and
 * gas used.
 */
import assert from "node:assert/strict";
import { Interpreter } from "../src/interpreter/interpreter.ts";
import { parseStandardProgram } from "../src/program/standard.ts";
import { applyLayout, HALT_ADDRESS, standardLayout } from "../src/pvm/mod.ts";
import { benchProgram, sharedTest } from "./fixtures.ts";

/** Expected φ7 and gas used at halt, from the bench programs' README. */
const EXPECTED = [
  { name: "crc32", phi7: 299621408002077471n, gas: 222309414n },
  { name: "matmul", phi7: 9725053747418139532n, gas: 25291521n },
  { name: "sort", phi7: 14296620297689410770n, gas: 175408308n },
];

for (const { name, phi7, gas } of EXPECTED) {
  sharedTest(`slow: bench program ${name} halts with the documented φ7 and gas`, () => {
    const program = parseStandardProgram(benchProgram(name));
    using vm = new Interpreter(program.blob);
    const layout = standardLayout(program, new Uint8Array(0));
    applyLayout(vm.memory, layout);
    vm.heapTop = layout.heapTop;
    layout.registers.forEach((v, i) => vm.setRegister(i, v));
    const initialGas = 1n << 40n;
    vm.gas = initialGas;
    vm.pc = 0;
    const exit = vm.run();
    assert.equal(exit.kind, "halt");
    assert.equal(vm.getRegister(0), BigInt(HALT_ADDRESS));
    assert.equal(vm.getRegister(7), phi7);
    assert.equal(initialGas - vm.gas, gas);
    assert.equal(vm.instructionsExecuted, Number(gas));
  });
}
