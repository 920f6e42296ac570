// Search and graph-query figures (issue #12) on the `big` corpus (bench/corpus.ts, 1,459 files,
// 709k lines of TypeScript), each against a peer measured in the same run.
//
//   npm run bench -- search
//
// The corpus HEAD is the "old" commit; the bench clones it and adds one commit changing
// one file: the "tip". Both are indexed into a fresh PGlite store.
// Figures (one JSON line each):
// - `search.load`: first query at a commit (loads the snapshot; for `graph`, resolves every call of
//   the tree and computes PageRank); peer: one SQL `entities(name)` lookup at that commit.
// - `search.mode` per mode and commit: p50/p99 of warm queries; peer: the SQL lookup the store had
//   before (exact name for TEXT/REGEX/HYBRID/VECTOR, pg_trgm `%` for FUZZY).
// - `search.callers_depth2`: callers to depth 2 from the snapshot graph (`neighbourhood`, called_by)
//   vs `HistoryStore.callers(depth 2)` (SQL + query-time resolution) on the same entities at the tip.
// - `search.ann_recall`: recall@10 of the pgvector HNSW index (`HistoryStore.similar`) against exact
//   cosine over the same commit's bodies (VECTOR mode).
// - `search.rss`: resident set size after the run, against the source bytes of the tree.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { indexHistory } from '../daemon/history.ts';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { openDatabase } from '../store/db.ts';
import { HistoryStore, type SearchMode, type StoredEntity } from '../store/index.ts';
import { migrate } from '../store/migrate.ts';
import { ensureCorpus } from './corpus.ts';
import { pct, times } from './stats.ts';

const run = promisify(execFile);
export const name = 'search';

const round = (x: number, d = 2): number => Number(x.toFixed(d));
const log = (m: string): void => void process.stderr.write(`[search] ${m}\n`);

/** Deterministic sample: every k-th entity of the kinds, by position. */
function sample(ents: StoredEntity[], n: number): StoredEntity[] {
  const pool = ents.filter((e) => (e.kind === 'function' || e.kind === 'method' || e.kind === 'class') && e.name.length >= 6);
  const step = Math.max(1, Math.floor(pool.length / n));
  return pool.filter((_, i) => i % step === 0).slice(0, n);
}

