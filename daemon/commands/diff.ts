// `codegraph diff <repo> <revA> <revB>`: what changed between two commits at the level of functions
// and classes (added, removed, modified, renamed, moved), and optionally who is affected.
import { GitRepo } from '../../indexer/git/index.ts';
import type { Indexer } from '../../indexer/index.ts';
import type { EntityDiff, EntityRef, ImpactEntry } from '../../store/index.ts';
import { CliError, ExitCode, STORE_OPTIONS, parseCommand, positiveInt, storeLocation } from '../cli.ts';
import { askDaemon, daemonFor } from '../discovery.ts';


const USAGE = `usage: codegraph diff <repo> <revA> <revB> [--json] [--impact N] [--data DIR] [--database-url URL]

  --json               print {from, to, added, removed, modified, renamed, moved} as JSON
  --impact N           also list the transitive callers (N levels) at revB of what changed
  --standalone         open the store even when \`codegraph serve\` serves this data directory (by
                       default the running daemon answers a diff without --impact)
  --data DIR           embedded database directory (env CODEGRAPH_DATA_DIR; default <repo>/.codegraph)
  --database-url URL   PostgreSQL server instead of the embedded database (env CODEGRAPH_DATABASE_URL)`;

function line(e: EntityRef): string {
  return `${e.kind} ${e.qualifiedName} (${e.path}:${e.startLine}-${e.endLine})`;
}

export function renderDiff(d: EntityDiff, impact: ImpactEntry[] | null): string {
  const out = [`diff ${d.from.slice(0, 12)}..${d.to.slice(0, 12)}`];
  for (const e of d.added) out.push(`  + ${line(e)}`);
  for (const e of d.removed) out.push(`  - ${line(e)}`);
  for (const m of d.modified) {
    out.push(`  ~ ${line(m.after)}${m.signatureChanged ? ' [signature changed]' : ''}${m.visibilityChanged ? ' [visibility changed]' : ''}${m.docChanged ? (m.bodyChanged ? ' [doc changed]' : ' [doc only]') : ''}`);
  }
  for (const m of d.renamed) out.push(`  R ${m.before.qualifiedName} -> ${line(m.after)}`);
  for (const m of d.moved) out.push(`  M ${m.before.qualifiedName} -> ${line(m.after)}`);
  const n = d.added.length + d.removed.length + d.modified.length + d.renamed.length + d.moved.length;
  if (n === 0) out.push('  (no entity changes)');
  if (impact !== null) {
    out.push(`impact: ${impact.length} caller(s)`);
    for (const i of impact) out.push(`  ${'  '.repeat(i.depth - 1)}<- ${line(i.entity)} (via ${i.because})`);
  }
  return `${out.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, { json: { type: 'boolean', default: false }, impact: { type: 'string' }, standalone: { type: 'boolean', default: false }, ...STORE_OPTIONS });
  if (parsed === null) return ExitCode.OK;
  const { values, positionals } = parsed;
  const [repoPath, revA, revB, ...extra] = positionals;
  if (repoPath === undefined || revA === undefined || revB === undefined || extra.length > 0) {
    throw new CliError('USAGE', `expected <repo> <revA> <revB>.\n${USAGE}`);
  }
  const depth = values.impact === undefined ? null : positiveInt(values.impact, '--impact');
  const repo = await GitRepo.open(repoPath);
  let indexer: Indexer | null = null;
  try {
    const [a, b] = [await repo.resolveCommit(revA), await repo.resolveCommit(revB)];
    const location = storeLocation(repo.path, values);
    const daemon = values.standalone || depth !== null ? null : daemonFor(location.dataDir, repo.path);
    if (daemon !== null) {
      // The daemon diffs (indexing either side on demand, within its limits); anything it cannot
      // answer is done here as without it.
      const data = await askDaemon<{ repository: { diff: EntityDiff } | null }>(daemon.info, DAEMON_DIFF, { repo: daemon.name, from: a, to: b });
      const d = data?.repository?.diff;
      if (d && d.from === a && d.to === b) {
        process.stdout.write(values.json ? `${JSON.stringify(d)}\n` : renderDiff(d, null));
        return ExitCode.OK;
      }
    }
    // Loaded only here: the store and the parser pool are most of this command's start-up.
    const [{ indexCommit, openHistoryStore }, { Indexer }] = await Promise.all([import('../history.ts'), import('../../indexer/index.ts')]);
    const { db, store } = await openHistoryStore(location);
    try {
      const repoId = await store.repository(repo.path);
      const missing = await store.indexedCommits(repoId, [a, b]);
      for (const sha of [a, b]) {
        if (missing.has(sha)) continue;
        indexer ??= new Indexer();
        await indexCommit({ repo, store, indexer, repoId }, sha);
      }
      const d = await store.diff(repoId, a, b);
      const impact = depth !== null ? await store.impact(repoId, d, depth) : null;
      if (values.json) process.stdout.write(`${JSON.stringify(impact === null ? d : { ...d, impact })}\n`);
      else process.stdout.write(renderDiff(d, impact));
      return ExitCode.OK;
    } finally {
      await db.close();
    }
  } finally {
    await indexer?.close();
    await repo.close();
  }
}

/** The daemon's diff, asking for what the CLI prints (EntityRef's fields, each object's keys in the
 * CLI's order). */
const REF = 'kind name qualifiedName path startLine endLine';
const DAEMON_DIFF = `query CliDiff($repo: String!, $from: String!, $to: String!) {
  repository(name: $repo) {
    diff(from: $from, to: $to) {
      from to added { ${REF} } removed { ${REF} }
      modified { before { ${REF} } after { ${REF} } signatureChanged visibilityChanged bodyChanged docChanged }
      renamed { before { ${REF} } after { ${REF} } } moved { before { ${REF} } after { ${REF} } }
    }
  }
}`;
