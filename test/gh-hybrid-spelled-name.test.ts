// Regression (#9, found trying `codegraph search` on zod): HYBRID, the default mode, put the name a
// query spells out in words below entities that merely use those words. `parse params` ranked
// finalizeParams and safeParse (text hits whose bodies embed close to the query) above the type
// ParseParams, which TEXT ranks first with its whole-name bonus. HYBRID's exact-name list now takes
// the names the query's words run together into, as TEXT's bonus counts them.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { indexHistory } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import type { HistoryStore } from '../store/index.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const PARSE = `export type ParseParams = { path: string[] };

/** Finalizes the parse params: fills in the params a parse was given. */
export function finalizeParams(params?: ParseParams): ParseParams {
  const parse = params ?? { path: [] };
  return { path: [...parse.path] };
}

/** Parses data with params; returns the parse result. */
export function safeParse(data: unknown, params?: ParseParams): { data: unknown; params: ParseParams } {
  return { data, params: finalizeParams(params) };
}

/** Parses data with params; throws when the parse fails. */
export function parse(data: unknown, params?: ParseParams): unknown {
  return safeParse(data, params).data;
}

export function parse_params(raw: string): string[] {
  return raw.split(',');
}
`;

await withBackends('hybrid search of a name spelled in words', (b) => {
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  let tip: string;
  before(async () => {
    const repo = await makeRepo();
    await repo.write('src/parse.ts', PARSE);
    await repo.write('src/use.ts', "import { parse, safeParse } from './parse';\n\nexport function run(x: unknown): unknown {\n  return parse(x) ?? safeParse(x);\n}\n");
    tip = await repo.commit('parse');
    db = await (await b.fresh()).open();
    store = await openStore(db);
    await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
      repoId = (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId;
    }));
  });
  after(async () => db.close());

  it('ranks the names the words run together into first, as TEXT does', async () => {
    const names = async (mode: 'text' | 'hybrid') => (await store.search.search(repoId, tip, { query: 'parse params', mode, first: 3 })).items.map((x) => x.node.entity.name);
    assert.deepEqual((await names('text')).slice(0, 2).sort(), ['ParseParams', 'parse_params']);
    assert.deepEqual((await names('hybrid')).slice(0, 2).sort(), ['ParseParams', 'parse_params']);
  });
});
