// History store figures, each against a peer measured in the same run (ratios, because absolute
// times on shared machines drift). Corpus: `history` (bench/corpus.ts: 355 releases of
// @tanstack/query-core, real churn), plus a synthetic repository for a 1,200-changed-file diff.
//
//   npm run bench -- store
//
// Figures (one JSON line each):
// - `store.snapshot_bytes`: bytes the first commit adds to the store (tables + indexes + TOAST) per
//   line of parsed source, with and without the embeddings (bodies + HNSW); peer: the source bytes.
// - `store.incremental_bytes`: bytes added per changed file over the later commits.
// - `store.incremental_commit`: wall time per incremental commit (diff-tree + extraction of new
//   blobs + one store transaction); peer: `git diff-tree -r -M` of the same commit.
// - `store.diff`: `HistoryStore.diff` latency for commits 1 and 50 apart, and first..last; peer:
//   `git diff-tree -r -M` of the same pair (a child process, as git is used).
// - `store.diff_1200`: diff latency when 1,200 files changed (synthetic); peer as above.
// - `store.tree_at`: the full tree at the deepest commit (first-parent chain of 355); peer `git ls-tree -r`.
// - `store.snapshot_bytes_big` (only with CODEGRAPH_BENCH_STORE_BIG=1, ~2 min): the same on the
//   HEAD of the `big` corpus (709k lines), where per-table fixed overhead no longer counts.
// - `store.insert`: the rows of the first snapshot written through storeCommit, on PGlite and on a
//   PostgreSQL 15 server; peer: a plain unnest INSERT of the same entity and reference rows into
//   index-less tables on the same backend.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { indexCommit, indexHistory } from '../daemon/history.ts';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { openDatabase, type Db } from '../store/db.ts';
import { HistoryStore } from '../store/index.ts';
import { migrate } from '../store/migrate.ts';
import { ensureCorpus } from './corpus.ts';

const run = promisify(execFile);

export const name = 'store';

const TABLES = ['repositories', 'paths', 'commits', 'extractions', 'entities', 'extraction_refs', 'bodies', 'file_deltas', 'entity_changes', 'git_refs', 'ref_log'];

