/**
 * TypeScript mirror of the sandbox ABI defined in `zygote/abi.zig`: constants, VmCtx states and
 * the VmCtx field layout. `verifyAbi` compares it with the description the library exports and
 * refuses to run on any difference.
 * @module
 */
import { LOWEST_FAULT_ADDRESS, PAGE_SIZE, SandboxError } from "../src/pvm/mod.ts";

/** ABI version this mirror describes. */
export const ABI_VERSION = 10;

/** Constants of `zygote/abi.zig`, by name. */
export const ABI = {
  ABI_VERSION: 10,
  VMCTX_MAGIC: 0x70766d62,
  PAGE_SIZE,
  GUEST_START: LOWEST_FAULT_ADDRESS,
  GUEST_END: 0xFFFF_0000,
  GUARD_GAP: 4 * 2 ** 30,
  CODE_ADDR: 0x2_0000_0000,
  CODE_MAX: 64 << 20,
  VMCTX_ADDR: 0x2_0400_0000,
  VMCTX_SIZE: 4096,
  JUMP_TABLE_ADDR: 0x3_0000_0000,
  JUMP_TABLE_MAX: 16 << 20,
  JUMP_TABLE_OFFSET: 64 << 20,
  CODE_FILE_SIZE: 80 << 20,
  IMAGE_ADDR: 0x4_0000_0000,
  STACK_ADDR: 0x6_0000_0000,
  STACK_SIZE: 256 << 10,
  SIGSTACK_ADDR: 0x6_1000_0000,
  SIGSTACK_SIZE: 16 << 10,
  STACK_HOT_SIZE: 8 << 10,
  REGIONS_END: 0x6_1000_4000,
  ADDRESS_SPACE_LIMIT: 4 * 2 ** 30 + (256 << 20),
  DATA_LIMIT: 2 << 20,
  XSTATE_IMAGE_SIZE: 4096,
  FD_VMCTX: 3,
  FD_MEMORY: 4,
  FD_CODE: 5,
  FD_IMAGE: 6,
  FD_LIFETIME: 7,
  FD_COUNT: 8,
  PROFILE_FULL: 0,
  PROFILE_WEAK: 1,
  STATE_DEAD: 0,
  CMD_RUN: 2,
  CMD_RESUME: 4,
  CMD_SYNC: 6,
  REPORT_IDLE: 1,
  REPORT_RETURN: 3,
  REPORT_HOST_CALL: 5,
  REPORT_TRAP: 7,
  REPORT_OUT_OF_GAS: 9,
  REPORT_PAGE_FAULT: 11,
  REPORT_SIGNAL: 13,
  REPORT_ERROR: 15,
  MEMOP_MAP: 1,
  MEMOP_UNMAP: 2,
  MEMOP_PROTECT: 3,
  MEMOP_MAP_IMAGE: 4,
  MEMOP_POPULATE: 5,
  MEMOP_ZERO: 6,
  MAX_MEMOPS: 32,
  MAX_KEPT: 16,
  ACCESS_NONE: 0,
  ACCESS_READ: 1,
  ACCESS_READ_WRITE: 3,
  GAS_REGISTER: 13,
  SCRATCH_REGISTER: 1,
  NO_CPU: 0xffff_ffff,
} as const;

/** List constants of `zygote/abi.zig`, by name. */
export const ABI_LISTS: Readonly<Record<string, readonly number[]>> = {
  /** x86 register number (rax = 0 … r15 = 15) holding PVM register i while guest code runs. */
  GUEST_REGISTERS: [3, 5, 6, 7, 8, 9, 10, 0, 2, 11, 12, 14, 15],
};

/** Size of the VmCtx struct in bytes. */
export const VMCTX_STRUCT_SIZE = 1296;

/** VmCtx fields: name → [offset, size] in bytes. Nested structs are flattened with dots. */
export const VMCTX_FIELDS: Readonly<Record<string, readonly [number, number]>> = {
  "state": [0, 4],
  "host_sleeping": [4, 4],
  "pc": [8, 4],
  "exit_arg": [12, 4],
  "gas": [16, 8],
  "regs": [24, 104],
  "zygote_sleeping": [128, 4],
  "magic": [132, 4],
  "abi_version": [136, 4],
  "config_flags": [140, 4],
  "fault_address": [144, 8],
  "native_address": [152, 8],
  "signal": [160, 4],
  "error_errno": [164, 4],
  "entry": [168, 8],
  "code_length": [176, 8],
  "code_generation": [184, 4],
  "reset_pending": [188, 4],
  "heap_top": [192, 4],
  "heap_limit": [196, 4],
  "jump_table_length": [200, 4],
  "memop_count": [204, 4],
  "memops": [208, 512],
  "trampolines.return_to_host": [720, 8],
  "trampolines.host_call": [728, 8],
  "trampolines.trap": [736, 8],
  "trampolines.out_of_gas": [744, 8],
  "facts.uid": [752, 4],
  "facts.gid": [756, 4],
  "facts.pid": [760, 4],
  "facts.no_new_privs": [764, 4],
  "facts.securebits": [768, 4],
  "facts.parent_death_signal": [772, 4],
  "facts.cap_effective": [776, 8],
  "facts.cap_permitted": [784, 8],
  "facts.cap_inheritable": [792, 8],
  "facts.cap_bounding": [800, 8],
  "facts.rlimit_nofile": [808, 8],
  "facts.rlimit_nproc": [816, 8],
  "facts.rlimit_fsize": [824, 8],
  "facts.rlimit_memlock": [832, 8],
  "facts.rlimit_core": [840, 8],
  "facts.rlimit_as": [848, 8],
  "facts.rlimit_data": [856, 8],
  "facts.speculation_store_bypass": [864, 4],
  "facts.speculation_errno": [868, 4],
  "facts.open_fds": [872, 8],
  "facts.root_entries": [880, 4],
  "facts.root_mkdir_errno": [884, 4],
  "counter_commands": [888, 8],
  "counter_host_calls": [896, 8],
  "message": [904, 256],
  "kept": [1160, 128],
  "host_cpu": [1288, 4],
  "zygote_cpu": [1292, 4],
};

