// Event-loop lag during an initial index (issue #9: 24.5 s max lag while PGlite ran on the main
// thread). Runs what `codegraph serve` runs first — daemon/history.ts `indexHistory` over a real
// repository, into a fresh store — and samples the event-loop delay of this process with
// perf_hooks.monitorEventLoopDelay, three times in one run:
//   - `embedded`: the default store, PGlite in its child process behind the socket (store/embedded.ts);
//   - `inThread`: the same PGlite and socket server on THIS thread (the layout before issue #9,
//     rebuilt from store/pglite-server.ts), the peer that shows what the worker removes;
//   - `postgres`: a PostgreSQL 15 server (no database work in this process at all), the floor
//     (skipped when the test harness cannot start one).
// Figures: p50/p99/max lag in ms per mode, and ratios to the peers. The extraction workers, git and
// node-postgres' result parsing still run here in every mode.
//
// Environment: CODEGRAPH_BENCH_LAG_REPO (default: this project's own repository, ~160 files),
// CODEGRAPH_BENCH_LAG_HISTORY (commits per branch, or `all`; default 40), CODEGRAPH_BENCH_LAG_MODES
// (comma-separated subset of embedded,inThread,postgres; default all three).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { indexHistory } from '../daemon/history.ts';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { openDatabase, type Db } from '../store/db.ts';
import { HistoryStore } from '../store/index.ts';
import { migrate } from '../store/migrate.ts';
import { SessionServer } from '../store/pglite-server.ts';

export const name = 'lag';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = process.env.CODEGRAPH_BENCH_LAG_REPO ?? path.resolve(HERE, '..');
const HISTORY_ENV = process.env.CODEGRAPH_BENCH_LAG_HISTORY ?? '40';
const HISTORY: number | 'all' = HISTORY_ENV === 'all' ? 'all' : Number(HISTORY_ENV);
const MODES = new Set((process.env.CODEGRAPH_BENCH_LAG_MODES ?? 'embedded,inThread,postgres').split(',').map((m) => m.trim()));

const ms = (ns: number) => Number((ns / 1e6).toFixed(1));

interface LagFigure {
  mode: string;
  commits: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function measureIndex(mode: string, db: Db): Promise<LagFigure> {
  await migrate(db);
  const store = new HistoryStore(db);
  const repo = await GitRepo.open(REPO);
  const indexer = new Indexer({});
  const h = monitorEventLoopDelay({ resolution: 5 });
  const started = performance.now();
  h.enable();
  try {
    const r = await indexHistory({ repo, store, indexer, history: HISTORY });
    h.disable();
    return {
      mode, commits: r.indexed.length, seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max),
    };
  } finally {
    h.disable();
    await indexer.close();
    await repo.close();
  }
}

/** PGlite and its socket server on this thread; the store connects to it like to a server. */
async function inThread(dir: string): Promise<{ db: Db; close(): Promise<void> }> {
  const [{ PGlite }, { vector }, { pg_trgm }, { fuzzystrmatch }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-pgvector'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('@electric-sql/pglite/contrib/fuzzystrmatch'),
  ]);
  const pglite = await PGlite.create({ dataDir: path.join(dir, 'pg'), extensions: { vector, pg_trgm, fuzzystrmatch } });
  const server = new SessionServer({ session: { execProtocolRaw: (m) => pglite.execProtocolRaw(m), isInTransaction: () => pglite.isInTransaction() } });
  await server.listen(path.join(dir, '.s.PGSQL.5432'));
  const db = await openDatabase({ databaseUrl: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`, poolSize: 4 });
  return {
    db,
    async close() {
      await db.close();
      await server.close();
      await pglite.close();
    },
  };
}

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-lag-'));
  const out: LagFigure[] = [];
  try {
    process.stderr.write(`[lag] repository ${REPO}, history ${HISTORY}\n`);
    if (MODES.has('embedded')) {
      const db = await openDatabase({ dataDir: path.join(tmp, 'embedded') });
      try {
        out.push(await measureIndex('embedded', db));
      } finally {
        await db.close();
      }
    }
    if (MODES.has('inThread')) {
      const dir = path.join(tmp, 'in-thread');
      fs.mkdirSync(dir);
      const s = await inThread(dir);
      try {
        out.push(await measureIndex('inThread', s.db));
      } finally {
        await s.close();
      }
    }
    if (MODES.has('postgres')) try {
      const { startPostgres } = await import('../test/harness/pg.ts');
      const cluster = await startPostgres();
      const db = await openDatabase({ databaseUrl: await cluster.createDatabase('cg_bench_lag') });
      try {
        out.push(await measureIndex('postgres', db));
      } finally {
        await db.close();
      }
    } catch (err) {
      process.stderr.write(`[lag] postgres peer skipped: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const by = new Map(out.map((f) => [f.mode, f]));
  const emb = by.get('embedded');
  if (emb === undefined) return out.map((f) => ({ figure: `lag.${f.mode}`, ...f }));
  const ratio = (a: number, b: number | undefined) => (b === undefined || b === 0 ? null : Number((a / b).toFixed(2)));
  return [
    ...out.map((f) => ({ figure: `lag.${f.mode}`, ...f })),
    {
      figure: 'lag.ratio',
      p99VsInThread: ratio(emb.p99Ms, by.get('inThread')?.p99Ms), maxVsInThread: ratio(emb.maxMs, by.get('inThread')?.maxMs),
      p99VsPostgres: ratio(emb.p99Ms, by.get('postgres')?.p99Ms), maxVsPostgres: ratio(emb.maxMs, by.get('postgres')?.maxMs),
      goal: 'embedded p99 < 50 ms, max < 250 ms',
    },
  ];
}
