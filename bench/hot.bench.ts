// Hot store figures (issue #12, store/hot) on the `big` corpus (bench/corpus.ts, 709k lines of
// TypeScript), each against the history store answering the same query in the same run.
//
//   CODEGRAPH_BENCH_CACHE=/work/bench-cache npm run bench -- hot
//
// A real `codegraph serve` (startService, embedded store) indexes the corpus HEAD ("old") and one
// more commit ("tip"), then builds the hot store at the tip. Figures (one JSON line each):
// - `hot.build`: the first build of the tip (every file resolved), from the service's log.
// - `hot.callers_depth2`: `HistoryStore.callers(depth 2)` at the tip, in-process, from the hot store
//   vs the same call on a HistoryStore without it (SQL + query-time resolution).
// - `hot.graphql_callees_page`: `entities(first: 100) { callees }` over HTTP at the tip vs at `old`.
// - `hot.search`: p50/p99 per mode at the tip (hot snapshot) and at `old` (snapshot loaded from the
//   store); the first query at each (index build) reported apart.
// - `hot.update`: ref moves of 1-file commits (add a function to the most imported file, edit its
//   body, rename it, edit the body of a called function there, add a function elsewhere), each
//   apart: time from the commit being stored to the tip being held (log), files resolved again,
//   and the first callers(depth 2) / TEXT query at the new tip against the second.
// - `hot.rss`: resident set size at the end.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../daemon/config.ts';
import { startService } from '../daemon/service.ts';
import { HistoryStore, type SearchMode, type StoredEntity } from '../store/index.ts';
import { ensureCorpus } from './corpus.ts';
import { pct, times } from './stats.ts';

const run = promisify(execFile);
export const name = 'hot';

