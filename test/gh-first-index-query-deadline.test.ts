// Regression: a GraphQL query for a commit not indexed yet, sent while `serve` ran its first index
// (a fresh daemon on a 6k-commit repository), queued its on-demand indexing behind the whole first
// index and failed at the request's deadline, DEADLINE_EXCEEDED with advice to "ask for less".
// It is now answered at once: UNAVAILABLE, saying the first index is running and how far it got;
// once the daemon is ready the same query is answered.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, it } from 'node:test';
import { loadConfig } from '../daemon/config.ts';
import { startService } from '../daemon/service.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { captureLogs, untilReady } from './helpers/serve.ts';

after(() => cleanupAll());

/** A fast-import stream of `n` commits on main (each continues the branch), each adding a function
 * to one of 20 files. */
function history(n: number): string {
  const parts: string[] = [];
  const files = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const file = `src/m${i % 20}.ts`;
    const body = `${files.get(file) ?? ''}export function f${i}(x: number): number {\n  return x + ${i};\n}\n`;
    files.set(file, body);
    const message = `commit ${i}`;
    parts.push('commit refs/heads/main', `committer T <t@example.com> ${1_700_000_000 + i * 60} +0000`,
      `data ${Buffer.byteLength(message)}`, message);
    parts.push(`M 100644 inline ${file}`, `data ${Buffer.byteLength(body)}`, body);
  }
  return parts.join('\n') + '\n';
}

it('a query for a commit not indexed yet during the first index answers UNAVAILABLE at once, not at its deadline', { timeout: 300_000 }, async () => {
  const repo = await makeRepo();
  await repo.git(['fast-import', '--quiet'], { input: history(300) });
  await repo.git(['checkout', '-q', '-f', 'main']);
  const name = path.basename(repo.dir);
  const config = loadConfig({
    argv: ['--repo', repo.dir, '--port', '0', '--data-dir', await makeTempDir('cg-first-'), '--threads', '1', '--backfill', '0'],
    // A deadline far beyond the first index: the old behaviour waited the whole index out.
    env: { CODEGRAPH_REQUEST_TIMEOUT_MS: '120000' },
  });
  const s = await startService({ config, logger: captureLogs().logger });
  try {
    const ask = async (): Promise<{ data?: { repository: { commit: { sha: string } | null } }; errors?: Array<{ message: string; extensions: { code: string } }> }> => {
      const res = await fetch(`${s.server.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ repository(name: "${name}") { commit(rev: "HEAD") { sha } } }` }),
      });
      return (await res.json()) as never;
    };
    // The daemon listens before its first index of 300 commits is done: HEAD is not indexed yet.
    const early = await ask();
    assert.equal(await s.ready(), false, 'the first index was still running when the answer came');
    assert.equal(early.errors?.[0]?.extensions.code, 'UNAVAILABLE', JSON.stringify(early));
    assert.match(early.errors[0]!.message, /is not indexed yet: the repository's first index is running \((starting|\d+ of \d+ commits stored)\)/);
    await untilReady(s, 240_000);
    const head = await repo.git(['rev-parse', 'HEAD']);
    assert.deepEqual((await ask()).data?.repository.commit, { sha: head });
  } finally {
    await s.close();
  }
});
