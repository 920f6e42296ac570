// One coded-error base and one code table (issue #8): every module's errors extend CodedError, the
// CLI's exit code and GraphQL's extensions.code come from errors/codes.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CliError } from '../daemon/cli.ts';
import { ConfigError } from '../daemon/config.ts';
import { StartupError } from '../daemon/server/index.ts';
import { FetchError } from '../daemon/watch.ts';
import { CODES, CodedError, ExitCode, exitCodeOf, graphqlCodeOf } from '../errors/index.ts';
import { ParseTimeoutError } from '../indexer/extract.ts';
import { BatchProtocolError } from '../indexer/git/batch-parser.ts';
import { CommitParseError } from '../indexer/git/commit.ts';
import { GitError } from '../indexer/git/index.ts';
import { TreeParseError } from '../indexer/git/tree.ts';
import { DbError } from '../store/db.ts';
import { StoreError } from '../store/index.ts';
import { LockError } from '../store/lock.ts';
import { MigrationError } from '../store/migrate.ts';
import { cleanupAll } from './helpers/gitrepo.ts';
import { gql, startTestServer, type Harness } from './server-helpers.ts';

const samples: CodedError[] = [
  new GitError('UNKNOWN_REVISION', 'no such rev', { rev: 'x' }),
  new StoreError('COMMIT_NOT_INDEXED', 'not indexed', { sha: 'abc' }),
  new DbError('CONNECT_FAILED', 'down', {}, new Error('econnrefused')),
  new MigrationError('MIGRATION_CHECKSUM', 'changed'),
  new LockError('held', { path: '/d/codegraph.lock', owner: null }),
  new CliError('USAGE', 'bad flag'),
  new ConfigError(['port: must be an integer']),
  new StartupError('refusing'),
  new FetchError('demo', 'origin', 'fatal: no remote'),
  new ParseTimeoutError('parse', 100),
  new BatchProtocolError('out of sync'),
  new CommitParseError('no tree'),
  new TreeParseError('truncated'),
];

test('every module error is a CodedError whose code is in the table, and survives JSON', () => {
  for (const err of samples) {
    assert.ok(err instanceof CodedError, err.name);
    assert.ok(Object.hasOwn(CODES, err.code), `${err.name} code ${err.code} is in errors/codes.ts`);
    const json = JSON.parse(JSON.stringify(err)) as ReturnType<CodedError['toJSON']>;
    assert.deepEqual(json, { name: err.name, code: err.code, message: err.message, data: err.data });
    const back = CodedError.fromJSON(json);
    assert.equal(back.code, err.code);
    assert.equal(back.name, err.name);
    assert.ok(CodedError.is(back, err.code));
  }
  const git = GitError.fromJSON(samples[0]!.toJSON() as never);
  assert.ok(git instanceof GitError && GitError.is(git, 'UNKNOWN_REVISION'));
  assert.equal(GitError.is(samples[1], 'COMMIT_NOT_INDEXED' as never), false, 'is() checks the class it is called on');
  assert.equal((samples[2]!.cause as Error).message, 'econnrefused');
});

test('exit codes come from the table', () => {
  assert.equal(exitCodeOf(new LockError('held', { path: 'x', owner: null })), ExitCode.LOCKED);
  assert.equal(exitCodeOf(new GitError('NOT_A_REPOSITORY', 'x')), ExitCode.NOT_A_REPOSITORY);
  assert.equal(exitCodeOf(new GitError('UNKNOWN_REVISION', 'x')), ExitCode.UNKNOWN_REVISION);
  assert.equal(exitCodeOf(new StoreError('COMMIT_NOT_INDEXED', 'x')), ExitCode.UNKNOWN_REVISION);
  assert.equal(exitCodeOf(new ConfigError(['x'])), ExitCode.CONFIG);
  assert.equal(new ConfigError(['x']).exitCode, ExitCode.CONFIG);
  assert.equal(exitCodeOf(Object.assign(new TypeError('x'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' })), ExitCode.USAGE);
  assert.equal(exitCodeOf(new Error('x')), ExitCode.FAILURE);
  assert.equal(exitCodeOf(Object.assign(new Error('x'), { code: 'toString' })), ExitCode.FAILURE, 'inherited keys are not codes');
  assert.equal(graphqlCodeOf(new GitError('GIT_FAILED', 'x')), null, 'internal errors are masked');
});

describe('GraphQL boundary', () => {
  let h: Harness;
  before(async () => {
    h = await startTestServer();
  });
  after(async () => {
    await h.server.close();
    await cleanupAll();
  });

  test('a StoreError thrown by the backend reaches the client with its mapped code, not "Unexpected error."', async () => {
    h.backend.refsError = new StoreError('COMMIT_NOT_INDEXED', 'commit abc is not indexed yet');
    try {
      const { body } = await gql(h.server.url, '{ repository(name: "demo") { refs { name } } }');
      assert.equal(body.errors?.[0]?.extensions?.code, 'NOT_INDEXED');
      assert.equal(body.errors?.[0]?.message, 'commit abc is not indexed yet');
      h.backend.refsError = new GitError('GIT_FAILED', 'git exited 128: secret stderr');
      const masked = await gql(h.server.url, '{ repository(name: "demo") { refs { name } } }');
      assert.equal(masked.body.errors?.[0]?.message, 'Unexpected error.');
    } finally {
      h.backend.refsError = null;
    }
  });
});
