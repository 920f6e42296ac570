// `codegraph history <repo> <qualifiedName>`: the commits that changed one function or class,
// following it across renames and moves (function-level `git log --first-parent`).
import { GitRepo } from '../../indexer/git/index.ts';
import { ENTITY_KINDS, type EntityKind } from '../../indexer/types.ts';
import { Indexer } from '../../indexer/index.ts';
import { CliError, ExitCode, STORE_OPTIONS, parseCommand, storeLocation } from '../cli.ts';
import { indexCommit, openHistoryStore } from '../history.ts';
import { qualify, simpleName } from './names.ts';
import type { HistoryStore } from '../../store/index.ts';


const USAGE = `usage: codegraph history <repo> <qualifiedName> [--path P] [--kind K] [--rev REV] [--json] [--data DIR] [--database-url URL]

  <qualifiedName>      \`src/a.ts::Parser.parse\`, \`Parser.parse\` with --path src/a.ts, or \`Parser.parse\`
                       alone when one file at REV has an entity of that name
  --path P             the file, when <qualifiedName> has no \`path::\` prefix
  --kind K             the entity's kind, when entities of several kinds share the name
                       (${ENTITY_KINDS.filter((k) => k !== 'module' && k !== 'import').join(', ')})
  --rev REV            where to start walking back (default HEAD; indexed on demand)
  --json               print the list as JSON
  --data DIR           embedded database directory (env CODEGRAPH_DATA_DIR; default <repo>/.codegraph)
  --database-url URL   PostgreSQL server instead of the embedded database (env CODEGRAPH_DATABASE_URL)`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, {
    path: { type: 'string' }, kind: { type: 'string' }, rev: { type: 'string', default: 'HEAD' }, json: { type: 'boolean', default: false }, ...STORE_OPTIONS,
  });
  if (parsed === null) return ExitCode.OK;
  const { values, positionals } = parsed;
  const [repoPath, name, ...extra] = positionals;
  if (repoPath === undefined || name === undefined || extra.length > 0) throw new CliError('USAGE', `expected <repo> <qualifiedName>.\n${USAGE}`);
  let qualifiedName = name;
  if (values.path !== undefined) {
    if (name.includes('::')) throw new CliError('USAGE', `give either --path or a \`path::\` prefix in ${JSON.stringify(name)}, not both`);
    qualifiedName = `${values.path}::${name}`;
  }
  let kind: EntityKind | undefined;
  if (values.kind !== undefined) {
    if (!(ENTITY_KINDS as readonly string[]).includes(values.kind)) {
      throw new CliError('USAGE', `--kind must be one of ${ENTITY_KINDS.join(', ')}; got ${JSON.stringify(values.kind)}`);
    }
    kind = values.kind as EntityKind;
  }
  const repo = await GitRepo.open(repoPath);
  let indexer: Indexer | null = null;
  try {
    const sha = await repo.resolveCommit(values.rev);
    const { db, store } = await openHistoryStore(storeLocation(repo.path, values));
    try {
      const repoId = await store.repository(repo.path);
      if (!(await store.indexedCommits(repoId, [sha])).has(sha)) {
        indexer = new Indexer();
        await indexCommit({ repo, store, indexer, repoId }, sha);
      }
      // A name without `path::` is looked up at REV: one file defines it, or AMBIGUOUS_ENTITY (exit 2).
      qualifiedName = await qualify(store, repoId, sha, qualifiedName);
      // A name shared by entities of several kinds without --kind: AMBIGUOUS_ENTITY, exit 2 (issue 11).
      const list = await store.entityHistory(repoId, sha, qualifiedName, kind);
      if (list.length === 0) {
        // An unknown name is an error (exit 4) with the nearest names, not an empty history (#11 item 8).
        const suggestions = await nearestNames(store, repoId, sha, qualifiedName);
        const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.join(', ')}?` : ' Check the name with `codegraph diff` or the GraphQL entities query.';
        const err = new CliError('UNKNOWN_ENTITY', `no entity ${qualifiedName} at ${sha.slice(0, 12)}.${hint}`, { qualifiedName, rev: sha, suggestions });
        if (!values.json) throw err;
        process.stdout.write(`${JSON.stringify({ qualifiedName, rev: sha, changes: [], error: { code: err.code, message: err.message, suggestions } })}\n`);
        return err.exitCode;
      }
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ qualifiedName, kind: list[0]?.kind ?? kind ?? null, rev: sha, changes: list })}\n`);
      } else {
        for (const h of list) {
          // At the indexing horizon the entity existed already: say so instead of claiming 'added' (#9).
          const what = h.boundary ? 'present at the indexing horizon (older history not indexed)'
            : h.change === 'renamed' || h.change === 'moved' ? `${h.change} from ${h.previousQualifiedName ?? '?'}` : h.change;
          const subject = h.message.split('\n')[0] ?? '';
          const flags = `${h.signatureChanged ? ' [signature]' : ''}${h.visibilityChanged ? ' [visibility]' : ''}`;
          process.stdout.write(`${h.sha.slice(0, 12)} ${h.committerDate.slice(0, 10)} ${h.kind} ${what}${flags}  ${subject}\n`);
        }
      }
      return ExitCode.OK;
    } finally {
      await db.close();
    }
  } finally {
    await indexer?.close();
    await repo.close();
  }
}

/** Up to 3 qualified names at `sha` nearest to `wanted` by edit distance: from the same file (a typo
 * in the name) and with a similar simple name anywhere (a wrong path). */
async function nearestNames(store: HistoryStore, repoId: number, sha: string, wanted: string): Promise<string[]> {
  // The first `::` ends the path (a C++ overload's parameter types may hold more: `f(std::string)`).
  const cut = wanted.indexOf('::');
  const file = cut < 0 ? wanted : wanted.slice(0, cut);
  const local = cut < 0 ? '' : wanted.slice(cut + 2);
  const simple = simpleName(local);
  const names = new Set<string>();
  for (const e of await store.entities(repoId, sha, { pathPrefix: file, limit: 10_000 })) names.add(e.qualifiedName);
  if (simple !== '') {
    for (const e of await store.entities(repoId, sha, { name: simple, nameMatch: 'fuzzy', limit: 50 })) names.add(e.qualifiedName);
  }
  const limit = Math.max(3, Math.ceil(wanted.length / 3));
  return [...names]
    .map((n) => ({ n, d: editDistance(n, wanted) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || (a.n < b.n ? -1 : 1))
    .slice(0, 3)
    .map((x) => x.n);
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
