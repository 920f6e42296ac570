// Regression: `codegraph callers <repo> setCharset` answered 'No entity "setCharset"' and
// `codegraph history <repo> setCharset` refused the name for want of a `path::` prefix, although one
// file of the repository defines it (found trying the CLI on expressjs/express). A bare name that one
// file defines is now looked up at the revision; one that several define is AMBIGUOUS_ENTITY (exit 2)
// with the candidates; an unknown one keeps its not-found error. A CommonJS binding
// (`var setCharset = require('./utils').setCharset`, as express writes it) is an import, not a
// second entity of that name.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { ExitCode } from '../daemon/cli.ts';
import { cli } from './helpers/cli.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';

after(cleanupAll);

it('resolves a bare entity name for callers and history, and lists the candidates when several files define it', { timeout: 300_000 }, async () => {
  const r = await makeRepo();
  await r.writeFiles({
    'lib/utils.js': 'exports.setCharset = function setCharset(type, charset) {\n  return type + charset;\n};\nfunction helper() { return 1; }\nmodule.exports.helper = helper;\n',
    'lib/response.js': 'const { setCharset } = require("./utils");\nfunction send(body) {\n  return setCharset(body, "utf-8");\n}\nfunction helper() { return 2; }\nmodule.exports = { send, helper };\n',
    // express's own form: the binding was a variable entity named setCharset, so the name was ambiguous.
    'lib/request.js': 'var setCharset = require("./utils").setCharset;\nfunction type(t) {\n  return setCharset(t, "utf-8");\n}\nmodule.exports = { type };\n',
  });
  const c1 = await r.commit('add utils and response');
  await r.write('lib/utils.js', 'exports.setCharset = function setCharset(type, charset) {\n  if (!charset) return type;\n  return type + charset;\n};\nfunction helper() { return 1; }\nmodule.exports.helper = helper;\n');
  const c2 = await r.commit('setCharset: keep the type without a charset');
  const data = await makeTempDir('codegraph-bare-name-');

  const callers = await cli(['callers', r.dir, 'setCharset', '--json', '--data', data]);
  assert.equal(callers.code, ExitCode.OK, callers.stderr);
  const out = JSON.parse(callers.stdout) as { qualifiedName: string; callers: Array<{ entity: { qualifiedName: string } }> };
  assert.equal(out.qualifiedName, 'lib/utils.js::setCharset');
  assert.deepEqual(out.callers.map((c) => c.entity.qualifiedName).sort(), ['lib/request.js::type', 'lib/response.js::send']);

  assert.equal((await cli(['index', r.dir, '--history', 'all', '--data', data])).code, ExitCode.OK);
  const history = await cli(['history', r.dir, 'setCharset', '--json', '--data', data]);
  assert.equal(history.code, ExitCode.OK, history.stderr);
  const h = JSON.parse(history.stdout) as { qualifiedName: string; changes: Array<{ sha: string; change: string }> };
  assert.equal(h.qualifiedName, 'lib/utils.js::setCharset');
  assert.deepEqual(h.changes.map((c) => [c.sha, c.change]), [[c2, 'modified'], [c1, 'added']]);

  const ambiguous = await cli(['callers', r.dir, 'helper', '--data', data]);
  assert.equal(ambiguous.code, ExitCode.USAGE);
  assert.match(ambiguous.stderr, /"helper" names 2 entities at [0-9a-f]{12}: lib\/response\.js::helper, lib\/utils\.js::helper\. Give one of them with its `path::` prefix/);
  assert.equal((await cli(['history', r.dir, 'helper', '--data', data])).code, ExitCode.USAGE);

  const unknown = await cli(['history', r.dir, 'setCharsett', '--data', data]);
  assert.equal(unknown.code, ExitCode.UNKNOWN_REVISION);
  assert.match(unknown.stderr, /no entity setCharsett/);
});
