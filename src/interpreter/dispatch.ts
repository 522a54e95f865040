/**
 * The interpreter's dispatch loop: executes analysed instructions one at a time, by instruction
 * id, charging each block on entry. It runs whatever is not translated to JavaScript: traced
 * runs, the rest of a block after a host call or page fault, and blocks too long to translate.
 * @module
 */
import { dynamicJumpTarget, JUMP_HALTS } from "../program/dynamic_jump.ts";
import { Op } from "../program/isa/index.ts";
import { ADDRESS_SPACE_SIZE, type Exit } from "../pvm/mod.ts";
import { faultAt, haltAt, hostCallAt, outOfGasAt, panicAt } from "./exits.ts";
import { compareImm, compareRegs, load, store, threeRegs, unary, withImmediate } from "./ops.ts";
import type { MachineState } from "./state.ts";

/**
 * The dispatch loop: runs from instruction `start` with `budget` gas until an exit. With
 * `untilBlock`, it instead stops at the next block start after `start` that costs gas and
 * returns its instruction number (the budget, not yet charged for it, is left in the chunk
 * state). `hook`, when set, is called after every instruction with its pc.
 */
export function execute(
  s: MachineState,
  start: number,
  budget: number,
  untilBlock: boolean,
  hook: ((pc: number) => void) | undefined,
): Exit | number {
  const p = s.program;
  const { op, ra, rb, rd, x, y, target, entryCost, toEnd, jumpTargets } = p;
  const pcs = p.pc;
  const lo = s.lo, hi = s.hi;
  const mem = s.memory;
  const scratch = mem.scratch;
  let i = start;
  for (;;) {
    const cost = entryCost[i];
    if (cost !== 0) {
      if (untilBlock && i !== start) {
        s.chunk.budget = budget;
        return i;
      }
      if (cost > budget) {
        budget = s.refill(budget, cost);
        if (cost > budget) return outOfGasAt(s, i, budget);
      }
      budget -= cost;
      s.executed += toEnd[i];
    }
    const cur = i;
    // Cases are instruction ids (never opcode bytes: profiles map bytes to ids), spelled as
    // literals so V8 dispatches through a jump table; `satisfies typeof Op.<name>` has the
    // type checker prove each literal is the named instruction's id.
    switch (op[cur]) {
      case 0 satisfies typeof Op.trap:
        return panicAt(s, cur, budget);
      case 1 satisfies typeof Op.fallthrough:
      case 2 satisfies typeof Op.unlikely:
        i = cur + 1;
        break;
      case 10 satisfies typeof Op.ecalli:
        if (hook !== undefined) traceAt(s, hook, pcs[cur], budget);
        return hostCallAt(s, cur, budget);
      case 20 satisfies typeof Op.load_imm_64:
        lo[ra[cur]] = x[cur];
        hi[ra[cur]] = y[cur];
        i = cur + 1;
        break;
      case 30 satisfies typeof Op.store_imm_u8:
      case 31 satisfies typeof Op.store_imm_u16:
      case 32 satisfies typeof Op.store_imm_u32:
      case 33 satisfies typeof Op.store_imm_u64: {
        const v = y[cur];
        const f = store(mem, x[cur] >>> 0, op[cur] - Op.store_imm_u8, v, v >> 31);
        if (f >= 0) return faultAt(s, cur, budget, f);
        i = cur + 1;
        break;
      }
      case 40 satisfies typeof Op.jump: {
        const t = target[cur];
        if (t < 0) return panicAt(s, cur, budget);
        i = t;
        break;
      }
      case 50 satisfies typeof Op.jump_ind: {
        const t = dynamicJumpTarget(jumpTargets, (lo[ra[cur]] + x[cur]) >>> 0);
        if (t < 0) return t === JUMP_HALTS ? haltAt(s, cur, budget) : panicAt(s, cur, budget);
        i = t;
        break;
      }
      case 51 satisfies typeof Op.load_imm:
        lo[ra[cur]] = x[cur];
        hi[ra[cur]] = x[cur] >> 31;
        i = cur + 1;
        break;
      case 52 satisfies typeof Op.load_u8:
      case 53 satisfies typeof Op.load_i8:
      case 54 satisfies typeof Op.load_u16:
      case 55 satisfies typeof Op.load_i16:
      case 56 satisfies typeof Op.load_u32:
      case 57 satisfies typeof Op.load_i32:
      case 58 satisfies typeof Op.load_u64: {
        const f = load(mem, x[cur] >>> 0, op[cur] - Op.load_u8);
        if (f >= 0) return faultAt(s, cur, budget, f);
        lo[ra[cur]] = scratch[0];
        hi[ra[cur]] = scratch[1];
        i = cur + 1;
        break;
      }
      case 59 satisfies typeof Op.store_u8:
      case 60 satisfies typeof Op.store_u16:
      case 61 satisfies typeof Op.store_u32:
      case 62 satisfies typeof Op.store_u64: {
        const a = ra[cur];
        const f = store(mem, x[cur] >>> 0, op[cur] - Op.store_u8, lo[a], hi[a]);
        if (f >= 0) return faultAt(s, cur, budget, f);
        i = cur + 1;
        break;
      }
      case 70 satisfies typeof Op.store_imm_ind_u8:
      case 71 satisfies typeof Op.store_imm_ind_u16:
      case 72 satisfies typeof Op.store_imm_ind_u32:
      case 73 satisfies typeof Op.store_imm_ind_u64: {
        const v = y[cur];
        const address = (lo[ra[cur]] + x[cur]) >>> 0;
        const f = store(mem, address, op[cur] - Op.store_imm_ind_u8, v, v >> 31);
        if (f >= 0) return faultAt(s, cur, budget, f);
        i = cur + 1;
        break;
      }
      case 80 satisfies typeof Op.load_imm_jump: {
        lo[ra[cur]] = x[cur];
        hi[ra[cur]] = x[cur] >> 31;
        const t = target[cur];
        if (t < 0) return panicAt(s, cur, budget);
        i = t;
        break;
      }
      case 81 satisfies typeof Op.branch_eq_imm:
      case 82 satisfies typeof Op.branch_ne_imm:
      case 83 satisfies typeof Op.branch_lt_u_imm:
      case 84 satisfies typeof Op.branch_le_u_imm:
      case 85 satisfies typeof Op.branch_ge_u_imm:
      case 86 satisfies typeof Op.branch_gt_u_imm:
      case 87 satisfies typeof Op.branch_lt_s_imm:
      case 88 satisfies typeof Op.branch_le_s_imm:
      case 89 satisfies typeof Op.branch_ge_s_imm:
      case 90 satisfies typeof Op.branch_gt_s_imm: {
        const a = ra[cur];
        const v = x[cur];
        if (compareImm(op[cur], lo[a], hi[a], v, v >> 31)) {
          const t = target[cur];
          if (t < 0) return panicAt(s, cur, budget);
          i = t;
        } else {
          i = cur + 1;
        }
        break;
      }
      case 100 satisfies typeof Op.move_reg: {
        const a = ra[cur], d = rd[cur];
        lo[d] = lo[a];
        hi[d] = hi[a];
        i = cur + 1;
        break;
      }
      case 101 satisfies typeof Op.sbrk: {
        const a = ra[cur], d = rd[cur];
        const r = s.sbrk(lo[a], hi[a]);
        lo[d] = r | 0;
        hi[d] = r >= ADDRESS_SPACE_SIZE ? 1 : 0;
        i = cur + 1;
        break;
      }
      case 102 satisfies typeof Op.count_set_bits_64:
      case 103 satisfies typeof Op.count_set_bits_32:
      case 104 satisfies typeof Op.leading_zero_bits_64:
      case 105 satisfies typeof Op.leading_zero_bits_32:
      case 106 satisfies typeof Op.trailing_zero_bits_64:
      case 107 satisfies typeof Op.trailing_zero_bits_32:
      case 108 satisfies typeof Op.sign_extend_8:
      case 109 satisfies typeof Op.sign_extend_16:
      case 110 satisfies typeof Op.zero_extend_16:
      case 111 satisfies typeof Op.reverse_bytes:
        unary(op[cur], lo, hi, rd[cur], ra[cur]);
        i = cur + 1;
        break;
      case 120 satisfies typeof Op.store_ind_u8:
      case 121 satisfies typeof Op.store_ind_u16:
      case 122 satisfies typeof Op.store_ind_u32:
      case 123 satisfies typeof Op.store_ind_u64: {
        const a = ra[cur];
        const address = (lo[rb[cur]] + x[cur]) >>> 0;
        const f = store(mem, address, op[cur] - Op.store_ind_u8, lo[a], hi[a]);
        if (f >= 0) return faultAt(s, cur, budget, f);
        i = cur + 1;
        break;
      }
      case 124 satisfies typeof Op.load_ind_u8:
      case 125 satisfies typeof Op.load_ind_i8:
      case 126 satisfies typeof Op.load_ind_u16:
      case 127 satisfies typeof Op.load_ind_i16:
      case 128 satisfies typeof Op.load_ind_u32:
      case 129 satisfies typeof Op.load_ind_i32:
      case 130 satisfies typeof Op.load_ind_u64: {
        const address = (lo[rb[cur]] + x[cur]) >>> 0;
        const f = load(mem, address, op[cur] - Op.load_ind_u8);
        if (f >= 0) return faultAt(s, cur, budget, f);
        lo[ra[cur]] = scratch[0];
        hi[ra[cur]] = scratch[1];
        i = cur + 1;
        break;
      }
      case 131 satisfies typeof Op.add_imm_32: {
        const r = (lo[rb[cur]] + x[cur]) | 0;
        lo[ra[cur]] = r;
        hi[ra[cur]] = r >> 31;
        i = cur + 1;
        break;
      }
      case 132 satisfies typeof Op.and_imm: {
        const b = rb[cur], a = ra[cur], v = x[cur];
        lo[a] = lo[b] & v;
        hi[a] = hi[b] & (v >> 31);
        i = cur + 1;
        break;
      }
      case 133 satisfies typeof Op.xor_imm: {
        const b = rb[cur], a = ra[cur], v = x[cur];
        lo[a] = lo[b] ^ v;
        hi[a] = hi[b] ^ (v >> 31);
        i = cur + 1;
        break;
      }
      case 134 satisfies typeof Op.or_imm: {
        const b = rb[cur], a = ra[cur], v = x[cur];
        lo[a] = lo[b] | v;
        hi[a] = hi[b] | (v >> 31);
        i = cur + 1;
        break;
      }
      case 149 satisfies typeof Op.add_imm_64: {
        const b = rb[cur], a = ra[cur], v = x[cur];
        const bl = lo[b];
        const l = (bl + v) | 0;
        hi[a] = (hi[b] + (v >> 31) + ((l >>> 0) < (bl >>> 0) ? 1 : 0)) | 0;
        lo[a] = l;
        i = cur + 1;
        break;
      }
      case 135 satisfies typeof Op.mul_imm_32:
      case 136 satisfies typeof Op.set_lt_u_imm:
      case 137 satisfies typeof Op.set_lt_s_imm:
      case 138 satisfies typeof Op.shlo_l_imm_32:
      case 139 satisfies typeof Op.shlo_r_imm_32:
      case 140 satisfies typeof Op.shar_r_imm_32:
      case 141 satisfies typeof Op.neg_add_imm_32:
      case 142 satisfies typeof Op.set_gt_u_imm:
      case 143 satisfies typeof Op.set_gt_s_imm:
      case 144 satisfies typeof Op.shlo_l_imm_alt_32:
      case 145 satisfies typeof Op.shlo_r_imm_alt_32:
      case 146 satisfies typeof Op.shar_r_imm_alt_32:
      case 147 satisfies typeof Op.cmov_iz_imm:
      case 148 satisfies typeof Op.cmov_nz_imm:
      case 150 satisfies typeof Op.mul_imm_64:
      case 151 satisfies typeof Op.shlo_l_imm_64:
      case 152 satisfies typeof Op.shlo_r_imm_64:
      case 153 satisfies typeof Op.shar_r_imm_64:
      case 154 satisfies typeof Op.neg_add_imm_64:
      case 155 satisfies typeof Op.shlo_l_imm_alt_64:
      case 156 satisfies typeof Op.shlo_r_imm_alt_64:
      case 157 satisfies typeof Op.shar_r_imm_alt_64:
      case 158 satisfies typeof Op.rot_r_64_imm:
      case 159 satisfies typeof Op.rot_r_64_imm_alt:
      case 160 satisfies typeof Op.rot_r_32_imm:
      case 161 satisfies typeof Op.rot_r_32_imm_alt:
        withImmediate(op[cur], lo, hi, ra[cur], rb[cur], x[cur]);
        i = cur + 1;
        break;
      case 170 satisfies typeof Op.branch_eq:
      case 171 satisfies typeof Op.branch_ne:
      case 172 satisfies typeof Op.branch_lt_u:
      case 173 satisfies typeof Op.branch_lt_s:
      case 174 satisfies typeof Op.branch_ge_u:
      case 175 satisfies typeof Op.branch_ge_s: {
        const a = ra[cur], b = rb[cur];
        if (compareRegs(op[cur], lo[a], hi[a], lo[b], hi[b])) {
          const t = target[cur];
          if (t < 0) return panicAt(s, cur, budget);
          i = t;
        } else {
          i = cur + 1;
        }
        break;
      }
      case 180 satisfies typeof Op.load_imm_jump_ind: {
        const address = (lo[rb[cur]] + y[cur]) >>> 0;
        lo[ra[cur]] = x[cur];
        hi[ra[cur]] = x[cur] >> 31;
        const t = dynamicJumpTarget(jumpTargets, address);
        if (t < 0) return t === JUMP_HALTS ? haltAt(s, cur, budget) : panicAt(s, cur, budget);
        i = t;
        break;
      }
      case 190 satisfies typeof Op.add_32: {
        const r = (lo[ra[cur]] + lo[rb[cur]]) | 0;
        lo[rd[cur]] = r;
        hi[rd[cur]] = r >> 31;
        i = cur + 1;
        break;
      }
      case 200 satisfies typeof Op.add_64: {
        const a = ra[cur], b = rb[cur], d = rd[cur];
        const al = lo[a];
        const l = (al + lo[b]) | 0;
        hi[d] = (hi[a] + hi[b] + ((l >>> 0) < (al >>> 0) ? 1 : 0)) | 0;
        lo[d] = l;
        i = cur + 1;
        break;
      }
      case 201 satisfies typeof Op.sub_64: {
        const a = ra[cur], b = rb[cur], d = rd[cur];
        const al = lo[a], bl = lo[b];
        hi[d] = (hi[a] - hi[b] - ((al >>> 0) < (bl >>> 0) ? 1 : 0)) | 0;
        lo[d] = (al - bl) | 0;
        i = cur + 1;
        break;
      }
      case 210 satisfies typeof Op.and: {
        const a = ra[cur], b = rb[cur], d = rd[cur];
        lo[d] = lo[a] & lo[b];
        hi[d] = hi[a] & hi[b];
        i = cur + 1;
        break;
      }
      case 211 satisfies typeof Op.xor: {
        const a = ra[cur], b = rb[cur], d = rd[cur];
        lo[d] = lo[a] ^ lo[b];
        hi[d] = hi[a] ^ hi[b];
        i = cur + 1;
        break;
      }
      case 212 satisfies typeof Op.or: {
        const a = ra[cur], b = rb[cur], d = rd[cur];
        lo[d] = lo[a] | lo[b];
        hi[d] = hi[a] | hi[b];
        i = cur + 1;
        break;
      }
      case 191 satisfies typeof Op.sub_32:
      case 192 satisfies typeof Op.mul_32:
      case 193 satisfies typeof Op.div_u_32:
      case 194 satisfies typeof Op.div_s_32:
      case 195 satisfies typeof Op.rem_u_32:
      case 196 satisfies typeof Op.rem_s_32:
      case 197 satisfies typeof Op.shlo_l_32:
      case 198 satisfies typeof Op.shlo_r_32:
      case 199 satisfies typeof Op.shar_r_32:
      case 202 satisfies typeof Op.mul_64:
      case 203 satisfies typeof Op.div_u_64:
      case 204 satisfies typeof Op.div_s_64:
      case 205 satisfies typeof Op.rem_u_64:
      case 206 satisfies typeof Op.rem_s_64:
      case 207 satisfies typeof Op.shlo_l_64:
      case 208 satisfies typeof Op.shlo_r_64:
      case 209 satisfies typeof Op.shar_r_64:
      case 213 satisfies typeof Op.mul_upper_s_s:
      case 214 satisfies typeof Op.mul_upper_u_u:
      case 215 satisfies typeof Op.mul_upper_s_u:
      case 216 satisfies typeof Op.set_lt_u:
      case 217 satisfies typeof Op.set_lt_s:
      case 218 satisfies typeof Op.cmov_iz:
      case 219 satisfies typeof Op.cmov_nz:
      case 220 satisfies typeof Op.rot_l_64:
      case 221 satisfies typeof Op.rot_l_32:
      case 222 satisfies typeof Op.rot_r_64:
      case 223 satisfies typeof Op.rot_r_32:
      case 224 satisfies typeof Op.and_inv:
      case 225 satisfies typeof Op.or_inv:
      case 226 satisfies typeof Op.xnor:
      case 227 satisfies typeof Op.max:
      case 228 satisfies typeof Op.max_u:
      case 229 satisfies typeof Op.min:
      case 230 satisfies typeof Op.min_u:
        threeRegs(op[cur], lo, hi, rd[cur], ra[cur], rb[cur]);
        i = cur + 1;
        break;
      default:
        // Decoded ids are all handled above; anything else would be a decoder bug.
        return panicAt(s, cur, budget);
    }
    if (hook !== undefined) traceAt(s, hook, pcs[cur], budget);
  }
}

/** Calls the tracing hook with the loop's budget visible as gas. */
function traceAt(s: MachineState, hook: (pc: number) => void, pc: number, budget: number): void {
  s.tracedBudget = budget;
  try {
    hook(pc);
  } finally {
    s.tracedBudget = 0;
  }
}
