// Regression (#9): the whole-tree graph of a commit the hot store does not hold (HYBRID search's
// PageRank, topEntities, path, cycles, neighbourhood) was resolved file by file and name by name,
// three statements per file plus one per name looked up: ~2,500 statements on zod, 11-14 s for
// `codegraph search` beside the daemon (each statement a round trip to the database process),
// against 0.4 s over GraphQL at the tip. Now the tree is read in a few bulk statements and
// resolved in memory, as the hot store resolves a tip; the edges must be the ones callers and
// callees give (resolved from the database), and the statements must not grow with the files.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { indexHistory } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import type { HistoryStore } from '../store/index.ts';
import { RESOLVE_BATCH } from '../store/hot/tree.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const FILES = 150;

/** Module i: class C_i extends C_(i-1), its method calling the next module's function, and a
 * function calling the class's method and the previous module's function. */
function moduleSource(i: number): string {
  const next = (i + 1) % FILES;
  const prev = (i + FILES - 1) % FILES;
  const lines = [
    `import { f${next} } from './m${next}';`,
    `import { f${prev} } from './m${prev}';`,
    ...(i > 0 ? [`import { C${prev} } from './m${prev}';`] : []),
    `export class C${i}${i > 0 ? ` extends C${prev}` : ''} {`,
    `  m${i}(): number { return f${next}(${i}); }`,
    '}',
    `export function f${i}(n: number): number {`,
    `  if (n > ${FILES}) return f${prev}(n - 1);`,
    `  return new C${i}().m${i}() + n;`,
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

await withBackends('search graph round trips', (b) => {
  let db: Db;
  let statements = 0;
  let store: HistoryStore;
  let repoId: number;
  let tip: string;
  before(async () => {
    const repo = await makeRepo();
    for (let i = 0; i < FILES; i++) await repo.write(`src/m${i}.ts`, moduleSource(i));
    tip = await repo.commit('modules');
    db = await (await b.fresh()).open();
    const counting = new Proxy(db, {
      get(target, key, receiver): unknown {
        if (key === 'query') return (...args: Parameters<Db['query']>) => { statements++; return target.query(...args); };
        const v = Reflect.get(target, key, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    store = await openStore(counting);
    await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
      repoId = (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId;
    }));
  });
  after(async () => db.close());

  it('resolves the whole tree in a few statements, with the edges callers and callees give', async () => {
    const snap = await store.search.snapshot(repoId, tip);
    statements = 0;
    const g = await snap.graph();
    const limit = 8 + Math.ceil(FILES / RESOLVE_BATCH);
    assert.ok(statements <= limit, `${statements} statements for ${FILES} files (at most ${limit})`);

    const qn = (i: number): string => snap.entities[i]!.qualifiedName;
    let compared = 0;
    for (const e of snap.entities) {
      if (e.kind !== 'function' && e.kind !== 'method') continue;
      const fromGraph = [...g.calls.out(e.i)].map(qn).sort();
      const fromStore = [...new Set((await store.callees(repoId, tip, e.qualifiedName, 1)).map((c) => c.to.qualifiedName))].sort();
      assert.deepEqual(fromGraph, fromStore, `callees of ${e.qualifiedName}`);
      compared++;
    }
    assert.equal(compared, 2 * FILES);
    // Every class but the first inherits the previous one; every module imports two others.
    const inherits = snap.entities.filter((e) => e.kind === 'class').reduce((n, e) => n + g.inherits.out(e.i).length, 0);
    assert.equal(inherits, FILES - 1);
    const imports = snap.entities.filter((e) => e.kind === 'module').reduce((n, e) => n + g.imports.out(e.i).length, 0);
    assert.equal(imports, 2 * FILES);
    // f_i calls f_(i-1), constructs C_i and calls its m_i.
    assert.deepEqual([...g.calls.out(snap.entities.find((e) => e.qualifiedName === 'src/m3.ts::f3')!.i)].map(qn).sort(),
      ['src/m2.ts::f2', 'src/m3.ts::C3', 'src/m3.ts::C3.m3']);
  });
});
