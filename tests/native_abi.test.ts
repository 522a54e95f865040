import assert from "node:assert/strict";
import { describeAbi, nativeLibrary } from "../ffi/library.ts";
import {
  ABI,
  ABI_LISTS,
  ABI_VERSION,
  abiDifferences,
  parseAbiDescription,
  verifyAbi,
  VMCTX_FIELDS,
  VMCTX_STRUCT_SIZE,
} from "../ffi/vmctx.ts";
import { GUEST_MEMORY_END, LOWEST_FAULT_ADDRESS, SandboxError } from "../src/pvm/mod.ts";

const library = nativeLibrary();
const description = parseAbiDescription(describeAbi(library));

Deno.test("ABI: the library reports the mirrored version and VmCtx size", () => {
  assert.equal(library.symbols.pvmbox_abi_version(), ABI_VERSION);
  assert.equal(description.size, VMCTX_STRUCT_SIZE);
  assert.ok(description.size <= ABI.VMCTX_SIZE);
});

Deno.test("ABI: every VmCtx field has the mirrored offset and size", () => {
  assert.equal(description.fields.size, Object.keys(VMCTX_FIELDS).length);
  for (const [name, [offset, size]] of Object.entries(VMCTX_FIELDS)) {
    assert.deepEqual(description.fields.get(name), [offset, size], name);
  }
});

Deno.test("ABI: every constant has the mirrored value", () => {
  assert.equal(description.constants.size, Object.keys(ABI).length);
  for (const [name, value] of Object.entries(ABI)) {
    assert.equal(description.constants.get(name), BigInt(value), name);
  }
  assert.deepEqual(abiDifferences(description), []);
});

Deno.test("ABI: the zygote's guest memory is the machine's mappable range", () => {
  assert.equal(ABI.GUEST_START, LOWEST_FAULT_ADDRESS);
  assert.equal(ABI.GUEST_END, GUEST_MEMORY_END);
});

Deno.test("ABI: the guest register order is the library's", () => {
  assert.deepEqual(Object.fromEntries(description.lists), ABI_LISTS);
  const text = describeAbi(library).replace(/list GUEST_REGISTERS 3 5/, "list GUEST_REGISTERS 5 3");
  assert.match(abiDifferences(parseAbiDescription(text)).join(), /list GUEST_REGISTERS/);
});

Deno.test("ABI: a mismatch is refused with a message naming it", () => {
  const text = describeAbi(library).replace("field pc 8 4", "field pc 12 4");
  assert.deepEqual(abiDifferences(parseAbiDescription(text)), [
    "field pc: mirror 8+4, library 12+4",
  ]);
  assert.throws(
    () => verifyAbi(ABI_VERSION, text),
    (e) => e instanceof SandboxError && /field pc/.test(e.message),
  );
  assert.throws(() => verifyAbi(ABI_VERSION + 1, describeAbi(library)), /ABI version/);
});

Deno.test("ABI: the zygote image is embedded in the single library", () => {
  const size = Number(library.symbols.pvmbox_zygote_image_size());
  assert.ok(size > 1000 && size < 64 * 1024, `zygote image ${size} bytes`);
});
