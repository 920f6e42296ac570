// The daemon's log format: JSON lines by default off a terminal (journald, scripts, the tests that
// read `serve`'s stderr), readable lines with CODEGRAPH_LOG_FORMAT=pretty (the default on a
// terminal, which a test cannot give a child, hence the variable), and a clear configuration error
// (exit 5) for any other value.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, it } from 'node:test';
import { BIN, cli } from './helpers/cli.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { until } from './helpers/serve.ts';

after(() => cleanupAll());

async function serveLog(format: string | undefined): Promise<string> {
  const repo = await makeRepo();
  await repo.write('a.py', 'def f():\n    return 1\n');
  await repo.commit('one');
  const env: NodeJS.ProcessEnv = { ...process.env, CODEGRAPH_LOG_LEVEL: 'info', CODEGRAPH_DATABASE_URL: '', CODEGRAPH_DATA_DIR: '' };
  if (format === undefined) delete env.CODEGRAPH_LOG_FORMAT;
  else env.CODEGRAPH_LOG_FORMAT = format;
  const child = spawn(process.execPath, [BIN, 'serve', repo.dir, '--port', '0', '--data', await makeTempDir(), '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  try {
    await until(() => stderr.includes('initial index done; ready') || child.exitCode !== null, 'serve did not get ready', 120_000);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  return stderr;
}

it('logs JSON lines when stderr is not a terminal', { timeout: 180_000 }, async () => {
  const log = await serveLog(undefined);
  const ready = log.split('\n').find((l) => l.includes('initial index done; ready'));
  assert.ok(ready !== undefined, log.slice(-2000));
  assert.equal((JSON.parse(ready) as { msg: string }).msg, 'initial index done; ready');
});

it('logs readable lines with CODEGRAPH_LOG_FORMAT=pretty', { timeout: 180_000 }, async () => {
  const log = await serveLog('pretty');
  assert.match(log, /^\[\d\d:\d\d:\d\d\] INFO[^\n]*: initial index done; ready$/m, log.slice(-2000));
  assert.ok(!log.split('\n').some((l) => l.startsWith('{"level"')), `no JSON lines: ${log.slice(-2000)}`);
});

it('refuses another CODEGRAPH_LOG_FORMAT with a configuration error (exit 5)', async () => {
  const r = await cli(['serve', '/nonexistent', '--port', '0'], { CODEGRAPH_LOG_FORMAT: 'xml' });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /CODEGRAPH_LOG_FORMAT \(environment\): must be json or pretty, got 'xml'/);
});
