// `codegraph search <repo> <query>`: TEXT, FUZZY, REGEX, VECTOR or HYBRID search of the entities at a
// revision (issue #12), indexed on demand.
import { GitRepo } from '../../indexer/git/index.ts';
import { ENTITY_KINDS, type EntityKind } from '../../indexer/types.ts';
import { Indexer } from '../../indexer/index.ts';
import { SEARCH_MODES, type SearchMode } from '../../store/index.ts';
import { CliError, ExitCode, STORE_OPTIONS, parseCommand, positiveInt, storeLocation } from '../cli.ts';
import { atRevision } from './callers.ts';

const USAGE = `usage: codegraph search <repo> <query> [--mode M] [--rev REV] [--kind K]... [--path P] [--bodies] [--first N] [--json] [--data DIR] [--database-url URL]

  --mode M             text (keywords and identifier sub-tokens), fuzzy (names, typos allowed),
                       regex (JavaScript regular expression over names), vector (body similarity),
                       hybrid (text + vector + exact names, boosted by call-graph rank; the default)
  --rev REV            the revision to search (default HEAD; indexed on demand)
  --kind K             only entities of this kind (repeatable): ${ENTITY_KINDS.join(', ')}
  --path P             a path prefix, or a glob when it has glob characters
  --bodies             regex mode: match entity bodies too
  --first N            how many results (1..100, default 20)
  --json               one JSON object: {rev, total, hits: [{entity, score, matches}]}
  --data DIR           embedded database directory (env CODEGRAPH_DATA_DIR; default <repo>/.codegraph)
  --database-url URL   PostgreSQL server instead of the embedded database (env CODEGRAPH_DATABASE_URL)`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, {
    mode: { type: 'string', default: 'hybrid' }, rev: { type: 'string', default: 'HEAD' }, kind: { type: 'string', multiple: true },
    path: { type: 'string' }, bodies: { type: 'boolean', default: false }, first: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false }, ...STORE_OPTIONS,
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
  try {
    // One query per process: an exact scan of the body vectors takes milliseconds, where building
    // the ANN index a long-running daemon amortises took ~4 s of a 16 s query on a 709k-line tree.
    const location = { ...storeLocation(repo.path, values), searchLimits: { annMinBodies: Number.POSITIVE_INFINITY } };
    return await atRevision(repo, values.rev, location, () => (indexer ??= new Indexer()), async (store, repoId, sha) => {
      const page = await store.search.search(repoId, sha, { query, mode, kinds, path: values.path ?? null, bodies: values.bodies, first }, (blob) => repo.readBlob(blob));
      const hits = page.items.map((x) => x.node);
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ rev: sha, total: page.total, hits })}\n`);
      } else if (hits.length === 0) {
        process.stdout.write(`no match for ${JSON.stringify(query)} (${mode}) at ${sha.slice(0, 12)}\n`);
      } else {
        for (const h of hits) {
          const why = h.matches.map((m) => `${m.field}${m.tokens.length > 0 ? `:${m.tokens.join(',')}` : ''}`).join(' ');
          const also = h.alsoAt.length > 0 ? ` (+${h.alsoAt.length} of that name at ${h.alsoAt.join(', ')})` : '';
          process.stdout.write(`${h.score.toFixed(4)}  ${h.entity.kind.padEnd(11)} ${h.entity.qualifiedName}  ${h.entity.path}:${h.entity.startLine}${also}  [${why}]\n`);
        }
        if (page.total > hits.length) process.stdout.write(`(${hits.length} of ${page.total}; --first N for more)\n`);
      }
      return ExitCode.OK;
    });
  } finally {
    await (indexer as Indexer | null)?.close();
    await repo.close();
  }
}
