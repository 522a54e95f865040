/**
 * The `jam-0.8` profile: Gray Paper 0.8.0 (PolkaVM's JamV1) opcode numbering — `unlikely` is 2,
 * `sbrk` is gone and the ten two-register instructions after it move down by one — and the
 * pipeline gas model.
 * @module
 */
import { explainBlock, pipelineBlockCost } from "./pipeline_gas.ts";
import { INSTRUCTIONS, Op } from "./instructions.ts";
import { defineProfile, type GasModel, type IsaProfile } from "./profile.ts";

/** Gas per basic block from the 0.8 pipeline model. */
const PIPELINE_GAS: GasModel = Object.freeze({
  blockCost: pipelineBlockCost,
  explain: explainBlock,
});

/** The 0.8 opcode byte of an instruction id (ids are the 0.7 opcodes); undefined for `sbrk`. */
function opcodeOf(id: number): number | undefined {
  if (id === Op.sbrk) return undefined;
  return id > Op.sbrk && id <= Op.reverse_bytes ? id - 1 : id;
}

/** Gray Paper 0.8.0 numbering with the pipeline gas model. */
export const JAM_0_8: IsaProfile = defineProfile(
  "jam-0.8",
  INSTRUCTIONS.flatMap((i) => {
    const byte = opcodeOf(i.id);
    return byte === undefined ? [] : [[byte, i.id] as const];
  }),
  PIPELINE_GAS,
  {
    midBlockStart: "enclosing-block",
    validation: "whole-blob",
    polkavmIsa: "JamV1",
    hasSbrk: false,
  },
);