async function bytes(db: Db, tables = TABLES): Promise<number> {
  const { rows } = await db.query<{ b: number }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::float8 AS b FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY($1::text[])`, [tables]);
  return rows[0]!.b;
}

async function timeGit(cwd: string, args: string[], reps = 5): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024 });
    t.push(performance.now() - s);
  }
  return median(t);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

const round = (x: number, d = 2): number => Number(x.toFixed(d));

async function tmpDb(): Promise<{ db: Db; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-store-'));
  const db = await openDatabase({ dataDir: dir });
  await migrate(db);
  return { db, dir };
}

async function timeDiff(store: HistoryStore, repoId: number, a: string, b: string, reps = 5): Promise<{ ms: number; entities: number }> {
  const t: number[] = [];
  let entities = 0;
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    const d = await store.diff(repoId, a, b);
    t.push(performance.now() - s);
    entities = d.added.length + d.removed.length + d.modified.length + d.renamed.length + d.moved.length;
  }
  return { ms: median(t), entities };
}

async function historyFigures(): Promise<Array<Record<string, unknown>>> {
  const corpus = await ensureCorpus('history');
  const out: Array<Record<string, unknown>> = [];
  const { db, dir } = await tmpDb();
  const repo = await GitRepo.open(corpus.path);
  const indexer = new Indexer();
  try {
    const store = new HistoryStore(db);
    const shas = await repo.revList({ tips: ['HEAD'], firstParent: true, reverse: true });
    const empty = await bytes(db);
    await indexCommit({ repo, store, indexer }, shas[0]!);
    const repoId = await store.repository(repo.path);
    const snap = await bytes(db);
    const embeddings = await bytes(db, ['bodies']);
    const { rows: [loc] } = await db.query<{ lines: number; bytes: number; files: number }>(
      `SELECT sum(x.lines)::int AS lines, sum(x.bytes)::int AS bytes, count(*)::int AS files FROM file_deltas d
       JOIN extractions x ON x.id = d.extraction_id JOIN commits c ON c.id = d.commit_id WHERE c.sha = $1`, [shas[0]]);
    out.push({
      figure: 'store.snapshot_bytes', files: loc!.files, lines: loc!.lines,
      bytesPerLoc: round((snap - empty) / loc!.lines), bytesPerLocWithoutEmbeddings: round((snap - empty - embeddings) / loc!.lines),
      ratioToSourceBytes: round((snap - empty) / loc!.bytes), goalBytesPerLoc: 40,
    });

    // Commits are stored several per transaction (storeCommits), so progress arrives in bursts:
    // the figure is the run's wall time per commit, not a median of gaps between progress calls.
    let commits = 0;
    const files: number[] = [];
    const started = performance.now();
    await indexHistory({
      repo, store, indexer, history: 'all', repoId,
      onProgress: (p) => { commits++; files.push(p.files); },
    });
    const msPerCommit = (performance.now() - started) / Math.max(1, commits);
    const after = await bytes(db);
    const changed = files.reduce((a, b) => a + b, 0);
    out.push({ figure: 'store.incremental_bytes', commits, changedFiles: changed, bytesPerChangedFile: round((after - snap) / changed, 0), totalBytes: after - empty });
    const sample = shas.slice(1).filter((_, i) => i % 20 === 0);
    const gitMs = median(await Promise.all([]).then(async () => { const t = []; for (const s of sample) t.push(await timeGit(corpus.path, ['diff-tree', '-r', '-M', `${s}^`, s], 3)); return t; }));
    out.push({
      figure: 'store.incremental_commit', commits, msPerCommit: round(msPerCommit), meanFilesPerCommit: round(changed / Math.max(1, commits), 1),
      peer: 'git diff-tree -r -M (same commits)', peerMedianMs: round(gitMs), ratio: round(msPerCommit / gitMs),
    });

    for (const [label, gap] of [['1 apart', 1], ['50 apart', 50], ['first..last', shas.length - 1]] as const) {
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i + gap < shas.length && pairs.length < 10; i += Math.max(1, Math.floor((shas.length - gap) / 10))) pairs.push([shas[i]!, shas[i + gap]!]);
      const ours: number[] = [];
      const git: number[] = [];
      let ents = 0;
      for (const [a, b] of pairs) {
        const r = await timeDiff(store, repoId, a, b);
        ours.push(r.ms);
        ents += r.entities;
        git.push(await timeGit(corpus.path, ['diff-tree', '-r', '-M', a, b], 3));
      }
      out.push({
        figure: 'store.diff', pair: label, pairs: pairs.length, medianMs: round(median(ours)), meanEntityChanges: round(ents / pairs.length, 1),
        peer: 'git diff-tree -r -M (same pair)', peerMedianMs: round(median(git)), ratio: round(median(ours) / median(git)),
      });
    }

    const head = shas[shas.length - 1]!;
    const t: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      await store.tree(repoId, head);
      t.push(performance.now() - s);
    }
    const lsMs = await timeGit(corpus.path, ['ls-tree', '-r', head]);
    out.push({ figure: 'store.tree_at', chainLength: shas.length, medianMs: round(median(t)), peer: 'git ls-tree -r', peerMedianMs: round(lsMs), ratio: round(median(t) / lsMs) });
  } finally {
    await indexer.close();
    await repo.close();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await run('git', args, { cwd, env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@e', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@e', ...env }, maxBuffer: 64 * 1024 * 1024 });
  return r.stdout.trim();
}

function synthFile(i: number, v: number): string {
  return Array.from({ length: 4 }, (_, k) => `export function g${i}_${k}(x: number): number {\n  const y = x * ${k + 1};\n  return h${k}(y) + ${v};\n}\n`).join('\n');
}

async function bigDiffFigure(): Promise<Array<Record<string, unknown>>> {
  const N = 1200;
  const repoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-synth-'));
  await git(repoDir, ['init', '-q', '-b', 'main']);
  fs.mkdirSync(path.join(repoDir, 'src'));
  for (let i = 0; i < N; i++) fs.writeFileSync(path.join(repoDir, 'src', `f${i}.ts`), synthFile(i, 0));
  await git(repoDir, ['add', '-A']);
  await git(repoDir, ['commit', '-qm', 'one']);
  for (let i = 0; i < N; i++) fs.writeFileSync(path.join(repoDir, 'src', `f${i}.ts`), synthFile(i, 1));
  await git(repoDir, ['commit', '-qam', 'two']);
  const { db, dir } = await tmpDb();
  const repo = await GitRepo.open(repoDir);
  const indexer = new Indexer();
  try {
    const store = new HistoryStore(db);
    const r = await indexHistory({ repo, store, indexer, history: 'all' });
    const [a, b] = r.indexed as [string, string];
    const ours = await timeDiff(store, r.repoId, a, b);
    const gitMs = await timeGit(repoDir, ['diff-tree', '-r', '-M', a, b]);
    return [{
      figure: 'store.diff_1200', changedFiles: N, entityChanges: ours.entities, medianMs: round(ours.ms), goalMs: 500,
      peer: 'git diff-tree -r -M (same pair)', peerMedianMs: round(gitMs), ratio: round(ours.ms / gitMs),
    }];
  } finally {
    await indexer.close();
    await repo.close();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(repoDir, { recursive: true, force: true });
  }
}

/** storeCommit of the first snapshot vs a plain unnest INSERT of the same rows, on one backend. */
async function insertFigure(db: Db, backend: string, corpusPath: string): Promise<Record<string, unknown>> {
  await migrate(db);
  const repo = await GitRepo.open(corpusPath);
  const indexer = new Indexer();
  try {
    const first = (await repo.revList({ tips: ['HEAD'], firstParent: true, reverse: true }))[0]!;
    const files = await repo.lsTree(first);
    const outcomes = (await indexer.extractFiles(repo, files)).flatMap((o) => (o.status === 'parsed' ? [o] : []));
    const [info] = await repo.commitInfo([first]);
    const store = new HistoryStore(db);
    const repoId = await store.repository(corpusPath);
    const t0 = performance.now();
    await store.storeCommit(repoId, {
      commit: { sha: info!.sha, parents: [], tree: info!.tree, message: info!.message, author: info!.author, committer: info!.committer },
      baseSha: null,
      files: outcomes.map((o) => ({ path: o.path, status: 'parsed' as const, blobSha: o.sha, language: o.language, extraction: o.result })),
    });
    const oursMs = performance.now() - t0;
    const ents = outcomes.flatMap((o) => o.result.entities);
    const refs = outcomes.flatMap((o) => o.result.references);
    await db.query('CREATE TEMP TABLE plain_e (kind text, name text, qname text, sl int, el int, sig text, hash text)');
    await db.query('CREATE TEMP TABLE plain_r (kind text, name text, qual text, line int, f int)');
    const t1 = performance.now();
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO plain_e SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[])',
        [ents.map((e) => e.kind), ents.map((e) => e.name), ents.map((e) => e.qualifiedName), ents.map((e) => e.startLine), ents.map((e) => e.endLine), ents.map((e) => e.signature), ents.map((e) => e.bodyHash)]);
      await tx.query('INSERT INTO plain_r SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[])',
        [refs.map((r) => r.kind), refs.map((r) => r.name), refs.map((r) => r.qualifier), refs.map((r) => r.line), refs.map((r) => r.from)]);
    });
    const plainMs = performance.now() - t1;
    const rows = ents.length + refs.length;
    return {
      figure: 'store.insert', backend, rows, files: outcomes.length, ms: round(oursMs), rowsPerSecond: Math.round(rows / (oursMs / 1000)),
      peer: 'plain unnest INSERT of the same entity/reference rows, no indexes', peerMs: round(plainMs), ratio: round(oursMs / plainMs),
    };
  } finally {
    await indexer.close();
    await repo.close();
  }
}

async function insertFigures(): Promise<Array<Record<string, unknown>>> {
  const corpus = await ensureCorpus('history');
  const out: Array<Record<string, unknown>> = [];
  const { db, dir } = await tmpDb();
  try {
    out.push(await insertFigure(db, 'pglite', corpus.path));
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  try {
    const { startPostgres } = await import('../test/harness/pg.ts');
    const cluster = await startPostgres();
    const server = await openDatabase({ databaseUrl: await cluster.createDatabase('cg_bench') });
    try {
      out.push(await insertFigure(server, 'postgres', corpus.path));
    } finally {
      await server.close();
    }
  } catch (err) {
    out.push({ figure: 'store.insert', backend: 'postgres', skipped: (err as Error).message });
  }
  const [p, s] = out;
  if (p && s && typeof p.ms === 'number' && typeof s.ms === 'number') out.push({ figure: 'store.insert_pglite_vs_server', ratio: round(p.ms / s.ms) });
  return out;
}

async function bigSnapshotFigure(): Promise<Array<Record<string, unknown>>> {
  if (process.env.CODEGRAPH_BENCH_STORE_BIG !== '1') return [];
  const corpus = await ensureCorpus('big');
  const { db, dir } = await tmpDb();
  const repo = await GitRepo.open(corpus.path);
  const indexer = new Indexer();
  try {
    const empty = await bytes(db);
    const t0 = performance.now();
    await indexCommit({ repo, store: new HistoryStore(db), indexer }, 'HEAD');
    const ms = performance.now() - t0;
    const all = await bytes(db);
    const embeddings = await bytes(db, ['bodies']);
    const { rows: [loc] } = await db.query<{ lines: number; bytes: number }>('SELECT sum(lines)::int AS lines, sum(bytes)::float8 AS bytes FROM extractions');
    return [{
      figure: 'store.snapshot_bytes_big', lines: loc!.lines, seconds: round(ms / 1000, 1),
      bytesPerLoc: round((all - empty) / loc!.lines), bytesPerLocWithoutEmbeddings: round((all - empty - embeddings) / loc!.lines),
      ratioToSourceBytes: round((all - empty) / loc!.bytes), goalBytesPerLoc: 40,
    }];
  } finally {
    await indexer.close();
    await repo.close();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function measure(): Promise<Array<Record<string, unknown>>> {
  return [...await historyFigures(), ...await bigDiffFigure(), ...await insertFigures(), ...await bigSnapshotFigure()];
}
