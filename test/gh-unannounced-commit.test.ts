// Regression (issue 8, item 5): kill -9 after a commit was stored but before its `commitIndexed`
// notice went out; the restarted daemon found the commit already indexed and never announced it.
// Now the store keeps an outbox row written in the commit's own transaction, drained at start.
// The first daemon is a real `codegraph serve` child that SIGKILLs itself right after storing the
// 3rd commit of a run (CODEGRAPH_TEST_KILL_AFTER_COMMITS); the second runs in this process with an
// event fan-out we subscribed to before it started, so nothing it announces can be missed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../daemon/config.ts';
import { startService } from '../daemon/service.ts';
import { InProcessEvents } from '../daemon/server/pubsub.ts';
import type { EntityChangedEvent } from '../resolvers/context.ts';
import { cleanupAll, makeRepo, makeTempDir, type TestRepo } from './helpers/gitrepo.ts';
import { until } from './helpers/serve.ts';
import { withBackends, type TestDatabase } from './harness/pg.ts';

after(() => cleanupAll());

function storeArgs(t: TestDatabase): string[] {
  return t.options.databaseUrl !== undefined ? ['--database-url', t.options.databaseUrl] : ['--data', t.options.dataDir!];
}

/** `p`, or a rejection with `message` after `ms`; the timer is cleared either way, so it does not
 * keep the test process alive for minutes after the test is done. */
async function within<T>(p: Promise<T>, ms: number, message: () => string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.();
        reject(new Error(message()));
      }, ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `codegraph serve` until it kills itself after storing 3 commits in one run. */
async function serveUntilKilled(repo: TestRepo, t: TestDatabase, moveMain: () => Promise<void>): Promise<string> {
  const child = spawn(process.execPath, ['bin/codegraph.js', 'serve', repo.dir, '--port', '0', ...storeArgs(t), '--history', '50', '--threads', '1', '--poll-interval-ms', '100'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CODEGRAPH_LOG_LEVEL: 'info', CODEGRAPH_TEST_KILL_AFTER_COMMITS: '3' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await until(() => stderr.includes('initial index done') || child.exitCode !== null || child.signalCode !== null, 'initial index not done', 240_000);
  assert.equal(child.signalCode, null, `died during the initial index: ${stderr.slice(-3000)}`);
  // One ref move brings three commits: one run stores them, and the process dies after the 3rd,
  // before any of them is announced.
  await moveMain();
  const signal = await within(exited, 240_000, () => `the daemon did not kill itself after storing 3 commits: ${stderr.slice(-3000)}`, () => child.kill('SIGKILL'));
  assert.equal(signal, 'SIGKILL', stderr.slice(-3000));
  return stderr;
}

await withBackends('a stored commit killed before its notice is announced after restart', (b) => {
  it('announces the stored but unannounced commits (and their entity changes) at the next start, once each', { timeout: 900_000 }, async () => {
    const repo = await makeRepo();
    await repo.write('a.py', 'def seed():\n    return 0\n');
    const seed = await repo.commit('seed');
    // Three commits no ref reaches yet (made on a detached HEAD); main moves onto them in one step.
    await repo.git(['checkout', '-q', '--detach']);
    const shas: string[] = [];
    for (let i = 1; i <= 3; i++) {
      await repo.write(`f${i}.py`, `def f${i}():\n    return ${i}\n`);
      shas.push(await repo.commit(`f${i}`));
    }
    await repo.git(['checkout', '-q', 'main']);
    const t = await b.fresh();
    await serveUntilKilled(repo, t, () => repo.git(['reset', '-q', '--hard', shas[2]!]).then(() => undefined));

    const events = new InProcessEvents();
    const commits = events.subscribe('commitIndexed', repo.dir.split('/').pop()!);
    const changes = events.subscribe('entityChanged', repo.dir.split('/').pop()!);
    const data = t.options.dataDir ?? (await makeTempDir('cg-outbox-unused-'));
    const config = loadConfig({
      argv: ['--repo', repo.dir, '--port', '0', '--data-dir', data, '--history', '50', '--poll-interval-ms', '200', '--threads', '1',
        ...(t.options.databaseUrl !== undefined ? ['--database-url', t.options.databaseUrl] : [])],
      env: {},
    });
    const s = await startService({ config, logger: pino({ level: 'silent' }), events });
    try {
      const got: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await within(commits.next(), 240_000, () => `only ${got.length} commits announced: ${JSON.stringify(got)}`);
        got.push((r.value as { sha: string }).sha);
      }
      assert.deepEqual(got, shas, 'the three stored commits, in order; not the seed of the first index');
      const added: string[] = [];
      for (let i = 0; i < 3; i++) added.push(((await changes.next()).value as EntityChangedEvent).entity.name);
      assert.deepEqual(added, ['f1', 'f2', 'f3']);
      await until(async () => (await s.store.unannounced(await s.store.repository(repo.dir))).length === 0, 'outbox not drained', 10_000);
      // Drained means sent once: a later commit is announced alone.
      await repo.write('f4.py', 'def f4():\n    return 4\n');
      const c4 = await repo.commit('f4');
      const next = await commits.next();
      assert.equal((next.value as { sha: string }).sha, c4);
      assert.notEqual(c4, seed);
    } finally {
      await commits.return!();
      await changes.return!();
      await s.close();
    }
  });
});
