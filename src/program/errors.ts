/** Raised for any malformed program: says where (byte offset) and why. */
export class ProgramError extends Error {
  /** Byte offset into the input where the problem was found. */
  readonly offset: number;
  /** What is wrong, in words a person understands. */
  readonly reason: string;

  /** Creates an error for `reason` found at byte `offset`. */
  constructor(offset: number, reason: string) {
    super(`${reason} (at byte offset ${offset})`);
    this.name = "ProgramError";
    this.offset = offset;
    this.reason = reason;
  }
}