/** Byte offset of VmCtx field `name` (a dotted path for nested fields, e.g. `trampolines.trap`). */
export function fieldOffset(name: string): number {
  return VMCTX_FIELDS[name][0];
}

/** Offset of a field within the `Facts` struct (the part `pvmbox_facts` copies out). */
export function factsOffset(name: string): number {
  return fieldOffset(`facts.${name}`) - fieldOffset("facts.uid");
}

/** Size of the `Facts` struct. */
export const FACTS_SIZE: number = VMCTX_FIELDS["counter_commands"][0] -
  VMCTX_FIELDS["facts.uid"][0];

/** The parsed form of the library's ABI description. */
export interface AbiDescription {
  /** Constants by name. */
  readonly constants: Map<string, bigint>;
  /** List constants by name. */
  readonly lists: Map<string, readonly number[]>;
  /** Fields by name: [offset, size]. */
  readonly fields: Map<string, readonly [number, number]>;
  /** Size of VmCtx. */
  readonly size: number;
}

/** Parses the text `pvmbox_abi_describe` returns. */
export function parseAbiDescription(text: string): AbiDescription {
  const constants = new Map<string, bigint>();
  const fields = new Map<string, readonly [number, number]>();
  const lists = new Map<string, readonly number[]>();
  let size = -1;
  for (const line of text.split("\n")) {
    const parts = line.trim().split(" ");
    if (parts[0] === "const" && parts.length === 3) constants.set(parts[1], BigInt(parts[2]));
    else if (parts[0] === "list" && parts.length >= 2) {
      lists.set(parts[1], parts.slice(2).map(Number));
    } else if (parts[0] === "field" && parts.length === 4) {
      fields.set(parts[1], [Number(parts[2]), Number(parts[3])]);
    } else if (parts[0] === "size" && parts.length === 3) size = Number(parts[2]);
  }
  return { constants, fields, lists, size };
}

/** Every difference between the mirror and a description, as readable lines. */
export function abiDifferences(description: AbiDescription): string[] {
  const differences: string[] = [];
  const mirror = new Map(Object.entries(ABI).map(([k, v]) => [k, BigInt(v)]));
  for (const name of new Set([...mirror.keys(), ...description.constants.keys()])) {
    const ours = mirror.get(name);
    const theirs = description.constants.get(name);
    if (ours !== theirs) differences.push(`constant ${name}: mirror ${ours}, library ${theirs}`);
  }
  for (const name of new Set([...Object.keys(ABI_LISTS), ...description.lists.keys()])) {
    const ours = ABI_LISTS[name]?.join(" ");
    const theirs = description.lists.get(name)?.join(" ");
    if (ours !== theirs) differences.push(`list ${name}: mirror ${ours}, library ${theirs}`);
  }
  const names = new Set([...Object.keys(VMCTX_FIELDS), ...description.fields.keys()]);
  for (const name of names) {
    const ours = VMCTX_FIELDS[name];
    const theirs = description.fields.get(name);
    if (ours?.[0] !== theirs?.[0] || ours?.[1] !== theirs?.[1]) {
      differences.push(`field ${name}: mirror ${ours?.join("+")}, library ${theirs?.join("+")}`);
    }
  }
  if (description.size !== VMCTX_STRUCT_SIZE) {
    differences.push(`VmCtx size: mirror ${VMCTX_STRUCT_SIZE}, library ${description.size}`);
  }
  return differences;
}

/** Throws a `SandboxError` ("native-library") unless the library's ABI equals the mirror. */
export function verifyAbi(version: number, descriptionText: string): void {
  const differences = version === ABI_VERSION
    ? abiDifferences(parseAbiDescription(descriptionText))
    : [`ABI version: mirror ${ABI_VERSION}, library ${version}`];
  if (differences.length > 0) {
    throw new SandboxError(
      "native-library",
      `the native sandbox library does not match this version of pvmbox (${
        differences.slice(0, 5).join("; ")
      }${differences.length > 5 ? "; …" : ""}); rebuild it with \`deno task build\``,
    );
  }
}