const round = (x: number, d = 2): number => Number(x.toFixed(d));
const log = (m: string): void => void process.stderr.write(`[hot] ${m}\n`);
const load = (): number => round(os.loadavg()[0]!, 1);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const git = (dir: string, args: string[]) => run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], { cwd: dir, maxBuffer: 64 << 20 });

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const corpus = await ensureCorpus('big');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-hot-'));
  const dir = path.join(work, 'repo');
  await run('git', ['clone', '-q', corpus.path, dir]);
  const files = (await git(dir, ['ls-files', '*.ts'])).stdout.split('\n').filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  fs.appendFileSync(path.join(dir, files[0]!), '\nexport function benchTipOnlyFunction(x: number): number {\n  return x + 1;\n}\n');
  await git(dir, ['commit', '-qam', 'tip']);
  const tip = (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
  const old = corpus.head;

  // The service's log lines, parsed: hot store updates are read from them.
  const hotLog: Array<{ sha: string; how: string; ms: number; changedFiles: number; resolvedFiles: number; phases?: Record<string, number> }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line.includes('hot store tip ready')) continue;
        hotLog.push(JSON.parse(line) as (typeof hotLog)[number]);
      }
      cb();
    },
  });
  const config = loadConfig({ argv: ['--repo', dir, '--port', '0', '--data-dir', path.join(work, 'data'), '--history', '2', '--poll-interval-ms', '500'], env: {} });
  config.limits.maxCost = 10_000_000;
  config.limits.requestTimeoutMs = 600_000;
  const rows: Array<Record<string, unknown>> = [];
  const t0 = performance.now();
  const svc = await startService({ config, logger: pino({ level: 'info' }, sink) });
  try {
    while (!(await svc.ready().catch(() => false))) await sleep(500);
    log(`indexed in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const store = svc.store;
    const repoId = await store.repository(fs.realpathSync(dir));
    // The first build of a tip runs behind readiness (daemon/service.ts): wait for its log line.
    while (!hotLog.some((h) => h.sha === tip)) await sleep(200);
    log(`hot store built in ${((performance.now() - t0) / 1000).toFixed(0)} s from the start`);
    const build = hotLog.find((h) => h.sha === tip);
    const img = store.hot!.image(repoId, tip)!;
    rows.push({ figure: 'hot.build', entities: img.entities.length, files: img.files.length, ms: round(build?.ms ?? NaN), phasesMs: build?.phases, load: load() });
    const cold = new HistoryStore(svc.db);

    const g = img.graph;
    // Search per mode, at the tip (hot) and at the old commit (the store's snapshot path).
    const sample = (ents: StoredEntity[]): StoredEntity[] => {
      const pool = ents.filter((e) => (e.kind === 'function' || e.kind === 'method' || e.kind === 'class') && e.name.length >= 6);
      const k = Math.max(1, Math.floor(pool.length / 30));
      return pool.filter((_, i) => i % k === 0).slice(0, 30);
    };
    const picked = sample(img.entities);
    const queries: Record<SearchMode, string[]> = {
      text: picked.map((e) => e.name.replace(/([a-z])([A-Z])/g, '$1 $2')),
      fuzzy: picked.map((e) => e.name.slice(0, Math.floor(e.name.length / 2)) + e.name.slice(Math.floor(e.name.length / 2) + 1)),
      regex: picked.map((e) => `^${e.name.slice(0, 4).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      vector: picked.map((e) => `${e.name}${e.signature ?? ''}`),
      hybrid: picked.map((e) => e.name),
    };
    // CODEGRAPH_BENCH_HOT_UPDATES_ONLY=1: only the build and the updates (while working on them).
    if (process.env.CODEGRAPH_BENCH_HOT_UPDATES_ONLY !== '1') {
      // callers(depth 2) at the tip on entities that have callers.
      const withCallers = img.entities.filter((e) => e.kind !== 'import' && g.calls.in(e.i).length > 0);
      const step = Math.max(1, Math.floor(withCallers.length / 40));
      const targets = withCallers.filter((_, i) => i % step === 0).slice(0, 40).map((e) => e.qualifiedName);
      await store.callers(repoId, tip, targets[0]!, 2);
      const hot = await times(targets, (qn) => store.callers(repoId, tip, qn, 2));
      const sql = await times(targets.slice(0, 15), (qn) => cold.callers(repoId, tip, qn, 2));
      rows.push({
        figure: 'hot.callers_depth2', entities: targets.length, p50Ms: round(pct(hot, 50), 3), p99Ms: round(pct(hot, 99), 3),
        peer: 'HistoryStore.callers without hot store', peerEntities: sql.length, peerP50Ms: round(pct(sql, 50)), peerP99Ms: round(pct(sql, 99)), ratio: round(pct(hot, 50) / pct(sql, 50), 5), load: load(),
      });

      // A GraphQL page of 100 entities with their callees, over HTTP.
      const repoName = path.basename(dir);
      const page = (sha: string) => async (): Promise<void> => {
        const res = await fetch(`${svc.server.url}/graphql`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `{ repository(name: "${repoName}") { commit(rev: "${sha}") { entities(first: 100, kind: [function]) { edges { node { name callees { nodes { name } } } } } } } }` }),
        });
        const body = (await res.json()) as { errors?: unknown };
        if (body.errors) throw new Error(JSON.stringify(body.errors));
      };
      await page(tip)();
      const gqlHot = await times([...Array(15).keys()], page(tip));
      const gqlOld = await times([...Array(2).keys()], page(old));
      rows.push({ figure: 'hot.graphql_callees_page', requests: gqlHot.length, p50Ms: round(pct(gqlHot, 50)), p99Ms: round(pct(gqlHot, 99)), peer: 'same page at old (history store)', peerP50Ms: round(pct(gqlOld, 50)), ratio: round(pct(gqlHot, 50) / pct(gqlOld, 50), 4), load: load() });

      for (const [label, sha] of [['tip', tip], ['old', old]] as const) {
        for (const mode of ['text', 'fuzzy', 'regex', 'vector', 'hybrid'] as const) {
          const s = performance.now();
          await store.search.search(repoId, sha, { query: queries[mode][0]!, mode });
          const firstMs = performance.now() - s;
          const t = await times(queries[mode], (q) => store.search.search(repoId, sha, { query: q, mode }));
          rows.push({ figure: 'hot.search', mode, commit: label, source: label === 'tip' ? 'hot store' : 'history store snapshot', queries: t.length, firstMs: round(firstMs), p50Ms: round(pct(t, 50)), p99Ms: round(pct(t, 99)), load: load() });
        }
      }

    }

    // Ref moves of 1-file commits on the most imported file: add a function, edit its body, rename
    // it, edit the body of a function other files call; then add a function to another file. Each:
    // the update (log: from the stored commit to the tip held), files resolved, and the first
    // callers / TEXT queries at the new tip (what the move left to rebuild in memory) vs the second.
    const importers = new Map<string, number>();
    for (const f of img.files) for (const t of f.imports) importers.set(t, (importers.get(t) ?? 0) + 1);
    const hub = [...importers].filter(([p]) => files.includes(p)).sort((a, b) => b[1] - a[1])[0]!;
    const hubText = (): string => fs.readFileSync(path.join(dir, hub[0]), 'utf8');
    const hubLines = hubText().split('\n');
    // A called declaration spanning lines: a comment line goes in after its first line (lines of
    // everything after it move; nothing else changes).
    const called = img.entities.find((e) => e.path === hub[0] && e.kind !== 'module' && g.calls.in(e.i).length > 0
      && e.endLine > e.startLine + 1 && /[{(,]\s*$/.test(hubLines[e.startLine - 1] ?? ''));
    // Another imported file whose text ends with a newline (appending to a file that does not can
    // change how its last statement parses, and so its entities).
    const other = [...importers].filter(([p]) => p !== hub[0] && files.includes(p) && fs.readFileSync(path.join(dir, p), 'utf8').endsWith('\n'))
      .sort((a, b) => b[1] - a[1])[0]?.[0] ?? files[0]!;
    const moves: Array<[string, string, () => void]> = [
      ['add a function', hub[0], () => fs.appendFileSync(path.join(dir, hub[0]), '\nexport function benchAdded(x: number): number {\n  return x + 1;\n}\n')],
      ['edit its body', hub[0], () => fs.writeFileSync(path.join(dir, hub[0]), hubText().replace('return x + 1;', 'return x + 2 * x;'))],
      ['rename it', hub[0], () => fs.writeFileSync(path.join(dir, hub[0]), hubText().replace('function benchAdded(', 'function benchRenamed('))],
      ['comment in a called declaration', hub[0], () => {
        const lines = hubText().split('\n');
        if (called) lines.splice(called.startLine, 0, '  // bench edit');
        fs.writeFileSync(path.join(dir, hub[0]), lines.join('\n'));
      }],
      ['add a function elsewhere', other, () => fs.appendFileSync(path.join(dir, other), '\nexport function benchElsewhere(x: number): number {\n  return x - 1;\n}\n')],
    ];
    const probe = img.entities.filter((e) => e.kind === 'function' && g.calls.in(e.i).length > 0).slice(0, 1)[0]?.qualifiedName;
    for (const [what, file, change] of moves) {
      change();
      try {
        await git(dir, ['commit', '-qam', what]);
      } catch (err) {
        rows.push({ figure: 'hot.update', change: what, error: `no commit: ${String(err)}`, load: load() });
        continue;
      }
      const sha = (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
      const end = Date.now() + 300_000;
      while (!hotLog.some((h) => h.sha === sha) && Date.now() < end) await sleep(50);
      const h = hotLog.find((x) => x.sha === sha);
      if (!h) {
        rows.push({ figure: 'hot.update', change: what, error: 'the tip was not held within 300 s', load: load() });
        continue;
      }
      const first = async (f: () => Promise<unknown>): Promise<[number, number]> => {
        let s = performance.now();
        await f();
        const a = performance.now() - s;
        s = performance.now();
        await f();
        return [a, performance.now() - s];
      };
      const cpu0 = process.cpuUsage();
      const [callersFirst, callersSecond] = probe ? await first(() => store.callers(repoId, sha, probe, 2)) : [NaN, NaN];
      const [textFirst, textSecond] = await first(() => store.search.search(repoId, sha, { query: queries.text[0]!, mode: 'text' }));
      const cpu = process.cpuUsage(cpu0);
      rows.push({
        figure: 'hot.update', change: what, file, importers: importers.get(file) ?? 0, how: h.how, ms: round(h.ms), phasesMs: h.phases, changedFiles: h.changedFiles, resolvedFiles: h.resolvedFiles,
        firstCallersMs: round(callersFirst), secondCallersMs: round(callersSecond), firstTextMs: round(textFirst), secondTextMs: round(textSecond),
        firstQueriesCpuMs: round((cpu.user + cpu.system) / 1000), peer: 'hot.build', ratio: round(h.ms / (build?.ms ?? NaN), 5), load: load(),
      });
      log(JSON.stringify(rows[rows.length - 1]));
    }
    const mem = process.memoryUsage();
    rows.push({ figure: 'hot.rss', rssMB: round(mem.rss / 2 ** 20, 1), heapUsedMB: round(mem.heapUsed / 2 ** 20, 1), load: load() });
  } finally {
    await svc.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
