// Config precedence (file < env < flags), defaults, and every validation message.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadConfig } from '../daemon/config.ts';
import { ExitCode } from '../daemon/cli.ts';
import { DEFAULT_EXCLUDES } from '../indexer/indexer.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'cg-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function file(text: string): string {
  const f = path.join(mkdtempSync(path.join(dir, 'c-')), 'codegraph.toml');
  writeFileSync(f, text);
  return f;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.exitCode, ExitCode.CONFIG);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('defaults, each read in one place', () => {
  const c = loadConfig({ argv: ['--repo', '/srv/repo'], env: {} });
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 4000);
  assert.equal(c.history, 200);
  assert.equal(c.backfill, 10_000);
  assert.equal(c.maxFileBytes, 2_097_152);
  assert.equal(c.pollIntervalMs, 2_000);
  assert.deepEqual(c.exclude, [...DEFAULT_EXCLUDES]);
  assert.equal(c.dataDir, '/srv/repo/.codegraph');
  assert.deepEqual(c.repos, [{ path: '/srv/repo', name: 'repo' }]);
  assert.equal(c.limits.maxDepth, 12);
  assert.equal(c.limits.maxBodyBytes, 1_048_576);
  assert.equal(c.limits.wsMaxPayloadBytes, 1_048_576);
  assert.deepEqual(c.auth, { tokens: [] });
});

test('backfill: --backfill over CODEGRAPH_BACKFILL, 0 turns it off, a negative depth is refused (#9)', () => {
  assert.equal(loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_BACKFILL: '500' } }).backfill, 500);
  assert.equal(loadConfig({ argv: ['--repo', '/r', '--backfill', '0'], env: { CODEGRAPH_BACKFILL: '500' } }).backfill, 0);
  assert.throws(() => loadConfig({ argv: ['--repo', '/r', '--backfill=-1'], env: {} }), /backfill: must be a non-negative integer \(from --backfill\)/);
});

test('$STATE_DIRECTORY is the data dir under systemd; an explicit dataDir wins', () => {
  assert.equal(loadConfig({ argv: ['--repo', '/r'], env: { STATE_DIRECTORY: '/var/lib/codegraph:/other' } }).dataDir, '/var/lib/codegraph');
  assert.equal(loadConfig({ argv: ['--repo', '/r', '--data-dir', '/d'], env: { STATE_DIRECTORY: '/var/lib/codegraph' } }).dataDir, '/d');
});

test('precedence: file < CODEGRAPH_* < flags; repo paths relative to the config file', () => {
  const f = file(`port = 1111\nhistory = 10\nthreads = 3\nexclude = ["vendor/**"]\n[[repos]]\npath = "repo.git"\nremote = "origin"\n[limits]\nmaxDepth = 8\n`);
  const c = loadConfig({ argv: ['--config', f, '--port', '3333'], env: { CODEGRAPH_PORT: '2222', CODEGRAPH_HISTORY: '20', CODEGRAPH_EXCLUDE: 'gen/**,dist/**' } });
  assert.equal(c.port, 3333);
  assert.equal(c.history, 20);
  assert.equal(c.threads, 3);
  assert.deepEqual(c.exclude, ['gen/**', 'dist/**']);
  assert.deepEqual(c.repos, [{ path: path.join(path.dirname(f), 'repo.git'), remote: 'origin', name: 'repo' }]);
  assert.equal(c.limits.maxDepth, 8);
  assert.equal(c.limits.maxCost, 20_000);
  const envOnly = loadConfig({ argv: ['--config', f], env: { CODEGRAPH_PORT: '2222' } });
  assert.equal(envOnly.port, 2222);
});

test('CODEGRAPH_REPOS, CODEGRAPH_AUTH_TOKEN_SHA256 and CODEGRAPH_JWT_SECRET', () => {
  const c = loadConfig({ argv: [], env: { CODEGRAPH_REPOS: `/a${path.delimiter}/b.git`, CODEGRAPH_AUTH_TOKEN_SHA256: 'a'.repeat(64), CODEGRAPH_JWT_SECRET: 's'.repeat(40), CODEGRAPH_HOST: '0.0.0.0' } });
  assert.deepEqual(c.repos.map((r) => r.name), ['a', 'b']);
  assert.deepEqual(c.auth.tokens, [{ name: 'env-1', sha256: 'a'.repeat(64), scopes: ['read'] }]);
  assert.equal(c.auth.jwt?.secret, 's'.repeat(40));
  assert.equal(c.host, '0.0.0.0');
});

