// `codegraph serve` wired together: store + event bridge + GraphQL server + per-repository indexing.
//
// Several instances may share one PostgreSQL. Per repository, the instance holding the advisory
// lock (taken on a dedicated connection, so it dies with that connection) indexes; the others only
// serve, and retry the lock every `lockRetryMs`, so a standby takes over when the indexer dies.
// Every instance delivers every event through LISTEN/NOTIFY (daemon/events.ts).
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { describeTarget, type Db } from '../store/db.ts';
import { HttpEmbedder, OnnxEmbedder, StoreError, verifyStore, type Embedder, type HistoryStore, type HotStore, type RefMove } from '../store/index.ts';
import { StoreBackend, type BackendRepo } from './backend.ts';
import { sizeBytes } from './cli.ts';
import { authConfigured, type Config } from './config.ts';
import { removeServeInfo, writeServeInfo } from './discovery.ts';
import { ProgressNotices, sendNotice, startEventBridge, type EventBridge } from './events.ts';
import { backfillPlan, branchesPlan, indexCommit, indexHistory, openHistoryStore, refreshFiles, storeBackfill, type HistoryContext, type HistoryProgress } from './history.ts';
import { startServer, type RunningServer } from './server/index.ts';
import { embeddingProgress, commitsIndexed, filesIndexed, filesSkipped, gitFetchFailures, indexLagSeconds, parseErrors, queueDepth } from './server/metrics.ts';
import { InProcessEvents } from './server/pubsub.ts';
import { FetchError, RefWatcher, type RefChange } from './watch.ts';
import { CodedError } from '../errors/index.ts';

/** Advisory lock class id: 'cgix'. The object id is the repository's store id. */
const LOCK_CLASS = 0x63676978;

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  /** How often a standby retries the indexing lock. @default 2_000 */
  lockRetryMs?: number;
  /** First retry delay after a failed indexing run (doubles to 10 s). @default 250 */
  retryBaseMs?: number;
  /** Called once every repository finished its initial index (or is served by another instance). */
  onInitialIndexDone?: () => void;
  /** The event fan-out to publish into (a caller that must subscribe before the first event, such
   * as the outbox test). @default a new InProcessEvents */
  events?: InProcessEvents;
}

