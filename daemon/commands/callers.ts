// `codegraph callers|callees <repo> <qualifiedName>`: who calls an entity, or what it calls,
// transitively to --depth, at a revision indexed on demand (issue #12). Resolution is the store's
// (HistoryStore.callers/callees), the same the GraphQL fields use.
import { GitRepo } from '../../indexer/git/index.ts';
import type { Indexer } from '../../indexer/index.ts';
import type { CallEdge, HistoryStore } from '../../store/index.ts';
import { CliError, ExitCode, STORE_OPTIONS, parseCommand, positiveInt, storeLocation } from '../cli.ts';
import { askDaemon, daemonFor } from '../discovery.ts';
import type { OpenHistoryOptions } from '../history.ts';
import { qualify } from './names.ts';

/** Largest --depth (the GraphQL fields' limit too). */
const MAX_DEPTH = 5;

/** Opens the store, indexes `rev` when needed, and runs `fn` at its commit. */
export async function atRevision<T>(
  repo: GitRepo, rev: string, location: ReturnType<typeof storeLocation> & Pick<OpenHistoryOptions, 'searchLimits'>, indexer: () => Indexer,
  fn: (store: HistoryStore, repoId: number, sha: string) => Promise<T>,
): Promise<T> {
  const sha = await repo.resolveCommit(rev);
  // Loaded here, not with the module: a command the running daemon answers needs none of it.
  const { indexCommit, openHistoryStore } = await import('../history.ts');
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
  --standalone         open the store even when \`codegraph serve\` serves this data directory (by
                       default the running daemon answers a qualified name, from the graph it holds)
  --data DIR           embedded database directory (env CODEGRAPH_DATA_DIR; default <repo>/.codegraph)
  --database-url URL   PostgreSQL server instead of the embedded database (env CODEGRAPH_DATABASE_URL)`;

  async function run(argv: string[]): Promise<number> {
    const parsed = parseCommand(argv, USAGE, {
      depth: { type: 'string', default: '1' }, rev: { type: 'string', default: 'HEAD' }, json: { type: 'boolean', default: false },
      standalone: { type: 'boolean', default: false }, ...STORE_OPTIONS,
    });
    if (parsed === null) return ExitCode.OK;
    const { values, positionals } = parsed;
    const [repoPath, name, ...extra] = positionals;
    if (repoPath === undefined || name === undefined || extra.length > 0) throw new CliError('USAGE', `expected <repo> <qualifiedName>.\n${USAGE}`);
    const depth = positiveInt(values.depth, '--depth');
    if (depth > MAX_DEPTH) throw new CliError('USAGE', `--depth must be at most ${MAX_DEPTH}, got ${depth}`);
    const repo = await GitRepo.open(repoPath);
    let indexer: Indexer | null = null;
    const print = (sha: string, qualifiedName: string, edges: CallEdge[]): number => {
      const rows = edges.map((e) => {
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
    };
    try {
      const location = storeLocation(repo.path, values);
      const daemon = values.standalone ? null : daemonFor(location.dataDir, repo.path);
      if (daemon !== null) {
        // The daemon walks the graph it holds (at a tip, its hot store's). A bare name, a walk cut
        // at its cap or any failure is done here instead, with this command's messages and codes.
        const sha = await repo.resolveCommit(values.rev);
        const data = await askDaemon<{ repository: { commit: { entity: { qualifiedName: string; walk: { truncated: boolean; calls: CallEdge[] } } | null } } | null }>(
          daemon.info, daemonWalk(direction, depth), { repo: daemon.name, rev: sha, name });
        const found = data?.repository?.commit.entity;
        if (found && !found.walk.truncated) return print(sha, found.qualifiedName, found.walk.calls);
      }
      const { Indexer } = await import('../../indexer/index.ts');
      return await atRevision(repo, values.rev, location, () => (indexer ??= new Indexer()), async (store, repoId, sha) => {
        const qualifiedName = await qualify(store, repoId, sha, name);
        return print(sha, qualifiedName, await store[direction](repoId, sha, qualifiedName, depth));
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

/** The daemon's walk, asking each call's ends for the fields the CLI prints (EntityRef's, in its
 * order). `depth` (1..MAX_DEPTH, checked) is written in: the daemon's cost estimate takes the
 * deepest walk for a variable, and refuses the query. */
function daemonWalk(direction: 'callers' | 'callees', depth: number): string {
  const ref = 'kind name qualifiedName path startLine endLine';
  return `query CliWalk($repo: String!, $rev: String!, $name: String!) {
  repository(name: $repo) {
    commit(rev: $rev) {
      entity(qualifiedName: $name) {
        qualifiedName
        walk: ${direction}(depth: ${depth}) { truncated calls { from { ${ref} } to { ${ref} } line via depth } }
      }
    }
  }
}`;
}
