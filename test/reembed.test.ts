// Switching the embedding provider (issue #12), on both backends: the store records the model and
// its dimensions, a background job embeds every distinct body with the new provider in steps
// (progress reported, cursor saved), queries keep answering from the built-in vectors while it runs
// (the job is held mid-way by a gate: fault injection), then use the new provider's vectors; a
// later commit's new bodies are embedded by the next wake; a restarted job resumes where it was.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../daemon/config.ts';
import { startService } from '../daemon/service.ts';
import { fileURLToPath } from 'node:url';
import { indexHistory } from '../daemon/history.ts';
import { GitRepo } from '../indexer/git/index.ts';
import type { Db } from '../store/db.ts';
import { OnnxEmbedder, type Embedder } from '../store/embedders/index.ts';
import type { HistoryStore, ReembedProgress } from '../store/index.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { until, untilReady } from './helpers/serve.ts';
import { withBackends } from './harness/pg.ts';
import { buildSearchFixture, FILES, type SearchFixture } from './search-fixtures.ts';
import { openStore, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const fixtures = fileURLToPath(new URL('./fixtures/onnx/', import.meta.url));

/** Wraps an embedder: counts calls, and holds each call until `release()` while `held`. */
class Gated implements Embedder {
  calls = 0;
  texts = 0;
  held = false;
  private waiters: Array<() => void> = [];
  constructor(private readonly inner: Embedder) {}
  get id(): string {
    return this.inner.id;
  }
  get dims(): number {
    return this.inner.dims;
  }
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.calls++;
    this.texts += texts.length;
    if (this.held) await new Promise<void>((r) => this.waiters.push(r));
    return this.inner.embed(texts);
  }
  release(): void {
    this.held = false;
    for (const w of this.waiters.splice(0)) w();
  }
}

