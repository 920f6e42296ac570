// LISTEN/NOTIFY fan-out of indexing events across every instance on one database.
//
// The indexing instance sends small notifications (`codegraph_events`, ids only: PostgreSQL caps a
// payload at 8000 bytes, a diff can be megabytes); EVERY instance, the indexer included, listens and
// turns each notification into GraphQL events, loading the commit and its diff from the store. So an
// instance that does not index delivers the same events as the one that does, and the indexer has
// no second, in-process path that could deliver events twice.
import type { Logger } from 'pino';
import type { Db } from '../store/db.ts';
import type { ChangeKind, EntityChangedEvent, EntityRecord, GraphBackend } from '../resolvers/context.ts';
import type { InProcessEvents } from './server/pubsub.ts';

export const EVENTS_CHANNEL = 'codegraph_events';

export type Notice =
  | { k: 'commit'; repo: string; sha: string; ref: string }
  | { k: 'progress'; repo: string; phase: string; done: number; total: number };

/** Sends one notice (payloads are a few hundred bytes: names and shas only). */
export async function sendNotice(db: Db, notice: Notice): Promise<void> {
  await db.notify(EVENTS_CHANNEL, JSON.stringify(notice));
}

/** How often, at most, a repository's indexing progress is notified (the last of a run always is). */
const PROGRESS_INTERVAL_MS = 250;

/**
 * The `indexProgress` notices of one repository: one at most every PROGRESS_INTERVAL_MS, and the
 * last one of a run (done = total) always, sent one after another so they arrive in order. Sent
 * concurrently, one per commit, the notice "done" of a 3,688-commit backfill arrived before the
 * one before it, and the dashboard showed "3687 / 3688" for good.
 */
export class ProgressNotices {
  #chain: Promise<void> = Promise.resolve();
  #last = 0;

  constructor(private readonly db: Db, private readonly repo: string) {}

  report(phase: string, done: number, total: number): void {
    const now = Date.now();
    if (done < total && now - this.#last < PROGRESS_INTERVAL_MS) return;
    this.#last = now;
    const notice: Notice = { k: 'progress', repo: this.repo, phase, done, total };
    this.#chain = this.#chain.then(() => sendNotice(this.db, notice)).catch(() => undefined);
  }
}

export interface EventBridge {
  /** Resolves once every notice received so far has been published (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * LISTENs on the events channel and publishes into `events`. Notices are handled one at a time, in
 * arrival order, so subscribers see commits in the order they were indexed.
 */
export async function startEventBridge(db: Db, backend: GraphBackend, events: InProcessEvents, logger: Logger): Promise<EventBridge> {
  let chain: Promise<void> = Promise.resolve();
  const handle = async (notice: Notice): Promise<void> => {
    if (notice.k === 'progress') {
      events.publish('indexProgress', { repository: notice.repo, phase: notice.phase, done: notice.done, total: notice.total });
      return;
    }
    const [commit] = await backend.commitsBySha(notice.repo, [notice.sha]);
    if (!commit) {
      logger.warn({ notice }, 'notified commit is not in the store; event dropped');
      return;
    }
    const base = { repository: notice.repo, ref: notice.ref, sha: commit.sha };
    events.publish('commitIndexed', { ...base, parents: commit.parents });
    // The diff can be large (a 2,000-file commit): load it only when someone listens.
    if (events.subscribers('entityChanged', notice.repo) === 0) return;
    const d = await backend.diff(notice.repo, commit.parents[0] ?? null, commit.sha);
    const changes: EntityChangedEvent[] = [];
    const changed = (change: ChangeKind, entity: EntityRecord, before: EntityRecord | null, signatureChanged = false, visibilityChanged = false) =>
      changes.push({ ...base, parentSha: d.from, change, entity, before, signatureChanged, visibilityChanged });
    for (const e of d.added) changed('added', e, null);
    for (const e of d.removed) changed('removed', e, e);
    for (const m of d.modified) changed('modified', m.after, m.before, m.signatureChanged, m.visibilityChanged);
    for (const m of d.renamed) changed('renamed', m.after, m.before);
    for (const m of d.moved) changed('moved', m.after, m.before);
    // One unit per commit: each subscriber gets all of the commit's changes its filter keeps, or a
    // SUBSCRIPTION_LAGGED error (daemon/server/pubsub.ts).
    events.publishCommit('entityChanged', notice.repo, changes);
  };
  const unlisten = await db.listen(EVENTS_CHANNEL, (payload) => {
    let notice: Notice;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch (err) {
      logger.warn({ err, payload }, 'malformed notification ignored');
      return;
    }
    chain = chain.then(() => handle(notice)).catch((err: unknown) => logger.error({ err, notice }, 'publishing an event failed'));
  });
  return {
    idle: () => chain,
    async close() {
      await unlisten().catch(() => undefined);
      await chain;
    },
  };
}