export interface Service {
  server: RunningServer;
  db: Db;
  store: HistoryStore;
  events: InProcessEvents;
  bridge: EventBridge;
  /** Store reachable and initial index done (what /readyz answers). */
  ready(): Promise<boolean>;
  /** Names of the repositories this instance indexes now. */
  indexing(): string[];
  /** Resolves once the indexing queues are empty (tests). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

class Closing extends CodedError<'CLOSING'> {
  constructor(message: string) {
    super('CLOSING', message);
  }
}

/** How far a repository's first index got: the commits it stored of those it will store. */
interface FirstIndexProgress { done: number; total: number }

/**
 * A commit asked for while its repository's first index runs: answered at once (UNAVAILABLE in
 * GraphQL) with how far the index got, instead of waiting behind the whole first index and failing
 * at the request's deadline with advice to ask for less (a query on a fresh `serve` of a 6k-commit
 * repository did).
 */
class FirstIndexRunning extends CodedError<'FIRST_INDEX_RUNNING', { repository: string; sha: string }> {
  constructor(repository: string, sha: string, progress: FirstIndexProgress | null) {
    const where = progress === null || progress.total === 0 ? 'starting' : `${progress.done} of ${progress.total} commits stored`;
    super('FIRST_INDEX_RUNNING',
      `commit ${sha} of repository '${repository}' is not indexed yet: the repository's first index is running (${where}). Ask again once it is done: GET /readyz answers ready, and the indexProgress subscription reports phase "initial" at its total.`,
      { repository, sha });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** A stored commit in the indexing metrics. */
function countCommit(repository: string, p: HistoryProgress): void {
  commitsIndexed.inc({ repository });
  for (const [language, n] of Object.entries(p.parsedByLanguage)) filesIndexed.inc({ repository, language }, n);
  for (const [language, n] of Object.entries(p.syntaxErrorFiles)) parseErrors.inc({ language }, n);
  for (const [reason, n] of Object.entries(p.skipped)) filesSkipped.inc({ reason }, n);
}

/** Commits the history backfill stores per turn (a few seconds): a ref move waits at most that. */
const BACKFILL_CHUNK = 256;
/** Files the background pass after an upgrade extracts again per turn (refreshHistory). */
const REFRESH_CHUNK = 512;

/** One repository: lock, initial index, watch, serial queue. */
class RepoRunner {
  leader = false;
  initialDone = false;
  /** While the first index runs, how far it got (FirstIndexRunning); null otherwise. */
  private firstIndex: FirstIndexProgress | null = null;
  private lockClient: pg.Client | null = null;
  private lockTimer: NodeJS.Timeout | null = null;
  private watcher: RefWatcher | null = null;
  private dirty = false;
  private pending: RefChange[] = [];
  private firstPendingAt = 0;
  private worker: Promise<void> | null = null;
  private readonly progress: ProgressNotices;
  /** The first-parent history filled in behind the initial index (runBackfill). */
  private backfilling: Promise<void> | null = null;
  private closing = false;
  /** One writer per repository: indexing runs and on-demand commits take turns on this chain. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    readonly r: BackendRepo & { remote?: string | undefined },
    private readonly svc: { db: Db; store: HistoryStore; indexer: () => Indexer; config: Config; logger: Logger; databaseUrl: string | undefined; lockRetryMs: number; retryBaseMs: number; syncAnn: (repoId: number) => Promise<void> },
  ) {
    this.progress = new ProgressNotices(svc.db, r.name);
  }

  async start(): Promise<void> {
    await this.tryLead();
    if (!this.leader) {
      this.svc.logger.info({ repo: this.r.name }, 'another instance indexes this repository; serving only (standby)');
      this.lockTimer = setInterval(() => void this.tryLead().catch((err: unknown) => this.svc.logger.warn({ err }, 'lock retry failed')), this.svc.lockRetryMs);
      this.lockTimer.unref();
    }
  }

  /** Takes the indexing lock if free; on success runs the initial index and starts watching. */
  private async tryLead(): Promise<void> {
    if (this.leader || this.closing) return;
    if (this.svc.databaseUrl !== undefined) {
      const client = new pg.Client({ connectionString: this.svc.databaseUrl });
      client.on('error', (err) => this.lostLock(err));
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_CLASS, this.r.repoId]);
      if (!rows[0]?.ok || this.closing) {
        await client.end().catch(() => undefined);
        return;
      }
      this.lockClient = client;
    }
    // PGlite: the data-dir lock already makes this the only instance.
    this.leader = true;
    if (this.lockTimer) clearInterval(this.lockTimer);
    this.lockTimer = null;
    this.svc.logger.info({ repo: this.r.name }, 'indexing this repository');
    this.watcher = new RefWatcher({
      repos: [{ name: this.r.name, path: this.r.repo.path, remote: this.r.remote }],
      pollIntervalMs: this.svc.config.pollIntervalMs,
      onChange: (e) => this.enqueue(e.changes),
      onError: (err) => {
        if (err instanceof FetchError) {
          gitFetchFailures.inc({ repository: this.r.name });
          this.svc.logger.error({ err, repo: this.r.name, remote: err.remote }, 'git fetch failed');
        } else {
          this.svc.logger.warn({ err, repo: this.r.name }, 'ref watch failed');
        }
      },
    });
    await this.watcher.start();
    // The initial index is the first queue item: ref moves during it coalesce into the next run.
    this.dirty = true;
    this.kick();
  }

  private lostLock(err: unknown): void {
    this.svc.logger.error({ err, repo: this.r.name }, 'lost the indexing lock connection; stepping down');
    this.leader = false;
    this.watcher?.close();
    this.watcher = null;
    this.lockClient = null;
    if (!this.closing && this.lockTimer === null) {
      this.lockTimer = setInterval(() => void this.tryLead().catch(() => undefined), this.svc.lockRetryMs);
      this.lockTimer.unref();
    }
  }