await withBackends('reembed', (b) => {
  let fx: SearchFixture;
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  let git: GitRepo;
  let onnx: OnnxEmbedder;
  const index = () => withIndexer(async (indexer) => {
    repoId = (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId;
  });
  const blobs = (sha: string) => git.readBlob(sha).catch(() => null);
  const distinctBodies = async () => Number((await db.query<{ n: string }>(`SELECT count(DISTINCT body_hash) AS n FROM entities WHERE kind NOT IN ('module', 'import')`)).rows[0]!.n);
  const modelRows = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM model_embeddings')).rows[0]!.n);
  const bodyOf = async (name: string): Promise<string> => {
    const ent = (await store.entities(repoId, fx.tip, { name }))[0]!;
    const file = (await store.tree(repoId, fx.tip)).find((f) => f.path === ent.path)!;
    return (await git.readBlob(file.blobSha)).toString('utf8').split('\n').slice(ent.startLine - 1, ent.endLine).join('\n');
  };
  const top = async (q: string) => (await store.search.search(repoId, fx.tip, { query: q, mode: 'vector', first: 5 })).items.map((x) => `${x.node.entity.name} ${x.node.score.toFixed(4)}`);

  before(async () => {
    fx = await buildSearchFixture();
    git = await GitRepo.open(fx.repo.dir);
    db = await (await b.fresh()).open();
    store = await openStore(db);
    onnx = await OnnxEmbedder.open({ model: join(fixtures, 'tiny-bert.onnx'), tokenizer: join(fixtures, 'tokenizer.json'), dims: 8, maxTokens: 512 });
    await index();
  });
  after(async () => {
    await store.useEmbedder(null, blobs);
    await onnx.close();
    await git.close();
    await db.close();
  });

  const gated = () => new Gated(onnx);
  let gate: Gated;
  const progress: ReembedProgress[] = [];

  it('queries answer from the built-in vectors while the new provider re-embeds in the background', async () => {
    const builtin = await top('parse the response');
    gate = gated();
    gate.held = true;
    const job = await store.useEmbedder(gate, blobs, { extractionsPerStep: 2, onProgress: (p) => progress.push(p) });
    assert.ok(job);
    const { rows } = await db.query<{ name: string; dims: number; complete: boolean }>('SELECT name, dims, complete FROM embedding_models');
    assert.deepEqual(rows, [{ name: onnx.id, dims: 8, complete: false }], 'the store records the provider, model and dimensions');
    const running = job.wake();
    while (gate.calls === 0) await new Promise((r) => setTimeout(r, 10));
    // The job is held inside its first batch: queries still work, from the built-in vectors.
    assert.equal(job.complete, false);
    assert.deepEqual(await top('parse the response'), builtin);
    assert.equal(gate.calls, 1, 'the query did not use the new provider');
    gate.release();
    await running;
    assert.equal(job.complete, true);
    assert.equal(await modelRows(), await distinctBodies(), 'every distinct body embedded once');
    assert.equal(gate.texts, await distinctBodies());
    assert.ok(progress.length >= 2, 'progress reported per step');
    const last = progress[progress.length - 1]!;
    assert.deepEqual([last.complete, last.doneExtractions], [true, last.totalExtractions]);
    assert.ok(progress.some((p) => !p.complete && p.doneExtractions < p.totalExtractions), 'partial progress seen');
    assert.equal((await db.query<{ complete: boolean }>('SELECT complete FROM embedding_models')).rows[0]!.complete, true);
  });

  it('then VECTOR search embeds the query and ranks with the new provider', async () => {
    const calls = gate.calls;
    const body = await bodyOf('parseHTTPResponse');
    const hits = (await store.search.search(repoId, fx.tip, { query: body, mode: 'vector', first: 3 })).items;
    assert.equal(gate.calls, calls + 1, 'the query was embedded by the new provider');
    assert.equal(hits[0]!.node.entity.name, 'parseHTTPResponse');
    // A cosine in the new model's space: the body against itself, 1 up to the int8 storage.
    assert.ok(Math.abs(hits[0]!.node.score - 1) < 0.01, `score ${hits[0]!.node.score}`);
  });

  it('a later commit\'s new bodies are embedded by the next wake, and a restarted job resumes', async () => {
    await fx.repo.write('src/new.ts', 'export function configure(x: string) {\n  return x;\n}\n');
    fx.tip = await fx.repo.commit('new body');
    await index();
    const before = await modelRows();
    await store.useEmbedder(gate, blobs).then((j) => j!.wake());
    assert.equal(await modelRows(), before + 1);
    assert.equal(await modelRows(), await distinctBodies());
    const texts = gate.texts;
    const again = await store.useEmbedder(gate, blobs);
    assert.equal(again!.complete, true, 'the completed state is stored');
    await again!.wake();
    assert.equal(gate.texts, texts, 'nothing embedded twice');
    assert.equal((await store.search.search(repoId, fx.tip, { query: await bodyOf('configure'), mode: 'vector', first: 1 })).items[0]!.node.entity.name, 'configure');
  });
});

describe('codegraph serve with [embedder] provider = "onnx"', { timeout: 300_000 }, () => {
  it('re-embeds in the background, then searches and the ANN index use the provider (VECTOR finds bodies embedded after their tip entered the ANN index)', async () => {
    const repo = await makeRepo();
    await repo.writeFiles(FILES);
    const c1 = await repo.commit('first');
    const data = await makeTempDir('cg-reembed-serve-');
    const file = join(data, 'codegraph.toml');
    writeFileSync(file, `port = 0\ndataDir = "${data}"\nthreads = 1\npollIntervalMs = 200\n[embedder]\nprovider = "onnx"\nmodel = "${join(fixtures, 'tiny-bert.onnx')}"\ntokenizer = "${join(fixtures, 'tokenizer.json')}"\ndims = 8\n[[repos]]\npath = "${repo.dir}"\n`);
    const config = loadConfig({ argv: ['--config', file], env: {} });
    assert.equal(config.embedder.provider, 'onnx');
    const s = await startService({ config, logger: pino({ level: 'silent' }) });
    try {
      await untilReady(s, 90_000);
      const id = await s.store.repository(repo.dir);
      await until(async () => (await s.store.db.query<{ complete: boolean }>('SELECT complete FROM embedding_models')).rows[0]?.complete === true, 'provider vectors complete', 120_000);
      await until(() => s.store.ann?.embedderId.startsWith('onnx:tiny-bert@') === true && s.store.ann.has({ repoId: id, sha: c1 }), 'ANN index over the provider vectors', 120_000);
      const before = s.store.ann!.searches;
      // Served from the ANN index over the provider's vectors. The tip was synced into it right
      // after the index run, before the provider had embedded its bodies (the re-embedding that
      // run wakes runs after it): the index must pick them up once they are embedded.
      // (Regression: the ANN index held the tip with no bodies, and VECTOR through serve found nothing.)
      await until(() => s.store.ann!.size > 0, 'provider vectors in the ANN index', 60_000);
      const body = 'export function unusedLeaf(x: number): number {\n  return x * 2;\n}';
      const r = await s.store.search.search(id, c1, { query: body, mode: 'vector' });
      assert.ok(r.items.length > 0, 'VECTOR through serve finds entities');
      assert.equal(r.items[0]!.node.entity.name, 'unusedLeaf');
      assert.equal(s.store.ann!.searches, before + 1);
      const metrics = await (await fetch(`${s.server.url.replace(/\/graphql$/, '')}/metrics`)).text();
      assert.match(metrics, /codegraph_embedding_extractions\{model="onnx:tiny-bert@[0-9a-f]+",state="done"\} [1-9]/);
    } finally {
      await s.close();
    }
  });
});
