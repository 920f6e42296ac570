// A name as a user types it on the command line (`setCharset`, `Parser.parse`) turned into the
// qualified name the store keys entities by (`lib/utils.js::setCharset`), at one commit.
import type { HistoryStore } from '../../store/index.ts';
import { CliError } from '../cli.ts';

/** Candidates listed in an AMBIGUOUS_ENTITY message. */
const LISTED = 10;

/**
 * `name` when it already has a `path::` prefix. Otherwise the one entity at `sha` whose qualified
 * name ends with `::name` (imports and modules left out): several are an AMBIGUOUS_ENTITY error
 * (exit 2) listing them, none returns `name` unchanged, for the caller's own not-found message.
 */
export async function qualify(store: HistoryStore, repoId: number, sha: string, name: string): Promise<string> {
  if (name.includes('::')) return name;
  const simple = simpleName(name);
  if (simple === '') return name;
  const found = await store.entities(repoId, sha, { name: simple, limit: 10_000 });
  const matches = [...new Set(found.filter((e) => e.kind !== 'import' && e.kind !== 'module' && e.qualifiedName.endsWith(`::${name}`)).map((e) => e.qualifiedName))];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    const more = matches.length > LISTED ? `, and ${matches.length - LISTED} more` : '';
    throw new CliError('AMBIGUOUS_ENTITY', `${JSON.stringify(name)} names ${matches.length} entities at ${sha.slice(0, 12)}: ${matches.slice(0, LISTED).join(', ')}${more}. Give one of them with its \`path::\` prefix.`, { name, rev: sha, candidates: matches });
  }
  return name;
}

/** The store's `name` of a qualified name's local part: its last segment without a parameter list
 * (`res.send` -> `send`, `Gson.toJson(Object,Type)` -> `toJson`). */
export function simpleName(local: string): string {
  return local.replace(/\(.*$/, '').split('.').pop() ?? local;
}
