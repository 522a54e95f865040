/**
 * The examples in `examples/*.s` (and the first example of `docs/assembly.md`): each assembles,
 * decodes to the expected shape, and runs on the interpreter to the documented result.
 */
import assert from "node:assert/strict";
import { assembleDetailed, disassemble } from "../src/program/asm/index.ts";
import { Op } from "../src/program/isa/index.ts";
import { Program } from "../src/program/program.ts";
import { invokeProgram } from "../src/sandbox/sandbox.ts";

const ROOT = new URL("../", import.meta.url);

function build(path: string) {
  const source = Deno.readTextFileSync(new URL(path, ROOT));
  const out = assembleDetailed(source);
  assert.deepEqual(out.warnings, [], `${path} has warnings`);
  const program = Program.parse(out.bytes, { container: out.kind });
  // The listing of each example reassembles to the same bytes too.
  assert.deepEqual(assembleDetailed(disassemble(program)).bytes, out.bytes);
  return { out, program, ops: program.decoded.instructions.map((i) => i.op) };
}

const GAS = 1_000_000n;

Deno.test("fibonacci.s leaves fib(n) in a0 and halts", () => {
  const { out, program, ops } = build("examples/fibonacci.s");
  assert.equal(out.kind, "standard");
  assert.ok(ops.includes(Op.add_64) && ops.includes(Op.branch_ne_imm));
  assert.equal(ops.at(-1), Op.jump_ind);
  const fib = (n: number): bigint => {
    let [a, b] = [0n, 1n];
    for (let i = 0; i < n; i++) [a, b] = [b, a + b];
    return a;
  };
  const cases: [Uint8Array, number][] = [
    [new Uint8Array(), 20],
    [Uint8Array.of(0), 0],
    [Uint8Array.of(1), 1],
    [Uint8Array.of(90), 90],
  ];
  for (const [args, n] of cases) {
    const result = invokeProgram(program, { gas: GAS, args });
    assert.equal(result.status, "halt", `n = ${n}`);
    assert.equal(result.regs[7], fib(n), `n = ${n}`);
  }
});

Deno.test("host_calls.s logs a string from read-only data and returns what the host says", () => {
  const { out, program, ops } = build("examples/host_calls.s");
  const calls = program.decoded.instructions.filter((i) => i.op === Op.ecalli).map((i) => i.x);
  assert.deepEqual(calls, [100, 0]);
  assert.ok(ops.includes(Op.trap));
  assert.equal(out.labels.get("message")?.section, "ro_data");
  const decoder = new TextDecoder();
  for (const logResult of [0n, 1n]) {
    const logged: string[] = [];
    const result = invokeProgram(program, {
      gas: GAS,
      hostCalls: {
        100: (sb) => {
          const r = sb.regs;
          logged.push(decoder.decode(sb.memory.read(Number(r[8]), Number(r[9]))));
          logged.push(decoder.decode(sb.memory.read(Number(r[10]), Number(r[11]))));
          assert.equal(r[7], 3n);
          return logResult;
        },
        0: () => 4242n,
      },
    });
    assert.deepEqual(logged, ["pvmbox", "hello from the guest"]);
    if (logResult === 0n) {
      assert.equal(result.status, "halt");
      assert.equal(result.regs[7], 4242n);
    } else {
      assert.equal(result.status, "panic", "a failed log call must end in the trap");
    }
  }
});

Deno.test("memory.s writes an output buffer on the heap and returns it in a0/a1", () => {
  const { out, program, ops } = build("examples/memory.s");
  assert.ok(ops.includes(Op.sbrk) && ops.includes(Op.store_ind_u64));
  assert.equal(program.memory?.rwData.length, 12);
  const result = invokeProgram(program, { gas: GAS });
  assert.equal(result.status, "halt");
  const expected = new Uint8Array(8 + 8 * 8);
  expected.set(new TextEncoder().encode("squares:"));
  const view = new DataView(expected.buffer);
  for (let i = 0; i < 8; i++) view.setBigUint64(8 + 8 * i, BigInt(i * i), true);
  assert.deepEqual(result.output, expected);
  // The heap starts after the read-write data's page.
  assert.equal(result.regs[7], BigInt(out.labels.get("count")!.value + 0x1000));
});

Deno.test("call.s calls a recursive function through the jump table", () => {
  const { out, program } = build("examples/call.s");
  const pc = (name: string) => out.labels.get(name)!.value;
  assert.deepEqual(out.jumpTable, [pc("after_call"), pc("returned")]);
  const calls = program.decoded.instructions.filter((i) => i.op === Op.load_imm_jump);
  assert.deepEqual(calls.map((i) => [i.x, i.y]), [[2, pc("factorial")], [4, pc("factorial")]]);
  const result = invokeProgram(program, { gas: GAS });
  assert.equal(result.status, "halt");
  assert.equal(result.regs[7], 2432902008176640000n);
  assert.equal(result.regs[0], 0xffff0000n);
});

Deno.test("the first example of docs/assembly.md computes fib(20)", () => {
  const doc = Deno.readTextFileSync(new URL("docs/assembly.md", ROOT));
  const source = doc.match(/```asm\n([\s\S]*?)```/)![1];
  const out = assembleDetailed(source);
  assert.deepEqual(out.warnings, []);
  const result = invokeProgram(Program.parse(out.bytes, { container: out.kind }), { gas: GAS });
  assert.equal(result.status, "halt");
  assert.equal(result.regs[7], 6765n);
});
