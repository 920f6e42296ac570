// Public data shapes of the history store (what leaves store/).
import type { EntityKind, FileExtraction, LanguageId, SkipReason } from '../indexer/types.ts';

/** An entity as the store reports it: located at a path in some commit's tree. */
export interface EntityRef {
  kind: EntityKind;
  name: string;
  /** User-facing qualified name: `path::Container.name` (the path itself for modules). */
  qualifiedName: string;
  path: string;
  startLine: number;
  endLine: number;
}

/** An entity with the details the store keeps. */
export interface StoredEntity extends EntityRef {
  signature: string | null;
  doc: string | null;
  exported: boolean;
  bodyHash: string;
  language: string;
  /** Local qualified name without the path (`Parser.parse`). */
  localName: string;
}

export interface EntityDiff {
  from: string;
  to: string;
  added: EntityRef[];
  removed: EntityRef[];
  /** `visibilityChanged`: exported (public) before and not after, or the reverse (`export` added or
   * removed, a Go name capitalised), with or without a body change. `docChanged`: the doc comment
   * differs; with `bodyChanged` false that is all that changed (callers are not impacted). */
  modified: Array<{ before: EntityRef; after: EntityRef; signatureChanged: boolean; visibilityChanged: boolean; bodyChanged: boolean; docChanged: boolean }>;
  renamed: Array<{ before: EntityRef; after: EntityRef }>;
  moved: Array<{ before: EntityRef; after: EntityRef }>;
}

/** Entities a commit changed against its first parent, per kind of change. */
export interface ChangeCounts {
  added: number;
  removed: number;
  modified: number;
  renamed: number;
  moved: number;
}

export interface CommitMeta {
  sha: string;
  parents: string[];
  tree: string;
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
  message: string;
}

/** One file of a commit's delta against its first parent, as the indexing driver hands it over. */
export type FileDeltaInput =
  | { path: string; status: 'deleted' }
  | {
      path: string;
      status: 'parsed';
      blobSha: string;
      language: LanguageId;
      extraction: FileExtraction;
      /** The blob content, used to embed entity bodies; without it bodies are embedded from name,
       * signature and doc only. */
      content?: Buffer;
      /** The body embeddings the extraction worker computed ([body hash, stored form (toStoredEmbedding)],
       * indexer/embed.ts `embedBodies`); when given, `content` is not needed. */
      bodies?: ReadonlyArray<readonly [string, Uint8Array]>;
    }
  | { path: string; status: 'cached'; blobSha: string; language: LanguageId }
  | { path: string; status: 'skipped'; blobSha: string; language: LanguageId | null; reason: SkipReason; detail: string };

export interface CommitInput {
  commit: CommitMeta;
  /** The first parent when it is already stored; the delta is then against it. null: the delta is
   * the whole tree (a root commit, or the parent lies outside the indexed window). */
  baseSha: string | null;
  files: FileDeltaInput[];
}

export interface TreeFile {
  path: string;
  blobSha: string;
  language: string | null;
  skipReason: SkipReason | null;
  skipDetail: string | null;
  parsed: boolean;
}

export type NameMatch = 'exact' | 'prefix' | 'fuzzy';

export interface EntityQuery {
  pathPrefix?: string;
  kind?: EntityKind | EntityKind[];
  name?: string;
  /** @default 'exact' */
  nameMatch?: NameMatch;
  /** @default 100 */
  limit?: number;
  /** @default 0 */
  offset?: number;
}

export interface EntityChangeRecord {
  sha: string;
  change: 'added' | 'removed' | 'modified' | 'renamed' | 'moved';
  /** The entity's kind: a name can be shared by entities of different kinds (a TS interface and a
   * const `$Thing`); a history follows one kind. */
  kind: EntityKind;
  /** The identity after the change (null for 'removed') and before it (null for 'added'). */
  qualifiedName: string | null;
  previousQualifiedName: string | null;
  signatureChanged: boolean;
  /** The entity became exported (public) or stopped being so. */
  visibilityChanged: boolean;
  committerDate: string;
  author: string;
  message: string;
  /** True for the first indexed commit of the chain: the entity existed there, its earlier
   * history lies outside the indexed window (like git blame's boundary commits). */
  boundary: boolean;
}

export interface BlameEntry {
  entity: EntityRef;
  sha: string;
  boundary: boolean;
}

export interface CallEdge {
  from: EntityRef;
  to: EntityRef;
  line: number;
  /** How the call was resolved, most certain first: `exact` (lexical scope, `this`/`super`, a class of
   * the same file), `import` (through the file's imports, re-exports followed), `receiver_type` (a
   * local or parameter of known type), `name_only` (same directory or the unique definition). */
  via: 'exact' | 'import' | 'receiver_type' | 'name_only';
  depth: number;
}

export interface ResolutionStats {
  resolved: number;
  /** Calls that resolve to nothing in the tree (locals, built-ins, external code, unknown names). */
  unresolved: number;
  /** Calls with several candidates and nothing to choose between them: left unlinked. */
  ambiguous: number;
  /** Unresolved and ambiguous calls by reason: `local` (a parameter or local variable), `builtin` (a
   * built-in method name on an unknown receiver), `external` (a name or type outside the tree),
   * `ambiguous`, `none` (no definition of that name). */
  byReason: Partial<Record<'local' | 'builtin' | 'external' | 'ambiguous' | 'none', number>>;
}

export type SkipCounts = Partial<Record<SkipReason, number>>;

/** Kinds that live only in the type space. An entity of one of them has an id of its own,
 * `<qualifiedName>#<kind>`, so a type and a value sharing a name (`type Foo` + `const Foo`,
 * `interface X` + `class X`) have distinct ids (issue 10); every other entity's id is its qualified
 * name. Qualified names are unchanged, so history and diffs pair entities as before. */
const TYPE_ONLY_KINDS: ReadonlySet<string> = new Set(['interface', 'type']);
/** `<qualifiedName>#<kind>`: the `#` never follows a `.` (a private member `X.#type` is a name). */
const TYPED_ID = /^(.*[^.])#(interface|type)$/;

/** Does an entity of `kind` live only in the type space (an interface, a type alias)? */
export function isTypeSpaceKind(kind: string): boolean {
  return TYPE_ONLY_KINDS.has(kind);
}

/** The id of the entity `qualifiedName` of kind `kind` (unique within a commit's tree). */
export function entityId(qualifiedName: string, kind: string): string {
  return TYPE_ONLY_KINDS.has(kind) ? `${qualifiedName}#${kind}` : qualifiedName;
}

/** The qualified name and, for a type-space entity's id, the kind an entity id names. */
export function parseEntityId(id: string): { qualifiedName: string; kind: string | null } {
  const m = TYPED_ID.exec(id);
  return m ? { qualifiedName: m[1]!, kind: m[2]! } : { qualifiedName: id, kind: null };
}
