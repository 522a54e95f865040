/** Why a sandbox operation failed. */
export type SandboxErrorCause =
  | "invalid-argument"
  | "unsupported"
  | "spawn-failed"
  | "namespaces-unavailable"
  | "zygote-died"
  | "zygote-killed"
  | "protocol-violation"
  | "timeout"
  | "disposed"
  | "native-library";

/** Raised when a sandbox cannot do what was asked; `cause` says which class of failure it is. */
export class SandboxError extends Error {
  /** The class of failure, for programmatic handling. */
  readonly kind: SandboxErrorCause;

  /** Creates an error of class `kind` with a message that says what to do. */
  constructor(kind: SandboxErrorCause, message: string) {
    super(message);
    this.name = "SandboxError";
    this.kind = kind;
  }
}
