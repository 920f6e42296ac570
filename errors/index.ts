// The one coded-error base of CodeGraph (issue #8). Like isomorphic-git's BaseError: a stable
// `code`, a plain `data` object, `toJSON()`/`fromJSON()` so an error survives a worker boundary
// (structured clone drops the prototype). Every module's errors extend `CodedError`; the CLI's exit
// codes and GraphQL's `extensions.code` are derived from `code` by the tables in `codes.ts`, never by
// matching strings at the call sites.

import type { ErrorCode } from './codes.ts';

export { CODES, ExitCode, exitCodeOf, graphqlCodeOf, isKnownCode } from './codes.ts';
export type { ErrorCode, ExitCodeValue, GraphQLCode } from './codes.ts';

export type ErrorData = Record<string, unknown>;

export interface CodedErrorJSON<C extends string = string, D extends ErrorData = ErrorData> {
  name: string;
  code: C;
  message: string;
  data: D;
}

/** `C` is bound to the codes of the table in codes.ts, so every code has an exit code and a GraphQL code. */
export class CodedError<C extends ErrorCode = ErrorCode, D extends ErrorData = ErrorData> extends Error {
  override name: string = 'CodedError';
  readonly code: C;
  readonly data: D;

  constructor(code: C, message: string, data?: D, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = data ?? ({} as D);
  }

  toJSON(): CodedErrorJSON<C, D> {
    return { name: this.name, code: this.code, message: this.message, data: this.data };
  }

  /** Rebuilds an error sent across a worker boundary (its subclass is not restored; `name` is). */
  static fromJSON(json: CodedErrorJSON): CodedError {
    const err = new CodedError(json.code as ErrorCode, json.message, json.data);
    err.name = json.name;
    return err;
  }

  /**
   * True when `err` is an instance of the class it is called on (`GitError.is(e, 'CLOSED')`,
   * `CodedError.is(e)` for any, including one rebuilt by fromJSON) whose code is `code` (any when omitted).
   */
  static is<T extends CodedError>(this: abstract new (...args: never[]) => T, err: unknown, code?: T['code']): err is T {
    return err instanceof this && (code === undefined || err.code === code);
  }
}
