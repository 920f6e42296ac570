// Per-operation deadline and cancellation (issue #8 item 2). Each GraphQL operation gets one
// AbortSignal in its context (`GraphContext.signal`); resolvers hand it to the backend, the store
// checks it before every statement and cancels running ones on PostgreSQL (store/abort.ts).
// It is aborted
// - at `limits.requestTimeoutMs` after a query starts executing (subscriptions have no deadline:
//   they live as long as the client wants), with DEADLINE_EXCEEDED;
// - when the client goes away (HTTP connection closed, graphql-ws `complete` or socket closed).
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { CodedError } from '../../errors/index.ts';
import { codedError } from '../../resolvers/errors.ts';

export type AbortCode = 'DEADLINE_EXCEEDED' | 'CANCELLED';

/** The reason a request's signal was aborted. */
export class RequestAbortedError extends CodedError<AbortCode> {
  override name = 'RequestAbortedError';
}

/** One operation's cancellation: a signal, aborted by the deadline or by the client leaving. */
export class OperationDeadline {
  readonly #ctl = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  /** `gone`: aborted when the client disconnects. */
  constructor(gone?: AbortSignal) {
    if (gone?.aborted) this.cancel();
    else gone?.addEventListener('abort', () => this.cancel(), { once: true });
  }

  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  /** Starts the deadline (at execution, so time spent queued in the rate limiter does not count). */
  start(timeoutMs: number): void {
    if (this.#timer !== undefined || this.#ctl.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#ctl.abort(new RequestAbortedError('DEADLINE_EXCEEDED',
        `the operation ran longer than ${timeoutMs} ms and was cancelled. Ask for less (lower \`first\` or \`depth\`, fewer fields), or raise limits.requestTimeoutMs.`,
        { timeoutMs }));
    }, timeoutMs);
    this.#timer.unref();
  }

  /** The operation finished: no deadline any more. */
  stop(): void {
    clearTimeout(this.#timer);
  }

  cancel(): void {
    this.stop();
    if (!this.#ctl.signal.aborted) this.#ctl.abort(new RequestAbortedError('CANCELLED', 'the client went away; the operation was cancelled.'));
  }
}

/** Keeps a field error caused by the abort as a coded error (it would be masked as "Unexpected error."). */
function unmask(err: GraphQLError): GraphQLError {
  const original = err.originalError;
  if (!(original instanceof RequestAbortedError)) return err;
  const coded = codedError('DEADLINE_EXCEEDED', original.message, original.code === 'CANCELLED' ? { reason: 'cancelled' } : {});
  return new GraphQLError(coded.message, { nodes: err.nodes ?? null, path: err.path ?? null, extensions: coded.extensions });
}

/** Starts the context's deadline when a query executes, stops it when done, and codes abort errors. */
export function useDeadline(timeoutMs: number): Plugin<{ deadline?: OperationDeadline }> {
  return {
    onExecute({ args }) {
      const deadline = (args.contextValue as { deadline?: OperationDeadline }).deadline;
      deadline?.start(timeoutMs);
      return {
        onExecuteDone({ result, setResult }) {
          deadline?.stop();
          if (!('errors' in result) || !result.errors) return;
          // Once the deadline hit, every pending resolver fails the same way: report it once.
          const errors: GraphQLError[] = [];
          let aborted = false;
          for (const e of result.errors) {
            const isAbort = e.originalError instanceof RequestAbortedError;
            if (isAbort && aborted) continue;
            aborted ||= isAbort;
            errors.push(unmask(e));
          }
          setResult({ ...result, errors });
        },
      };
    },
  };
}
