// Cancellation and fairness for read queries (issue #8 item 2: one request froze every endpoint).
//
// A caller (the GraphQL server) hands the store an AbortSignal: aborted at the request's deadline or
// when the client goes away, with the reason to throw. The store stays backend-neutral:
// - `cancellable(db, signal)` is the Queryable the store's read paths use. It refuses to issue a
//   statement once the signal is aborted (all that can be done on PGlite, which runs in-process),
//   passes the signal to `db.query` (PostgreSQL then cancels the running statement server-side with
//   pg_cancel_backend), and turns the error of a cancelled statement into the signal's reason.
// - It also gives the event loop a turn (setImmediate) every YIELD_MS of back-to-back statements:
//   on PGlite a statement resolves without any I/O, so a walk of thousands of small queries would
//   otherwise run as one uninterrupted chain of microtasks and starve /healthz, websockets and timers.
// - `Checkpoint` does the same for long loops in JavaScript (call `tick()` once per iteration).
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { QueryResult, Queryable } from './db.ts';

/** Options of the store's read methods. */
export interface ReadOptions {
  /** Aborts the call: no further statement is issued, a running one is cancelled where the backend can. */
  signal?: AbortSignal | undefined;
}

/** The longest stretch of back-to-back work, in ms, before the event loop gets a turn. */
export const YIELD_MS = 10;

/** A Queryable whose `query` accepts an AbortSignal (the `Db`; a transaction's `tx` does not). */
export interface SignalQueryable extends Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], opts?: ReadOptions): Promise<QueryResult<T>>;
}

/** Checks the signal and yields to the event loop every YIELD_MS. One per call of a read method. */
export class Checkpoint {
  private last = performance.now();

  constructor(readonly signal: AbortSignal | undefined) {}

  async tick(): Promise<void> {
    this.signal?.throwIfAborted();
    if (performance.now() - this.last < YIELD_MS) return;
    await nextMacrotask();
    this.last = performance.now();
    this.signal?.throwIfAborted();
  }
}

/** `q` with every statement checked against `signal` (and the event loop given turns). Without a
 * signal it still yields, so an unbounded internal caller cannot monopolize the loop either. */
export function cancellable(q: SignalQueryable, signal: AbortSignal | undefined): Queryable & { checkpoint: Checkpoint } {
  const checkpoint = new Checkpoint(signal);
  return {
    checkpoint,
    async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      await checkpoint.tick();
      try {
        return await q.query<T>(sql, params, signal ? { signal } : {});
      } catch (err) {
        // A statement cancelled by the abort fails with the backend's own error (57014 on PostgreSQL).
        if (signal?.aborted) throw signal.reason;
        throw err;
      }
    },
  };
}
