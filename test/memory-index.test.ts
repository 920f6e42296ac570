// `codegraph index` keeps no tree's worth of extractions (#9: memory). It consumes outcomes as they
// come (`extractFiles({ collect: false, onOutcome })`) and builds its summary one outcome at a time
// (`Summarizer`); holding every outcome to the end was the largest part of its peak on a 709k-line
// tree. Checked here: nothing is collected, every outcome still reaches onOutcome, and the
// incremental summary equals the one made from the full array.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer, Summarizer, summarize } from '../indexer/index.ts';
import type { ExtractOutcome } from '../indexer/index.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';

after(cleanupAll);

test('extractFiles with collect: false returns nothing and streams every outcome; the incremental summary equals summarize()', async () => {
  const r = await makeRepo();
  await r.writeFiles({
    'src/a.ts': 'export class A { run(): number { return helper(); } }\nfunction helper() { return 1; }\n',
    'src/b.ts': 'import { A } from "./a";\nexport const b = new A().run();\nfunction broken( {\n',
    'src/copy.ts': 'export class A { run(): number { return helper(); } }\nfunction helper() { return 1; }\n',
    'lib/c.py': 'def c():\n    return 2\n',
    'big.js': 'x'.repeat(4096),
    'README.md': '# r\n',
  });
  const sha = await r.commit('files');
  const repo = await GitRepo.open(r.dir);
  const indexer = new Indexer({ threads: 1, maxFileBytes: 1024 });
  try {
    const files = await repo.lsTree(sha);
    const all = await indexer.extractFiles(repo, files);
    const streamed: ExtractOutcome[] = [];
    const summarizer = new Summarizer();
    const kept = await indexer.extractFiles(repo, files, {
      collect: false,
      onOutcome: (o) => {
        streamed.push(o);
        summarizer.add(o);
      },
    });
    assert.deepEqual(kept, []);
    assert.equal(streamed.length, files.length);
    const byPath = (xs: ExtractOutcome[]) => new Map(xs.map((o) => [o.path, o.status]));
    assert.deepEqual(byPath(streamed), byPath(all));
    const full = summarize(all);
    assert.deepEqual(summarizer.summary, full);
    assert.equal(full.files, 6);
    assert.equal(full.skipped.too_large, 1);
    assert.ok(full.syntaxErrors > 0);
    assert.equal(full.byLanguage.typescript?.files, 3);
  } finally {
    await indexer.close();
    await repo.close();
  }
});
