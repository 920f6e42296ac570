// `codegraph callers|callees <repo> <qualifiedName>`: who calls an entity, or what it calls,
// transitively to --depth, at a revision indexed on demand (issue #12). Resolution is the store's
// (HistoryStore.callers/callees), the same the GraphQL fields use.
import { GitRepo } from '../../indexer/git/index.ts';
import { Indexer } from '../../indexer/index.ts';
import type { CallEdge, HistoryStore } from '../../store/index.ts';
import { CliError, ExitCode, STORE_OPTIONS, parseCommand, positiveInt, storeLocation } from '../cli.ts';
import { indexCommit, openHistoryStore, type OpenHistoryOptions } from '../history.ts';
import { qualify } from './names.ts';

/** Largest --depth (the GraphQL fields' limit too). */
const MAX_DEPTH = 5;

/** Opens the store, indexes `rev` when needed, and runs `fn` at its commit. */
export async function atRevision<T>(
  repo: GitRepo, rev: string, location: ReturnType<typeof storeLocation> & Pick<OpenHistoryOptions, 'searchLimits'>, indexer: () => Indexer,
  fn: (store: HistoryStore, repoId: number, sha: string) => Promise<T>,
): Promise<T> {
  const sha = await repo.resolveCommit(rev);
  const { db, store } = await openHistoryStore(location);
  try {
    const repoId = await store.repository(repo.path);
    if (!(await store.indexedCommits(repoId, [sha])).has(sha)) await indexCommit({ repo, store, indexer: indexer(), repoId }, sha);
    return await fn(store, repoId, sha);
  } finally {
    await db.close();
  }
}

function command(direction: 'callers' | 'callees') {
  const USAGE = `usage: codegraph ${direction} <repo> <qualifiedName> [--depth N] [--rev REV] [--json] [--data DIR] [--database-url URL]

  <qualifiedName>      \`src/a.ts::Parser.parse\`, or \`Parser.parse\` when one file at REV has an entity
                       of that name (find names with \`codegraph search\`)
  --depth N            follow ${direction} transitively up to N levels (1..${MAX_DEPTH}, default 1)
  --rev REV            the revision (default HEAD; indexed on demand)
  --json               one JSON object: {rev, qualifiedName, ${direction}: [{entity, depth, line, via, ${direction === 'callers' ? 'calls' : 'calledBy'}}]}
  --data DIR           embedded database directory (env CODEGRAPH_DATA_DIR; default <repo>/.codegraph)
  --database-url URL   PostgreSQL server instead of the embedded database (env CODEGRAPH_DATABASE_URL)`;

  async function run(argv: string[]): Promise<number> {
    const parsed = parseCommand(argv, USAGE, {
      depth: { type: 'string', default: '1' }, rev: { type: 'string', default: 'HEAD' }, json: { type: 'boolean', default: false }, ...STORE_OPTIONS,
    });
    if (parsed === null) return ExitCode.OK;
    const { values, positionals } = parsed;
    const [repoPath, name, ...extra] = positionals;
    if (repoPath === undefined || name === undefined || extra.length > 0) throw new CliError('USAGE', `expected <repo> <qualifiedName>.\n${USAGE}`);
    const depth = positiveInt(values.depth, '--depth');
    if (depth > MAX_DEPTH) throw new CliError('USAGE', `--depth must be at most ${MAX_DEPTH}, got ${depth}`);
    const repo = await GitRepo.open(repoPath);
    let indexer: Indexer | null = null;
    try {
      return await atRevision(repo, values.rev, storeLocation(repo.path, values), () => (indexer ??= new Indexer()), async (store, repoId, sha) => {
        const qualifiedName = await qualify(store, repoId, sha, name);
        const edges = await store[direction](repoId, sha, qualifiedName, depth);
        const rows = edges.map((e: CallEdge) => {
          const [entity, other] = direction === 'callers' ? [e.from, e.to] : [e.to, e.from];
          return { entity, depth: e.depth, line: e.line, via: e.via, [direction === 'callers' ? 'calls' : 'calledBy']: other.qualifiedName };
        });
        if (values.json) {
          process.stdout.write(`${JSON.stringify({ rev: sha, qualifiedName, [direction]: rows })}\n`);
        } else if (rows.length === 0) {
          process.stdout.write(`no ${direction} of ${qualifiedName} at ${sha.slice(0, 12)}\n`);
        } else {
          for (const r of rows) {
            const other = (r as { calls?: string; calledBy?: string }).calls ?? (r as { calledBy?: string }).calledBy ?? '';
            process.stdout.write(`${'  '.repeat(r.depth - 1)}${r.entity.qualifiedName}  ${r.entity.path}:${r.entity.startLine}  (${direction === 'callers' ? 'calls' : 'called by'} ${other}, line ${r.line}, ${r.via})\n`);
          }
        }
        return ExitCode.OK;
      });
    } finally {
      await (indexer as Indexer | null)?.close();
      await repo.close();
    }
  }
  return { run };
}

export const callers = command('callers');
export const callees = command('callees');
