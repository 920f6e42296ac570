// GraphQL `entity(qualifiedName)` of an overloaded Java method by its bare name answered null, a
// null a client cannot tell from "no such entity" (the CLI named the overloads). It now fails with
// BAD_USER_INPUT and lists them; an overload's full name and an unknown name answer as before.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../daemon/config.ts';
import { startService } from '../daemon/service.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { captureLogs, untilReady } from './helpers/serve.ts';

after(() => cleanupAll());

test('entity() of an overloaded method by its bare name fails with the overloads listed', { timeout: 240_000 }, async () => {
  const repo = await makeRepo();
  await repo.writeFiles({
    'src/Shape.java': 'package ex;\n\nclass Shape {\n  double area(double r) { return r * r; }\n  double area(double w, double h) { return w * h; }\n  int sides() { return 0; }\n}\n',
  });
  await repo.commit('one');
  const data = await makeTempDir('cg-gql-overload-');
  const config = loadConfig({ argv: ['--repo', repo.dir, '--port', '0', '--data-dir', data, '--history', '5', '--threads', '1'], env: {} });
  const s = await startService({ config, logger: captureLogs().logger });
  try {
    await untilReady(s, 120_000);
    const ask = async (qn: string) => {
      const res = await fetch(`${s.server.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ repository(name: "${path.basename(repo.dir)}") { commit(rev: "HEAD") { entity(qualifiedName: ${JSON.stringify(qn)}) { qualifiedName } } } }` }),
      });
      return (await res.json()) as { data?: { repository: { commit: { entity: { qualifiedName: string } | null } } }; errors?: Array<{ message: string; extensions: { code: string; overloads?: string[] } }> };
    };
    const bare = await ask('src/Shape.java::Shape.area');
    assert.equal(bare.errors?.[0]?.extensions.code, 'BAD_USER_INPUT', JSON.stringify(bare));
    assert.deepEqual(bare.errors[0]!.extensions.overloads!.sort(), ['src/Shape.java::Shape.area(double)', 'src/Shape.java::Shape.area(double,double)']);
    assert.match(bare.errors[0]!.message, /is overloaded/);

    const one = await ask('src/Shape.java::Shape.area(double,double)');
    assert.equal(one.errors, undefined);
    assert.equal(one.data?.repository.commit.entity?.qualifiedName, 'src/Shape.java::Shape.area(double,double)');
    const plain = await ask('src/Shape.java::Shape.sides');
    assert.equal(plain.data?.repository.commit.entity?.qualifiedName, 'src/Shape.java::Shape.sides');
    const none = await ask('src/Shape.java::Shape.volume');
    assert.equal(none.errors, undefined);
    assert.equal(none.data?.repository.commit.entity, null);
  } finally {
    await s.close();
  }
});