  fetchAndCheck(): Promise<void> {
    return this.watcher?.fetchAndCheck([this.r.name]) ?? Promise.resolve();
  }

  enqueue(changes: RefChange[]): void {
    if (this.pending.length === 0) this.firstPendingAt = Date.now();
    this.pending.push(...changes);
    this.dirty = true;
    queueDepth.set({ repository: this.r.name }, this.pending.length);
    this.kick();
  }

  private kick(): void {
    if (this.worker || this.closing) return;
    this.worker = (async () => {
      let attempt = 0;
      while (this.dirty && !this.closing && this.leader) {
        this.dirty = false;
        const changes = this.pending.splice(0);
        const since = this.firstPendingAt;
        queueDepth.set({ repository: this.r.name }, 0);
        try {
          await this.runOnce(changes, since);
          attempt = 0;
        } catch (err) {
          if (err instanceof Closing) break;
          // Each commit is one transaction and indexHistory resumes from the store: retry is safe.
          const delay = Math.min(10_000, this.svc.retryBaseMs * 2 ** attempt++);
          this.svc.logger.error({ err, repo: this.r.name, retryInMs: delay }, 'indexing failed; retrying');
          this.pending.unshift(...changes);
          this.dirty = true;
          await sleep(delay);
        }
      }
      this.worker = null;
    })();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /**
   * Stores one commit outside the indexed window for a query (as `codegraph diff` does: against its
   * first parent when stored, else as a base), after the indexing run in progress. A query whose
   * signal aborts while it waits is not indexed; one already being stored completes (one
   * transaction), so asking again finds it.
   */
  indexOnDemand(sha: string, signal?: AbortSignal): Promise<void> {
    if (!this.leader || this.closing) {
      return Promise.reject(new StoreError('COMMIT_NOT_INDEXED', `commit ${sha} of repository '${this.r.name}' exists but is not indexed, and this instance is a standby (another instance indexes the repository); ask again once it is indexed, or ask the indexing instance.`, { sha }));
    }
    if (this.firstIndex !== null) return Promise.reject(new FirstIndexRunning(this.r.name, sha, this.firstIndex));
    const job = this.exclusive(async () => {
      signal?.throwIfAborted();
      await indexCommit({ repo: this.r.repo, store: this.svc.store, indexer: this.svc.indexer(), repoId: this.r.repoId }, sha);
      this.svc.logger.info({ repo: this.r.name, sha }, 'indexed a commit on demand');
    });
    if (!signal) return job;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      job.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Indexes what is new, records refs, and notifies one event per new commit. */
  private runOnce(changes: RefChange[], since: number): Promise<void> {
    return this.exclusive(async () => {
      if (!this.initialDone) this.firstIndex = { done: 0, total: 0 };
      try {
        await this.indexRun(changes, since);
      } finally {
        this.firstIndex = null;
      }
    });
  }

  private async indexRun(changes: RefChange[], since: number): Promise<void> {
    const { store, logger } = this.svc;
    const initial = !this.initialDone;
    const phase = initial ? 'initial' : 'incremental';
    // Commits a previous process stored but did not announce (kill -9) go out before the catch-up.
    if (initial) await this.announce(changes);
    // A repository's first index stores HEAD's window alone, so the daemon is ready in seconds on a
    // clone of many branches (zod's 137 remote branches: 3,942 commits, ~176 s); the other
    // branches' windows follow in the background (runBackfill), unannounced. Every later run,
    // the catch-up of a restart included, indexes HEAD and the refs that moved.
    const first = initial && !(await store.announcing(this.r.repoId));
    // A first index takes minutes: say how far it got every 10 s, not only when it is done.
    let lastLog = Date.now();
    const result = await indexHistory({
      repo: this.r.repo, store, indexer: this.svc.indexer(), repoId: this.r.repoId, history: this.svc.config.history,
      ...(first ? { refs: [] } : { refs: changes.map((c) => c.ref), moved: true }),
      // At start, the tips' files an older build extracted are extracted again (an upgrade).
      ...(initial ? { refreshTips: this.svc.config.hotTips } : {}),
      onProgress: (p) => {
        if (Date.now() - lastLog >= 10_000 && p.done < p.total) {
          lastLog = Date.now();
          logger.info({ repo: this.r.name, phase, done: p.done, total: p.total }, 'indexing');
        }
        countCommit(this.r.name, p);
        if (initial) this.firstIndex = { done: p.done, total: p.total };
        this.progress.report(phase, p.done, p.total);
        // Stop between commits (each is its own transaction) when shutting down.
        if (this.closing) throw new Closing('shutting down');
      },
    });
    if (result.refreshed > 0) logger.info({ repo: this.r.name, files: result.refreshed }, 'files at the tips extracted again by this version\'s rules (the store was written by an older one)');
    for (const m of result.refMoves) if (m.forced) logger.warn({ repo: this.r.name, ref: m.name, old: m.oldSha, new: m.newSha }, 'force push: ref moved to a commit that does not contain its old one');
    logRefMoves(logger, this.r.name, result.refMoves);
    // The ANN index of the ref tips (store/ann) follows the refs just recorded, in the background
    // (it queues its own updates and never throws).
    void this.svc.syncAnn(this.r.repoId);
    // A first index announces nothing (it would flood dashboards with history): the store queues
    // commits in its outbox only once the repository's first index is complete. A catch-up (a
    // restart, or a standby taking over the lock) announces what arrived meanwhile.
    if (initial) await store.startAnnouncing(this.r.repoId);
    await this.announce(changes);
    if (since > 0 && changes.length > 0) indexLagSeconds.set({ repository: this.r.name }, (Date.now() - since) / 1000);
    // Not awaited: a tip's first build resolves the whole tree (minutes on a large repository) and
    // must not hold back readiness or the next indexing run. Meanwhile the history store answers at
    // the tips the hot store does not hold; HotStore runs its syncs one at a time, and its close()
    // waits for the one in flight.
    void this.syncHot();
    if (initial) {
      this.initialDone = true;
      logger.info({ repo: this.r.name, indexed: result.indexed.length, alreadyIndexed: result.alreadyIndexed }, 'initial index done');
      this.backfilling ??= this.runBackfill();
    }
  }

  /** Fills in, behind the initial index, the windows of the branches other than HEAD's
   * (branchesPlan), then the first-parent history of HEAD down to `backfill` commits
   * (backfillPlan), both planned once, BACKFILL_CHUNK commits per turn: ref moves and on-demand
   * commits queued meanwhile go between two turns. Resumes where it stopped at the next start; a
   * failure is logged and ends it until then. */
  private async runBackfill(): Promise<void> {
    const { store, logger, config } = this.svc;
    const ctx = { repo: this.r.repo, store, indexer: this.svc.indexer(), repoId: this.r.repoId };
    let done = 0;
    let lastLog = Date.now();
    const started = Date.now();
    try {
      const branches = await this.exclusive(() => branchesPlan(ctx, config.history));
      const planned = new Set(branches);
      const history = config.backfill === 0 ? [] : (await this.exclusive(() => backfillPlan(ctx, config.backfill))).filter((sha) => !planned.has(sha));
      const total = branches.length + history.length;
      const turns = async (plan: string[]): Promise<boolean> => {
        let next = 0;
        for (; next < plan.length && !this.closing && this.leader; next += BACKFILL_CHUNK) {
          await this.exclusive(() => storeBackfill(ctx, plan.slice(next, next + BACKFILL_CHUNK), (p) => {
            done++;
            countCommit(this.r.name, p);
            this.progress.report('backfill', done, total);
            if (Date.now() - lastLog >= 10_000) {
              lastLog = Date.now();
              logger.info({ repo: this.r.name, phase: 'backfill', done, total }, 'indexing');
            }
            if (this.closing) throw new Closing('shutting down');
          }));
        }
        return next >= plan.length;
      };
      if (!await turns(branches)) return;
      if (branches.length > 0) {
        logger.info({ repo: this.r.name, indexed: branches.length, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'other branches indexed');
        // Their tips are stored now: the hot store and the ANN index take them.
        void this.syncHot();
        void this.svc.syncAnn(this.r.repoId);
      }
      const complete = await turns(history);
      if (complete && done > 0) {
        // Commits stored meanwhile by other means (on demand) are not counted: say it ended.
        if (done < total) this.progress.report('backfill', done, done);
        logger.info({ repo: this.r.name, indexed: done, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'history backfill done');
      }
      if (complete) await this.refreshHistory(ctx);
    } catch (err) {
      if (err instanceof Closing) return;
      logger.error({ err, repo: this.r.name, indexed: done }, 'history backfill failed; it goes on at the next start');
    }
  }

  /** After an upgrade, behind the backfill: the blobs of the stored history that an older extractor
   * version extracted are extracted again (HistoryStore.staleStored; the tips' were at start),
   * REFRESH_CHUNK files per turn, so a diff or a graph at any commit reads one set of rules. Its
   * progress is reported with phase `upgrade`. A stop leaves the rest for the next start. */
  private async refreshHistory(ctx: HistoryContext & { repoId: number }): Promise<void> {
    const { logger } = this.svc;
    const plan = await this.exclusive(() => ctx.store.staleStored(ctx.repoId));
    if (plan.length === 0) return;
    logger.info({ repo: this.r.name, files: plan.length }, 'stored history extracted by an older version: extracting it again in the background');
    const started = Date.now();
    let lastLog = started;
    let done = 0;
    let stored = 0;
    for (; done < plan.length && !this.closing && this.leader; done = Math.min(plan.length, done + REFRESH_CHUNK)) {
      const chunk = plan.slice(done, done + REFRESH_CHUNK);
      stored += await this.exclusive(() => refreshFiles(ctx, chunk, false));
      this.progress.report('upgrade', Math.min(plan.length, done + REFRESH_CHUNK), plan.length);
      if (Date.now() - lastLog >= 10_000) {
        lastLog = Date.now();
        logger.info({ repo: this.r.name, phase: 'upgrade', done: done + chunk.length, total: plan.length }, 'indexing');
      }
    }
    if (done >= plan.length) logger.info({ repo: this.r.name, files: stored, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'stored history extracted again by this version\'s rules');
  }

  /** Brings the hot store (store/hot) to the refs just recorded. It is a cache: a failure is
   * logged, and queries at the tips it does not hold are answered by the history store. */
  private async syncHot(): Promise<void> {
    const { store, logger } = this.svc;
    if (!store.hot) return;
    try {
      for (const st of await store.hot.sync(this.r.repoId, await store.hotRefs(this.r.repoId, this.svc.config.hotTips))) {
        logger.info({ repo: this.r.name, sha: st.sha, how: st.how, changedFiles: st.changedFiles, resolvedFiles: st.resolvedFiles, ms: Math.round(st.ms), phases: Object.fromEntries(Object.entries(st.phases).map(([k, v]) => [k, Math.round(v)])) }, 'hot store tip ready');
      }
    } catch (err) {
      // Stopping during a build stops the build (store/hot close()): not a failure.
      if (CodedError.is(err, 'HOT_CLOSED')) logger.info({ repo: this.r.name }, 'hot store build stopped by shutdown');
      else logger.warn({ err, repo: this.r.name }, 'hot store update failed; the history store answers at the tips');
    }
  }

  /** Drains the store's outbox: each notice is sent, then its row deleted, so a crash in between
   * sends it again (at least once) and a failed send is retried by the next run. */
  private async announce(changes: RefChange[]): Promise<void> {
    const { store, db } = this.svc;
    const shas = await store.unannounced(this.r.repoId);
    if (shas.length === 0) return;
    const refOf = await this.attribute(shas, changes);
    for (const sha of shas) {
      await sendNotice(db, { k: 'commit', repo: this.r.name, sha, ref: refOf.get(sha) ?? 'HEAD' });
      await store.markAnnounced(this.r.repoId, sha);
    }
  }

  /** Which moved ref brought each new commit (the first branch, by name, that reaches it). */
  private async attribute(shas: string[], changes: RefChange[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const wanted = new Set(shas);
    // `HEAD` and a remote's `refs/remotes/<remote>/HEAD` are symbolic: name the branch they point at.
    const moved = changes.filter((c) => c.newSha !== null && c.ref !== 'HEAD' && !c.ref.endsWith('/HEAD')).sort((a, b) => (a.ref.startsWith('refs/heads/') ? 0 : 1) - (b.ref.startsWith('refs/heads/') ? 0 : 1) || a.ref.localeCompare(b.ref));
    for (const c of moved) {
      const reach = await this.r.repo.revList({ tips: [c.newSha!], ...(c.oldSha ? { exclude: [c.oldSha] } : {}), maxCount: shas.length + 1000 }).catch(() => [] as string[]);
      for (const s of reach) if (wanted.has(s) && !out.has(s)) out.set(s, c.ref);
    }
    if (out.size < wanted.size) {
      // The watcher can report a commit's HEAD move before the branch move (two snapshots): name
      // the branch HEAD points at, then any other branch that reaches the commit, never bare 'HEAD'.
      const head = await this.r.repo.head().catch(() => ({ ref: null, sha: null }));
      const branches = (await this.r.repo.forEachRef(['refs/heads']).catch(() => []))
        .sort((a, b) => (a.name === head.ref ? -1 : b.name === head.ref ? 1 : a.name.localeCompare(b.name)));
      for (const b of branches) {
        if (out.size >= wanted.size) break;
        const reach = await this.r.repo.revList({ tips: [b.sha], maxCount: shas.length + 1000 }).catch(() => [] as string[]);
        for (const s of reach) if (wanted.has(s) && !out.has(s)) out.set(s, b.name);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.lockTimer) clearInterval(this.lockTimer);
    this.watcher?.close();
    await this.worker;
    await this.backfilling;
    if (this.lockClient) await this.lockClient.end().catch(() => undefined); // releases the advisory lock
  }

  settled(): Promise<void> {
    return this.worker ?? Promise.resolve();
  }
}

/** How often, at most, the ANN index is written after an update; it is also written at close, and a
 * crash in between only costs the next start a catch-up sync (the saved pair stays consistent). */
const ANN_SAVE_INTERVAL_MS = 30_000;

/** Opens `<dataDir>/hot/ann` and syncs it to the recorded tips in the background (a first build
 * can take a while on a large tree; until then VECTOR queries scan as before). A failed sync is
 * logged, never fails indexing: the index is a cache. */
function startAnn(store: HistoryStore, dataDir: string, logger: Logger, repoIds: number[], hotTips: number): { sync: (repoId: number) => Promise<void>; refresh: () => Promise<void>; reopen: () => Promise<void>; close: () => Promise<void> } {
  let ann = store.openAnn(path.join(dataDir, 'hot', 'ann'), { log: logger });
  let savedAt = 0;
  const sync = async (ids: number[]): Promise<void> => {
    try {
      const t0 = performance.now();
      const stats = await store.syncAnn(ids, hotTips);
      if (stats && (stats.added > 0 || stats.removed > 0)) logger.info({ ...stats, bodies: ann.size, ms: Math.round(performance.now() - t0) }, 'ANN index updated');
      if (Date.now() - savedAt >= ANN_SAVE_INTERVAL_MS) {
        await ann.save();
        savedAt = Date.now();
      }
    } catch (err) {
      logger.warn({ err }, 'ANN index update failed; VECTOR queries scan the store until the next update');
    }
  };
  const first = sync(repoIds);
  return {
    sync: async (repoId) => {
      await first;
      await sync([...new Set([...repoIds, repoId])]);
    },
    // The provider embedded new bodies: tips synced before they had vectors (the sync after an
    // index run races the re-embedding it wakes) get them now.
    refresh: async () => {
      await first;
      await sync(repoIds);
    },
    // Over the vectors searches use now (a provider whose re-embedding just completed): a rebuild.
    reopen: async () => {
      await first;
      await ann.save().catch(() => undefined);
      ann = store.openAnn(path.join(dataDir, 'hot', 'ann'), { log: logger });
      savedAt = 0;
      await sync(repoIds);
    },
    close: async () => {
      await first;
      await ann.save().catch((err: unknown) => logger.warn({ err }, 'could not save the ANN index'));
    },
  };
}

/** The configured embedding provider; null for the built-in one. */
async function openEmbedder(c: Config['embedder']): Promise<Embedder | null> {
  switch (c.provider) {
    case 'builtin': return null;
    case 'onnx': return OnnxEmbedder.open(c);
    case 'http': return new HttpEmbedder(c);
  }
}

function logRefMoves(logger: Logger, repo: string, moves: RefMove[]): void {
  for (const m of moves) logger.info({ repo, ref: m.name, old: m.oldSha, new: m.newSha, forced: m.forced }, 'ref moved');
}

export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config, logger } = opts;
  const { db, store } = await openHistoryStore({
    dataDir: config.dataDir, ...(config.databaseUrl !== undefined ? { databaseUrl: config.databaseUrl } : {}),
    ...(config.pgliteSharedBuffers !== undefined ? { pgliteSettings: { shared_buffers: config.pgliteSharedBuffers } } : {}),
    ...(config.pgliteMaxMemory !== undefined ? { pgliteMaxMemoryBytes: sizeBytes(config.pgliteMaxMemory) } : {}),
    pgliteIdleStopMs: config.pgliteIdleStopMs === 0 ? null : config.pgliteIdleStopMs,
    log: logger,
  });
  const cleanup: Array<() => Promise<void>> = [() => db.close()];
  const undo = async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  };
  try {
    // Refuse to serve a damaged store (issue 8, item 4): STORE_CORRUPT, exit 7.
    const checked = await verifyStore(db, config.databaseUrl !== undefined ? describeTarget(config.databaseUrl) : config.dataDir);
    logger.info({ outcome: checked.outcome, rows: checked.rows }, 'store verified');
    // The hot working set (store/hot) lives with the daemon's local state, whichever the backend.
    let hot: HotStore | null = null;
    try {
      hot = await store.openHot(path.join(config.dataDir, 'hot', 'graph'));
      if (hot.reset !== null) logger.info({ reason: hot.reset }, 'hot store empty; it is rebuilt from the history store');
    } catch (err) {
      if (!CodedError.is(err, 'HOT_LOCKED')) throw err;
      // Another instance (same data directory, shared PostgreSQL) holds it: serve from the store.
      logger.warn({ err }, 'hot store unavailable; the history store answers at the tips');
    }
    cleanup.push(async () => { await hot?.close(); });
    const repos: Array<BackendRepo & { remote?: string | undefined }> = [];
    for (const rc of config.repos) {
      const repo = await GitRepo.open(rc.path);
      cleanup.push(() => repo.close());
      repos.push({ name: rc.name, repo, repoId: await store.repository(repo.path), remote: rc.remote });
    }
    // Runners exist only after the server starts; commits asked for before then wait for them.
    let byName = new Map<string, RepoRunner>();
    const backend = new StoreBackend(store, repos, async (r, sha, signal) => {
      const runner = byName.get(r.name);
      if (!runner) throw new FirstIndexRunning(r.name, sha, null);
      await runner.indexOnDemand(sha, signal);
    });
    const events = opts.events ?? new InProcessEvents();
    const bridge = await startEventBridge(db, backend, events, logger);
    cleanup.push(() => bridge.close());

    let indexer: Indexer | null = null;
    const getIndexer = () => (indexer ??= new Indexer({
      ...(config.threads !== undefined ? { threads: config.threads } : {}), ...(config.workerIdleMs !== undefined ? { workerIdleMs: config.workerIdleMs } : {}), maxFileBytes: config.maxFileBytes, ...(config.exclude.length > 0 ? { exclude: config.exclude } : {}),
    }));
    const ann = startAnn(store, config.dataDir, logger, repos.map((r) => r.repoId), config.hotTips);
    cleanup.push(() => ann.close());
    /** Bodies the provider had embedded at the last ANN refresh (its running count). */
    let embeddedSynced = 0;
    // A provider other than the built-in one: embed every stored body in the background.
    const embedder = await openEmbedder(config.embedder);
    const reembed = await store.useEmbedder(embedder, async (sha) => {
      for (const r of repos) {
        const b = await r.repo.readBlob(sha).catch(() => null);
        if (b) return b;
      }
      return null;
    }, {
      log: logger,
      onProgress: (p) => {
        embeddingProgress.set({ model: p.model, state: 'done' }, p.doneExtractions);
        embeddingProgress.set({ model: p.model, state: 'total' }, p.totalExtractions);
        if (!p.complete) logger.info(p, 're-embedding with the configured provider');
        else if (store.ann?.embedderId !== p.model) void ann.reopen();
        else if (p.embedded !== embeddedSynced) {
          embeddedSynced = p.embedded;
          void ann.refresh();
        }
      },
    });
    if (reembed) cleanup.push(() => reembed.stop());
    void reembed?.wake();
    const shared = {
      db, store, indexer: getIndexer, config, logger, databaseUrl: config.databaseUrl,
      lockRetryMs: opts.lockRetryMs ?? 2_000, retryBaseMs: opts.retryBaseMs ?? 250,
      syncAnn: async (repoId: number) => {
        void reembed?.wake();
        await ann.sync(repoId);
      },
    };
    const runners = repos.map((r) => new RepoRunner(r, shared));
    byName = new Map(runners.map((r) => [r.r.name, r]));

    const ready = async (): Promise<boolean> => {
      await db.ping();
      // A standby is ready once the store holds the repository's refs (the indexer's initial index).
      for (const r of runners) {
        if (r.leader ? !r.initialDone : (await store.refs(r.r.repoId)).length === 0) return false;
      }
      return true;
    };

    const server = await startServer({
      config, backend, events, logger, ready,
      onGitHook: async (names) => {
        await Promise.all(names.map((n) => byName.get(n)?.fetchAndCheck()));
      },
    });
    cleanup.push(() => server.close());
    for (const r of runners) await r.start();
    // CLI commands on this data directory ask this daemon (daemon/discovery.ts). With a server
    // database the data directory holds no store a CLI command would open: nothing to find.
    if (config.databaseUrl === undefined) {
      cleanup.push(() => removeServeInfo(config.dataDir));
      await writeServeInfo(config.dataDir, {
        pid: process.pid, url: server.url, auth: authConfigured(config), repositories: repos.map((r) => ({ name: r.name, path: r.repo.path })),
      });
    }

    let closed: Promise<void> | null = null;
    const service: Service = {
      server, db, store, events, bridge, ready,
      indexing: () => runners.filter((r) => r.leader).map((r) => r.r.name),
      settled: async () => {
        await Promise.all(runners.map((r) => r.settled()));
      },
      close() {
        closed ??= (async () => {
          if (config.databaseUrl === undefined) await removeServeInfo(config.dataDir).catch(() => undefined);
          await server.close(); // stop accepting first: no new requests against a closing store
          await Promise.all(runners.map((r) => r.close()));
          await reembed?.stop();
          await ann.close();
          await indexer?.close();
          await hot?.close().catch(() => undefined);
          await bridge.close();
          for (const r of repos) await r.repo.close().catch(() => undefined);
          await db.close(); // releases the data-dir lock
        })();
        return closed;
      },
    };
    if (opts.onInitialIndexDone) {
      const cb = opts.onInitialIndexDone;
      void (async () => {
        while (!closed && !(await ready().catch(() => false))) await sleep(100);
        if (!closed) cb();
      })();
    }
    return service;
  } catch (err) {
    await undo();
    throw err;
  }
}