test('validation messages name the setting, what to do, and where the value came from', () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => loadConfig({ argv: [], env: {} }), /^repos: list at least one repository: \[\[repos\]\] path = "\.\.\." in the config file, CODEGRAPH_REPOS or --repo \(from config\)$/],
    [() => loadConfig({ argv: ['--repo', '/r', '--port', '70000'], env: {} }), /^port: must be an integer from 0 to 65535 \(from --port\)$/],
    [() => loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_PORT: 'abc' } }), /^port: must be an integer from 0 to 65535 \(from CODEGRAPH_PORT\)$/],
    [() => loadConfig({ argv: ['--repo', '/r', '--history', '0'], env: {} }), /^history: must be a positive integer \(from --history\)$/],
    [() => loadConfig({ argv: ['--repo', '/r', '--threads=-2'], env: {} }), /^threads: must be a positive integer \(from --threads\)$/],
    [() => loadConfig({ argv: ['--repo', '/r', '--max-file-bytes', 'big'], env: {} }), /^maxFileBytes: must be a positive integer \(bytes\) \(from --max-file-bytes\)$/],
    [() => loadConfig({ argv: ['--repo', '/r', '--poll-interval-ms', '5'], env: {} }), /^pollIntervalMs: must be at least 100 ms \(from --poll-interval-ms\)$/],
    [() => loadConfig({ argv: ['--repo', '/r', '--database-url', 'mysql://x'], env: {} }), /^databaseUrl: must start with postgres:\/\/ or postgresql:\/\/ \(from --database-url\)$/],
    [() => loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_WEBHOOK_SECRET: 'short' } }), /^webhookSecret: must be at least 16 characters \(from CODEGRAPH_WEBHOOK_SECRET\)$/],
    [() => loadConfig({ argv: ['--repo', '/r', '--host', '0.0.0.0'], env: {} }), /^host: refusing to listen on 0\.0\.0\.0 without authentication\. Configure \[\[auth\.tokens\]\] or \[auth\.jwt\].*or bind to 127\.0\.0\.1 \(from --host\)$/],
    [() => loadConfig({ argv: ['--repo', '/x/r', '--repo', '/y/r'], env: {} }), /^repos: two repositories are named 'r'; give one of them a distinct name = "\.\.\." \(from --repo\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\nname = "bad name!"\n')], env: {} }), /^repos\.0\.name: must be 1 to 100 characters of A-Z a-z 0-9 \. _ - \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\nremote = "a b"\n')], env: {} }), /^repos\.0\.remote: must be a configured git remote name such as origin \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\n[auth]\ntokens = [{ name = "x", sha256 = "plaintext-token" }]\n')], env: {} }), /^auth\.tokens\.0\.sha256: must be 64 lowercase hex characters: the sha256 of the token \(printf %s "\$TOKEN" \| sha256sum\), never the token itself \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\n[auth.jwt]\nsecret = "short"\n')], env: {} }), /^auth\.jwt\.secret: must be at least 32 characters \(HS256 needs 256 bits of key\) \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\n[auth.jwt]\nissuer = "me"\n')], env: {} }), /^auth\.jwt: set exactly one of auth\.jwt\.secret, auth\.jwt\.publicKeyFile, auth\.jwt\.jwksFile \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--config', file('prot = 1\n[[repos]]\npath = "a"\n')], env: {} }), /^Unrecognized key: "prot" \(from config\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\n[limits]\nmaxDepth = 0\n')], env: {} }), /^limits\.maxDepth: Too small: expected number to be >=1 \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_REQUEST_TIMEOUT_MS: '5' } }), /^limits\.requestTimeoutMs: must be at least 100 ms \(from CODEGRAPH_REQUEST_TIMEOUT_MS\)$/],
    [() => loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_REQUEST_TIMEOUT_MS: 'soon' } }), /^limits\.requestTimeoutMs: must be an integer number of milliseconds \(from CODEGRAPH_REQUEST_TIMEOUT_MS\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\n[limits]\nrequestTimeoutMs = 3600000\n')], env: {} }), /^limits\.requestTimeoutMs: must be at most 600000 ms \(10 minutes\) \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\n[limits]\nmaxResults = 0\n')], env: {} }), /^limits\.maxResults: must be a positive integer \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--config', file('[[repos]]\npath = "a"\n[limits]\nonDemandCommits = -1\n')], env: {} }), /^limits\.onDemandCommits: must be an integer from 0 to 100 \(from codegraph\.toml\)$/],
    [() => loadConfig({ argv: ['--config', path.join(dir, 'missing.toml')], env: {} }), /^cannot read config file .*missing\.toml: ENOENT.*Check the --config path\.$/],
    [() => loadConfig({ argv: ['--config', file('port = = 1\n')], env: {} }), /codegraph\.toml is not valid TOML: /],
  ];
  const wrong: string[] = [];
  for (const [fn, re] of cases) {
    const p = problems(fn);
    if (p.length !== 1 || !re.test(p[0]!)) wrong.push(`${re}: got ${JSON.stringify(p)}`);
  }
  assert.deepEqual(wrong, []);
});

