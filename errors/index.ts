// The one coded-error base of CodeGraph (issue #8). Like isomorphic-git's BaseError: a stable
// `code`, a plain `data` object, `toJSON()`/`fromJSON()` so an error survives a worker boundary
// (structured clone drops the prototype). Every module's errors extend `CodedError`; the CLI's exit
// codes and GraphQL's `extensions.code` are derived from `code` by the tables in `codes.ts`, never by
// matching strings at the call sites.

export type ErrorData = Record<string, unknown>;

export interface CodedErrorJSON {
  name: string;
  code: string;
  message: string;
  data: ErrorData;
}

export class CodedError<C extends string = string, D extends ErrorData = ErrorData> extends Error {
  override name = 'CodedError';
  readonly code: C;
  readonly data: D;

  constructor(code: C, message: string, data?: D, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = data ?? ({} as D);
  }

  toJSON(): CodedErrorJSON {
    return { name: this.name, code: this.code, message: this.message, data: this.data };
  }

  /** Rebuilds an error sent across a worker boundary (its subclass is not restored; `name` is). */
  static fromJSON(json: CodedErrorJSON): CodedError {
    const err = new CodedError(json.code, json.message, json.data);
    err.name = json.name;
    return err;
  }

  /** True for any CodedError (or one rebuilt by fromJSON) whose code is `code` (any code when omitted). */
  static is(err: unknown, code?: string): err is CodedError {
    return err instanceof CodedError && (code === undefined || err.code === code);
  }
}
