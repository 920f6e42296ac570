// `codegraph search`, `callers` and `callees` end to end (issue #12): a real repository, the embedded
// database in a temp dir, on-demand indexing, JSON and text output, exit codes.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { ExitCode } from '../daemon/cli.ts';
import { cli } from './helpers/cli.ts';
import { cleanupAll, makeTempDir } from './helpers/gitrepo.ts';
import { buildSearchFixture } from './search-fixtures.ts';



after(cleanupAll);

const C = 'src/http/client.ts';

it('searches in every mode, lists callers and callees, and rejects bad input with exit 2', { timeout: 300_000 }, async () => {
  const fx = await buildSearchFixture();
  const data = await makeTempDir('codegraph-search-cli-');
  const s = await cli(['search', fx.repo.dir, 'parse response', '--mode', 'text', '--json', '--data', data]);
  assert.equal(s.code, ExitCode.OK, s.stderr);
  const out = JSON.parse(s.stdout) as { rev: string; total: number; hits: Array<{ entity: { name: string }; score: number; matches: unknown[] }> };
  assert.equal(out.rev, fx.tip);
  assert.deepEqual(out.hits.map((h) => h.entity.name), ['parseResponse', 'parseHTTPResponse']);

  const old = await cli(['search', fx.repo.dir, 'fetchUsr', '--mode', 'FUZZY', '--rev', fx.old, '--data', data]);
  assert.equal(old.code, ExitCode.OK, old.stderr);
  assert.match(old.stdout, /^\d\.\d{4} {2}function {4}src\/http\/client\.ts::fetchUser {2}src\/http\/client\.ts:\d+ {2}\[name:fetchUser\]\n$/);

  const re = await cli(['search', fx.repo.dir, '^get', '--mode', 'regex', '--kind', 'function', '--json', '--data', data]);
  assert.deepEqual((JSON.parse(re.stdout) as typeof out).hits.map((h) => h.entity.name).sort(), ['getUser', 'getUserName']);

  const callees = await cli(['callees', fx.repo.dir, `${C}::getUser`, '--depth', '2', '--json', '--data', data]);
  assert.equal(callees.code, ExitCode.OK, callees.stderr);
  const list = (JSON.parse(callees.stdout) as { callees: Array<{ entity: { name: string }; depth: number; calledBy: string }> }).callees;
  assert.deepEqual([...new Set(list.map((c) => `${c.depth} ${c.entity.name} <- ${c.calledBy.split('::')[1]}`))].sort(),
    ['1 loadUser <- getUser', '1 log <- getUser', '2 log <- loadUser', '2 parseResponse <- loadUser']);
  const callers = await cli(['callers', fx.repo.dir, `${C}::parseResponse`, '--depth', '2', '--rev', fx.old, '--data', data]);
  assert.equal(callers.code, ExitCode.OK, callers.stderr);
  assert.match(callers.stdout, /^src\/http\/client\.ts::fetchUser .*\n {2}src\/http\/client\.ts::getUser .*\n$/);

  assert.equal((await cli(['search', fx.repo.dir, '(', '--mode', 'regex', '--data', data])).code, ExitCode.USAGE);
  const slow = await cli(['search', fx.repo.dir, '(a+)+$', '--mode', 'regex', '--data', data]);
  assert.equal(slow.code, ExitCode.USAGE);
  assert.match(slow.stderr, /ran over its 250 ms budget/);
  assert.equal((await cli(['search', fx.repo.dir, ' ', '--data', data])).code, ExitCode.USAGE);
  assert.equal((await cli(['search', fx.repo.dir, 'x', '--mode', 'nope', '--data', data])).code, ExitCode.USAGE);
  assert.equal((await cli(['search', fx.repo.dir, 'x', '--first', '101', '--data', data])).code, ExitCode.USAGE);
  assert.equal((await cli(['callers', fx.repo.dir, `${C}::getUser`, '--depth', '6', '--data', data])).code, ExitCode.USAGE);
  const missing = await cli(['callers', fx.repo.dir, `${C}::nope`, '--data', data]);
  assert.equal(missing.code, ExitCode.UNKNOWN_REVISION);
  assert.match(missing.stderr, /No entity "src\/http\/client\.ts::nope"/);
});
