// `codegraph search <repo> <query>`: TEXT, FUZZY, REGEX, VECTOR or HYBRID search of the entities at a
// revision (issue #12), indexed on demand.
import { GitRepo } from '../../indexer/git/index.ts';
import { ENTITY_KINDS, type EntityKind } from '../../indexer/types.ts';
import type { Indexer } from '../../indexer/index.ts';
import { SEARCH_MODES, type SearchMatch, type SearchMode } from '../../store/index.ts';
import { CliError, ExitCode, STORE_OPTIONS, parseCommand, positiveInt, storeLocation } from '../cli.ts';
import { askDaemon, daemonFor } from '../discovery.ts';

const USAGE = `usage: codegraph search <repo> <query> [--mode M] [--rev REV] [--kind K]... [--path P] [--bodies] [--first N] [--json] [--data DIR] [--database-url URL]

  --mode M             text (keywords and identifier sub-tokens), fuzzy (names, typos allowed),
                       regex (JavaScript regular expression over names), vector (body similarity),
                       hybrid (text + vector + exact names, boosted by call-graph rank; the default)
  --rev REV            the revision to search (default HEAD; indexed on demand)
  --kind K             only entities of this kind (repeatable): ${ENTITY_KINDS.join(', ')}
  --path P             a path prefix, or a glob when it has glob characters
  --bodies             regex mode: match entity bodies too
  --first N            how many results (1..100, default 20)
  --json               one JSON object: {rev, total, hits: [{entity, score, matches, alsoAt}]}
  --standalone         open the store even when \`codegraph serve\` serves this data directory (by
                       default the running daemon answers, from the snapshot it holds)
  --data DIR           embedded database directory (env CODEGRAPH_DATA_DIR; default <repo>/.codegraph)
  --database-url URL   PostgreSQL server instead of the embedded database (env CODEGRAPH_DATABASE_URL)`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, {
    mode: { type: 'string', default: 'hybrid' }, rev: { type: 'string', default: 'HEAD' }, kind: { type: 'string', multiple: true },
    path: { type: 'string' }, bodies: { type: 'boolean', default: false }, first: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false }, standalone: { type: 'boolean', default: false }, ...STORE_OPTIONS,
  });
  if (parsed === null) return ExitCode.OK;
  const { values, positionals } = parsed;
  const [repoPath, query, ...extra] = positionals;
  if (repoPath === undefined || query === undefined || extra.length > 0) throw new CliError('USAGE', `expected <repo> <query> (quote a query of several words).\n${USAGE}`);
  const mode = values.mode.toLowerCase() as SearchMode;
  if (!SEARCH_MODES.includes(mode)) throw new CliError('USAGE', `--mode must be one of ${SEARCH_MODES.join(', ')}, got ${JSON.stringify(values.mode)}`);
  const kinds = (values.kind ?? []) as EntityKind[];
  for (const k of kinds) if (!ENTITY_KINDS.includes(k)) throw new CliError('USAGE', `--kind must be one of ${ENTITY_KINDS.join(', ')}, got ${JSON.stringify(k)}`);
  const first = positiveInt(values.first, '--first');
  const repo = await GitRepo.open(repoPath);
  let indexer: Indexer | null = null;
  const print = (sha: string, total: number, hits: Hit[]): number => {
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ rev: sha, total, hits })}\n`);
    } else if (hits.length === 0) {
      process.stdout.write(`no match for ${JSON.stringify(query)} (${mode}) at ${sha.slice(0, 12)}\n`);
    } else {
      for (const h of hits) {
        const why = h.matches.map((m) => `${m.field}${m.tokens.length > 0 ? `:${m.tokens.join(',')}` : ''}`).join(' ');
        const also = h.alsoAt.length > 0 ? ` (+${h.alsoAt.length} of that name at ${h.alsoAt.join(', ')})` : '';
        process.stdout.write(`${h.score.toFixed(4)}  ${h.entity.kind.padEnd(11)} ${h.entity.qualifiedName}  ${h.entity.path}:${h.entity.startLine}${also}  [${why}]\n`);
      }
      if (total > hits.length) process.stdout.write(`(${hits.length} of ${total}; --first N for more)\n`);
    }
    return ExitCode.OK;
  };
  try {
    const location = storeLocation(repo.path, values);
    const daemon = values.standalone ? null : daemonFor(location.dataDir, repo.path);
    if (daemon !== null) {
      // The daemon answers from the snapshot it holds (at a tip, its hot store's); anything it
      // cannot answer (an error, not reachable) is done here as without it.
      const sha = await repo.resolveCommit(values.rev);
      const data = await askDaemon<{ repository: { search: { totalCount: number; edges: Array<{ node: Hit }> } } | null }>(daemon.info, DAEMON_SEARCH, {
        repo: daemon.name, q: query, mode: mode.toUpperCase(), rev: sha, kinds: kinds.length > 0 ? kinds : null, path: values.path ?? null, bodies: values.bodies, first,
      });
      const found = data?.repository?.search;
      if (found) return print(sha, found.totalCount, found.edges.map((e) => e.node));
    }
    // One query per process: an exact scan of the body vectors takes milliseconds, where building
    // the ANN index a long-running daemon amortises took ~4 s of a 16 s query on a 709k-line tree.
    // Loaded only here: the store and the parser pool are most of this command's start-up.
    const [{ atRevision }, { Indexer }] = await Promise.all([import('./callers.ts'), import('../../indexer/index.ts')]);
    const direct = { ...location, searchLimits: { annMinBodies: Number.POSITIVE_INFINITY } };
    return await atRevision(repo, values.rev, direct, () => (indexer ??= new Indexer()), async (store, repoId, sha) => {
      const page = await store.search.search(repoId, sha, { query, mode, kinds, path: values.path ?? null, bodies: values.bodies, first }, (blob) => repo.readBlob(blob));
      return print(sha, page.total, page.items.map((x) => x.node));
    });
  } finally {
    await (indexer as Indexer | null)?.close();
    await repo.close();
  }
}

/** A hit as printed (`--json` prints these), whoever answered: the store's search, or the daemon's
 * GraphQL `search` asking for the same fields in the same order. */
interface Hit {
  entity: {
    kind: string; name: string; qualifiedName: string; path: string; startLine: number; endLine: number; signature: string | null; doc: string | null;
    exported: boolean; bodyHash: string | null; language: string; localName: string;
  };
  score: number;
  matches: SearchMatch[];
  alsoAt: number[];
}

const DAEMON_SEARCH = `query CliSearch($repo: String!, $q: String!, $mode: SearchMode!, $rev: String!, $kinds: [EntityKind!], $path: String, $bodies: Boolean, $first: Int) {
  repository(name: $repo) {
    search(query: $q, mode: $mode, rev: $rev, kinds: $kinds, path: $path, bodies: $bodies, first: $first) {
      totalCount
      edges { node {
        entity { kind name qualifiedName path startLine endLine signature doc exported bodyHash language localName }
        score matches { field tokens } alsoAt
      } }
    }
  }
}`;
