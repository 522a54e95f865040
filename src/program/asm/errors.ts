/**
 * The error the assembler raises for bad source text.
 * @module
 */

/** A problem in assembly source, located by 1-based line and column. */
export class AssemblyError extends Error {
  /** 1-based line of the problem. */
  readonly line: number;
  /** 1-based column of the problem. */
  readonly column: number;
  /** What is wrong, without the location. */
  readonly reason: string;

  /** Creates an error for `reason` at `line`:`column`. */
  constructor(line: number, column: number, reason: string) {
    super(`${line}:${column}: ${reason}`);
    this.name = "AssemblyError";
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

/** A place in the source text. */
export interface SourcePosition {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** Creates an `AssemblyError` at `pos`. */
export function errorAt(pos: SourcePosition, reason: string): AssemblyError {
  return new AssemblyError(pos.line, pos.column, reason);
}
