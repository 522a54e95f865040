/**
 * The machine contract every layer of pvmbox builds on: machine constants, the exits and the
 * backend and guest-memory contracts, the JAM standard layout and the error classes. Nothing here
 * imports anything else of the project.
 * @module
 */
export {
  ADDRESS_SPACE_SIZE,
  GUEST_MEMORY_END,
  HALT_ADDRESS,
  LOWEST_FAULT_ADDRESS,
  MAX_MAPPED_PAGES,
  PAGE_SIZE,
  REGISTER_COUNT,
} from "./machine.ts";
export type { Backend, Exit, ExitKind, GuestMemory, PageAccess } from "./contract.ts";
export { ProgramError, SandboxError, type SandboxErrorKind } from "./errors.ts";
export { type GrowableMemory, sbrk, type SbrkResult } from "./heap.ts";
export {
  applyLayout,
  ARGS_START,
  MAX_ARGS_LENGTH,
  type MemoryRegion,
  pageAlign,
  type ProgramMemory,
  RO_DATA_START,
  rwDataStart,
  STACK_TOP,
  type StandardLayout,
  standardLayout,
  ZONE_SIZE,
  zoneAlign,
} from "./layout.ts";
