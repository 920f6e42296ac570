// The ANN index of the ref tips (store/ann, issue #12) on the `big` corpus (709k lines of
// TypeScript): recall@10 and nearest() latency of the graph store/ann builds (usearch HNSW, cosine,
// f16, connectivity 16, expansion_search 128: `newGraph`), against an exact cosine scan of the same
// vectors in the same run (the peer).
//
//   CODEGRAPH_BENCH_CACHE=/work/bench-cache npm run bench -- ann
//
// Vectors: the built-in embedder (indexer/embed.ts, 256 dims) of every 12-line window of the
// corpus's source files, about one function-sized text per window. No index run, so the figure is
// the graph's alone, not the store's. Figures:
// - `ann.build`: vectors, build seconds (add in chunks of 1,024 as AnnIndex does), CPU seconds;
// - `ann.search`: p50/p99 ms of `search(k = 10)` over 500 queries (bodies of the set itself, perturbed
//   by dropping their first line) vs the exact scan's p50/p99 (`speedupP50`), and recall@10 against it;
// - `ann.saveLoad`: bytes on disk, save and load ms.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embed, EMBEDDING_DIMS } from '../indexer/embed.ts';
import { newGraph } from '../store/ann/index.ts';
import { ensureCorpus } from './corpus.ts';
import { pct } from './stats.ts';

export const name = 'ann';

const round = (x: number, d = 3): number => Number(x.toFixed(d));
const log = (m: string): void => void process.stderr.write(`[ann] ${m}\n`);
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function* files(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === '.git') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (/\.(ts|tsx|js)$/.test(e.name)) yield p;
  }
}

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const corpus = await ensureCorpus('big');
  const load = (): string => os.loadavg().map((x) => x.toFixed(1)).join(' ');
  const texts: string[] = [];
  for (const f of files(corpus.path)) {
    const lines = fs.readFileSync(f, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i += 12) {
      const t = lines.slice(i, i + 12).join('\n');
      if (t.trim().length > 40) texts.push(t);
    }
  }
  log(`${texts.length} windows; embedding`);
  const dims = EMBEDDING_DIMS;
  const n = texts.length;
  const matrix = new Float32Array(n * dims);
  texts.forEach((t, i) => matrix.set(embed(t), i * dims));

  const t0 = performance.now();
  const c0 = cpu();
  const graph = newGraph(dims);
  for (let i = 0; i < n; i += 1024) {
    const m = Math.min(n, i + 1024);
    graph.add(BigUint64Array.from({ length: m - i }, (_, j) => BigInt(i + j)), matrix.subarray(i * dims, m * dims), 1);
  }
  const build = { bench: name, figure: 'ann.build', vectors: n, dims, seconds: round((performance.now() - t0) / 1000, 1), cpuSeconds: round(cpu() - c0, 1), load: load() };
  log(JSON.stringify(build));

  const Q = 500;
  const K = 10;
  const annMs: number[] = [];
  const exactMs: number[] = [];
  let found = 0;
  for (let qi = 0; qi < Q; qi++) {
    const src = texts[Math.floor((qi * 7919) % n)]!;
    const q = embed(src.split('\n').slice(1).join('\n') || src);
    let t = performance.now();
    const got = graph.search(q, K, 1).keys;
    annMs.push(performance.now() - t);
    t = performance.now();
    // Exact: cosine = dot product (unit vectors); keep the top K.
    const best: Array<[number, number]> = [];
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let d = 0, o = r * dims; d < dims; d++) s += q[d]! * matrix[o + d]!;
      if (best.length < K || s > best[best.length - 1]![1]) {
        best.push([r, s]);
        best.sort((a, b) => b[1] - a[1]);
        if (best.length > K) best.pop();
      }
    }
    exactMs.push(performance.now() - t);
    const want = new Set(best.map((b) => b[0]));
    for (const k of got) if (want.has(Number(k))) found++;
  }
  const search = {
    bench: name, figure: 'ann.search', vectors: n, queries: Q, k: K, recallAt10: round(found / (Q * K), 4),
    p50Ms: round(pct(annMs, 50)), p99Ms: round(pct(annMs, 99)), exactP50Ms: round(pct(exactMs, 50)), exactP99Ms: round(pct(exactMs, 99)),
    speedupP50: round(pct(exactMs, 50) / pct(annMs, 50), 1), load: load(),
  };
  log(JSON.stringify(search));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-ann-bench-'));
  try {
    const file = path.join(dir, 'graph.usearch');
    let t = performance.now();
    graph.save(file);
    const saveMs = performance.now() - t;
    t = performance.now();
    const again = newGraph(dims);
    again.load(file);
    const loadMs = performance.now() - t;
    return [build, search, { bench: name, figure: 'ann.saveLoad', bytes: fs.statSync(file).size, bytesPerVector: Math.round(fs.statSync(file).size / n), saveMs: round(saveMs, 0), loadMs: round(loadMs, 0), loaded: again.size(), load: load() }];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
