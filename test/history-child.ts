// Child process for test/history-crash.test.ts: indexes a repository's whole history into a
// database, exactly as `codegraph index --history all` does. With CODEGRAPH_TEST_KILL_AFTER_COMMITS=k
// it SIGKILLs itself after storing k commits (daemon/history.ts).
//   node --import tsx test/history-child.ts <repo> <dataDir|postgres://...>
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { runHistoryIndex } from '../daemon/history.ts';

const [repoPath, target] = process.argv.slice(2);
if (repoPath === undefined || target === undefined) throw new Error('usage: history-child.ts <repo> <dataDir|databaseUrl>');
const repo = await GitRepo.open(repoPath);
const indexer = new Indexer({ threads: 1 });
try {
  const r = await runHistoryIndex({
    repo, indexer, history: 'all',
    ...(target.startsWith('postgres') ? { databaseUrl: target } : { dataDir: target }),
  });
  process.stdout.write(`${JSON.stringify({ indexed: r.indexed.length })}\n`);
} finally {
  await indexer.close();
  await repo.close();
}