const typo = (s: string): string => s.slice(0, Math.floor(s.length / 2)) + s.slice(Math.floor(s.length / 2) + 1);
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const corpus = await ensureCorpus('big');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-search-'));
  const dir = path.join(work, 'repo');
  await run('git', ['clone', '-q', corpus.path, dir]);
  const file = (await run('git', ['ls-files', '*.ts'], { cwd: dir, maxBuffer: 64 << 20 })).stdout.split('\n').filter((f) => f.endsWith('.ts'))[0]!;
  fs.appendFileSync(path.join(dir, file), '\nexport function benchTipOnlyFunction(x: number): number {\n  return x + 1;\n}\n');
  await run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-qam', 'tip'], { cwd: dir });
  const tip = (await run('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
  const old = corpus.head;

  const db = await openDatabase({ dataDir: path.join(work, 'db') });
  const rows: Array<Record<string, unknown>> = [];
  try {
    await migrate(db);
    const store = new HistoryStore(db);
    const repo = await GitRepo.open(dir);
    const indexer = new Indexer();
    let repoId: number;
    const t0 = performance.now();
    try {
      repoId = (await indexHistory({ repo, store, indexer, history: 'all' })).repoId;
    } finally {
      await indexer.close();
    }
    log(`indexed ${corpus.lines} lines, 2 commits in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

    for (const [label, sha] of [['tip', tip], ['old', old]] as const) {
      const sqlExact = async (q: string): Promise<unknown> => store.entities(repoId, sha, { name: q, limit: 20 });
      let s = performance.now();
      const snap = await store.search.snapshot(repoId, sha);
      const loadMs = performance.now() - s;
      s = performance.now();
      await snap.graph();
      const graphMs = performance.now() - s;
      const peerLoad = pct(await times(['parse'], sqlExact), 50);
      rows.push({ figure: 'search.load', commit: label, entities: snap.entities.length, snapshotMs: round(loadMs), graphMs: round(graphMs), peerSqlLookupMs: round(peerLoad), ratio: round(loadMs / peerLoad) });
      log(`${label}: snapshot of ${snap.entities.length} entities in ${loadMs.toFixed(0)} ms, graph in ${graphMs.toFixed(0)} ms`);

      const picked = sample(snap.entities, 40);
      const queries: Record<SearchMode, string[]> = {
        text: picked.map((e) => e.name.replace(/([a-z])([A-Z])/g, '$1 $2')),
        fuzzy: picked.map((e) => typo(e.name)),
        regex: picked.map((e) => `^${escape(e.name.slice(0, 4))}`),
        vector: picked.map((e) => `${e.name}${e.signature ?? ''}`),
        hybrid: picked.map((e) => e.name),
      };
      const peerExact = await times(picked.map((e) => e.name), sqlExact);
      const peerFuzzy = await times(queries.fuzzy, (q) => store.entities(repoId, sha, { name: q, nameMatch: 'fuzzy', limit: 20 }));
      for (const mode of ['text', 'fuzzy', 'regex', 'vector', 'hybrid'] as const) {
        await store.search.search(repoId, sha, { query: queries[mode][0]!, mode }); // builds the mode's index
        const t = await times(queries[mode], (q) => store.search.search(repoId, sha, { query: q, mode }));
        const peer = mode === 'fuzzy' ? peerFuzzy : peerExact;
        rows.push({
          figure: 'search.mode', mode, commit: label, queries: t.length, p50Ms: round(pct(t, 50)), p99Ms: round(pct(t, 99)),
          peer: mode === 'fuzzy' ? 'sql pg_trgm %' : 'sql exact name', peerP50Ms: round(pct(peer, 50)), ratio: round(pct(t, 50) / pct(peer, 50)),
        });
      }
    }

    // callers(depth 2) at the tip, on entities that have callers.
    const snap = await store.search.snapshot(repoId, tip);
    const g = await snap.graph();
    const withCallers = snap.entities.filter((e) => e.kind !== 'import' && g.calls.in(e.i).length > 0);
    const step = Math.max(1, Math.floor(withCallers.length / 30));
    const targets = withCallers.filter((_, i) => i % step === 0).slice(0, 30).map((e) => e.qualifiedName);
    const hot = await times(targets, (qn) => store.search.neighbourhood(repoId, tip, qn, { depth: 2, kinds: ['called_by'], first: 100 }));
    const sql = await times(targets, (qn) => store.callers(repoId, tip, qn, 2));
    rows.push({
      figure: 'search.callers_depth2', entities: targets.length, p50Ms: round(pct(hot, 50)), p99Ms: round(pct(hot, 99)),
      peer: 'HistoryStore.callers (SQL)', peerP50Ms: round(pct(sql, 50)), peerP99Ms: round(pct(sql, 99)), ratio: round(pct(hot, 50) / pct(sql, 50), 4),
    });

    // ANN recall@10: pgvector HNSW over all bodies (filtered to the commit) vs exact cosine.
    const probes = sample(snap.entities, 30).map((e) => `${e.name} ${e.signature ?? ''}`);
    let hit = 0;
    let total = 0;
    const annT: number[] = [];
    const exactT: number[] = [];
    for (const q of probes) {
      let s = performance.now();
      const exact = await store.search.search(repoId, tip, { query: q, mode: 'vector', first: 100 });
      exactT.push(performance.now() - s);
      s = performance.now();
      const ann = await store.similar(repoId, tip, q, 10);
      annT.push(performance.now() - s);
      const want = [...new Set(exact.items.map((x) => x.node.entity.bodyHash))].slice(0, 10);
      const got = new Set(ann.map((x) => x.bodyHash));
      hit += want.filter((h) => got.has(h)).length;
      total += want.length;
    }
    rows.push({ figure: 'search.ann_recall', probes: probes.length, recallAt10: round(hit / total, 3), annP50Ms: round(pct(annT, 50)), exactP50Ms: round(pct(exactT, 50)), ratio: round(pct(annT, 50) / pct(exactT, 50)) });

    const mem = process.memoryUsage();
    const sourceBytes = (await run('du', ['-sb', '--exclude=.git', dir])).stdout.split('\t')[0] ?? '0';
    rows.push({ figure: 'search.rss', rssMB: round(mem.rss / 2 ** 20, 1), heapUsedMB: round(mem.heapUsed / 2 ** 20, 1), sourceMB: round(Number(sourceBytes) / 2 ** 20, 1), ratio: round(mem.rss / Number(sourceBytes)) });
    await repo.close();
  } finally {
    await db.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
