/**
 * The error classes every layer raises: `SandboxError` for what a sandbox or backend cannot do,
 * `ProgramError` for a malformed program.
 * @module
 */
/** Why a sandbox operation failed. */
export type SandboxErrorKind =
  | "invalid-argument"
  | "unsupported"
  | "spawn-failed"
  | "namespaces-unavailable"
  | "zygote-died"
  | "zygote-killed"
  | "protocol-violation"
  | "timeout"
  | "memory-limit"
  | "disposed"
  | "native-library";

/** Raised when a sandbox cannot do what was asked; `kind` says which class of failure it is. */
export class SandboxError extends Error {
  /** The class of failure, for programmatic handling. */
  readonly kind: SandboxErrorKind;

  /** Creates an error of class `kind` with a message that says what to do. */
  constructor(kind: SandboxErrorKind, message: string) {
    super(message);
    this.name = "SandboxError";
    this.kind = kind;
  }
}
/** Raised for any malformed program: says where (byte offset) and why. */
export class ProgramError extends Error {
  /** Byte offset into the input where the problem was found. */
  readonly offset: number;
  /** What is wrong, in words a person understands. */
  readonly reason: string;
  /**
   * Set when the bytes ran out before the structure did: the absolute offset where the bytes
   * being read end. When it is the end of the whole input, the input was cut short.
   */
  readonly inputEnd?: number;

  /** Creates an error for `reason` found at byte `offset`; `inputEnd` when the bytes ran out. */
  constructor(offset: number, reason: string, inputEnd?: number) {
    super(`${reason} (at byte offset ${offset})`);
    this.name = "ProgramError";
    this.offset = offset;
    this.reason = reason;
    this.inputEnd = inputEnd;
  }
}
