/**
 * Real programs on every engine against the reference, under the differential runner's
 * deterministic host-call stub: the JAM services of `../shared/real-programs/` from each entry
 * point (0, 5, 10) with several argument buffers and stub answers, and the NES emulator (a raw
 * blob, in jam-0.7 and in jam-0.8 numbering, each under its profile and gas model) from every
 * jump-table entry with a stack and a data area. Every exit must be identical.
 */
import assert from "node:assert/strict";
import { Program } from "../src/program/program.ts";
import { HALT_ADDRESS, STACK_TOP, standardLayout } from "../src/pvm/mod.ts";
import { type Engine, ENGINES, forEachEngine } from "./backends.ts";
import { runOnEngines, type Start } from "./differential/run.ts";
import { NEEDS_SHARED, realProgram } from "./fixtures.ts";

const SERVICES = [
  "test-service-0.1.25.service-code.bin",
  "jam-null-authorizer-0.1.25.service-code.bin",
];
const SERVICE_ENTRIES = [0, 5, 10];
const RUNS_PER_ENTRY = 8;
/** The emulator in each profile's numbering, with gas enough for its entries to return. */
const EMULATORS = [
  { file: "pinky.jam07.bin", isa: "jam-0.7", gas: 100_000n },
  { file: "pinky.jam08.bin", isa: "jam-0.8", gas: 1_000_000n },
] as const;

const [REFERENCE, ...OTHERS] = ENGINES;

/** Runs `start` on the reference and `engine`; returns the reference's exits, asserting agreement. */
function agree(engine: Engine, start: Start, seed: number, what: string): readonly string[] {
  const report = runOnEngines(start, [REFERENCE, engine], seed, { maxExits: 200 });
  assert.equal(
    report.mismatch?.difference.message,
    undefined,
    `${what}, exit ${report.mismatch?.exitNumber}`,
  );
  return report.exits;
}

forEachEngine("real services from every entry point: every exit agrees", (engine) => {
  let hostCalls = 0;
  for (const name of SERVICES) {
    const program = Program.parse(realProgram(name));
    for (const entry of SERVICE_ENTRIES) {
      for (let seed = 1; seed <= RUNS_PER_ENTRY; seed++) {
        const args = Uint8Array.from({ length: 8 * seed }, (_, i) => (i * 31 + seed) & 0xff);
        const layout = standardLayout(program.memory!, args);
        const start = {
          program,
          regions: layout.regions,
          registers: layout.registers,
          gas: 10_000_000n,
          pc: entry,
          heapTop: layout.heapTop,
        };
        const exits = agree(engine, start, seed, `${name} from pc ${entry}, seed ${seed}`);
        hostCalls += exits.filter((kind) => kind === "host-call").length;
      }
    }
  }
  assert.ok(hostCalls >= 100, `only ${hostCalls} host calls: the services barely ran`);
}, { engines: OTHERS, ignore: NEEDS_SHARED });

for (const { file, isa, gas } of EMULATORS) {
  forEachEngine(
    `the emulator (${isa}) from every jump-table entry: every exit agrees`,
    (engine) => {
      const program = Program.parse(realProgram(file), { container: "raw", isa });
      const endings = new Map<string, number>();
      for (const entry of program.blob.jumpTable) {
        const start = {
          program,
          regions: [
            {
              address: STACK_TOP - 0x10000,
              length: 0x10000,
              access: "read-write" as const,
              contents: new Uint8Array(0),
            },
            {
              address: 0x20000,
              length: 0x10000,
              access: "read-write" as const,
              contents: new Uint8Array(0),
            },
          ],
          // φ0 returns to the halt address, φ1 is the stack, arguments point into the data area.
          registers: [
            BigInt(HALT_ADDRESS),
            BigInt(STACK_TOP),
            0n,
            0n,
            0n,
            0n,
            0n,
            ...Array(6).fill(0x20100n),
          ],
          gas,
          pc: entry,
          heapTop: 0x40000,
        };
        const exits = agree(engine, start, entry, `${file} from pc ${entry}`);
        const last = exits.at(-1) ?? "none";
        endings.set(last, (endings.get(last) ?? 0) + 1);
      }
      assert.ok(
        (endings.get("halt") ?? 0) >= 20,
        `only ${endings.get("halt") ?? 0} entries returned`,
      );
    },
    { engines: OTHERS, ignore: NEEDS_SHARED },
  );
}