test('query limits: defaults, and CODEGRAPH_REQUEST_TIMEOUT_MS over the config file', () => {
  const d = loadConfig({ argv: ['--repo', '/r'], env: {} });
  assert.deepEqual([d.limits.requestTimeoutMs, d.limits.maxResults, d.limits.onDemandCommits], [10_000, 1_000, 2]);
  const f = file('[[repos]]\npath = "a"\n[limits]\nrequestTimeoutMs = 2000\nmaxCost = 500\n');
  const c = loadConfig({ argv: ['--config', f], env: { CODEGRAPH_REQUEST_TIMEOUT_MS: '30000' } });
  assert.equal(c.limits.requestTimeoutMs, 30_000);
  assert.equal(c.limits.maxCost, 500, 'the rest of [limits] stays');
});

test('several problems are reported together', () => {
  const p = problems(() => loadConfig({ argv: ['--repo', '/r', '--port', 'x', '--history', '0'], env: {} }));
  assert.equal(p.length, 2);
});

test('an unknown flag is a usage error, not a config error', () => {
  assert.throws(() => loadConfig({ argv: ['--prot', '1'], env: {} }), (err: unknown) => (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION');
});

test('memory settings: CODEGRAPH_WORKER_IDLE_MS and CODEGRAPH_PGLITE_SHARED_BUFFERS, validated (#9)', () => {
  const c = loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_WORKER_IDLE_MS: '0', CODEGRAPH_PGLITE_SHARED_BUFFERS: '64MB' } });
  assert.equal(c.workerIdleMs, 0);
  assert.equal(c.pgliteSharedBuffers, '64MB');
  const d = loadConfig({ argv: ['--repo', '/r'], env: {} });
  assert.equal(d.workerIdleMs, undefined, 'the default lives in indexer/pool.ts');
  assert.equal(d.pgliteSharedBuffers, undefined, 'the default lives in store/db.ts');
  assert.deepEqual(problems(() => loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_PGLITE_SHARED_BUFFERS: '32 MB' } })),
    ['pgliteSharedBuffers: must be a PostgreSQL size such as 32MB (from CODEGRAPH_PGLITE_SHARED_BUFFERS)']);
  assert.deepEqual(problems(() => loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_WORKER_IDLE_MS: '-1' } })),
    ['workerIdleMs: must be a non-negative integer (ms) (from CODEGRAPH_WORKER_IDLE_MS)']);
});

test('memory settings: CODEGRAPH_PGLITE_MAX_MEMORY caps the embedded heap, at least 128MB (#9)', () => {
  assert.equal(loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_PGLITE_MAX_MEMORY: '512MB' } }).pgliteMaxMemory, '512MB');
  assert.equal(loadConfig({ argv: ['--repo', '/r'], env: {} }).pgliteMaxMemory, undefined, 'no cap by default');
  assert.deepEqual(problems(() => loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_PGLITE_MAX_MEMORY: '64MB' } })),
    ["pgliteMaxMemory: must be at least 128MB (PGlite's initial heap) (from CODEGRAPH_PGLITE_MAX_MEMORY)"]);
  assert.deepEqual(problems(() => loadConfig({ argv: ['--repo', '/r'], env: { CODEGRAPH_PGLITE_MAX_MEMORY: '1 GB' } })),
    ['pgliteMaxMemory: must be a size such as 512MB (from CODEGRAPH_PGLITE_MAX_MEMORY)']);
});
