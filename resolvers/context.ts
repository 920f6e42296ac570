// The narrow surface the GraphQL layer needs from the history store and the event bus. The server
// depends only on these interfaces; store/ implements GraphBackend and the LISTEN/NOTIFY bridge
// implements EventSource. Everything here is plain data.
import type { EntityKind, SkipReason } from '../indexer/types.ts';
import type { Loaders } from './loaders.ts';

export interface RepositoryRecord {
  name: string;
}

export interface RefRecord {
  /** Full ref name (`refs/heads/main`) or `HEAD`. */
  name: string;
  sha: string;
}

export interface PersonRecord {
  name: string;
  email: string;
  /** ISO-8601. */
  date: string;
}

export interface CommitRecord {
  sha: string;
  parents: string[];
  author: PersonRecord;
  committer: PersonRecord;
  message: string;
}

export interface EntityRecord {
  /** Stable within a commit; opaque to the server. */
  id: string;
  kind: EntityKind;
  name: string;
  qualifiedName: string;
  path: string;
  language: string;
  startLine: number;
  endLine: number;
  signature: string | null;
  doc: string | null;
  /** Qualified name inside the file (`Parser.parse`). */
  localName: string;
  exported: boolean;
  /** Null for an entity known by reference only (EntityRef). */
  bodyHash: string | null;
}

/** A page request. `first` is already validated (1..MAX_PAGE) by the resolvers. */
export interface PageArgs {
  first: number;
  /** An opaque cursor previously returned by the backend, or null for the first page. */
  after: string | null;
}

export interface Page<T> {
  items: Array<{ cursor: string; node: T }>;
  hasNextPage: boolean;
}

export interface EntityFilter {
  kinds: EntityKind[] | null;
  /** picomatch glob on the path. */
  path: string | null;
  /** Exact entity name. */
  name: string | null;
}

/** Every ChangeKind, in the order of the schema's `ChangeKind` enum (test/schema-enums.test.ts). */
export const CHANGE_KINDS = ['added', 'removed', 'modified', 'renamed', 'moved'] as const;
/** How a call edge was resolved, most certain first (store/graph.ts resolves; schema enum CallConfidence). */
export const CALL_CONFIDENCES = ['exact', 'import', 'receiver_type', 'name_only'] as const;
export type CallConfidence = (typeof CALL_CONFIDENCES)[number];
/** Why a call links to nothing (schema enum UnresolvedReason). */
export const UNRESOLVED_REASONS = ['local', 'builtin', 'external', 'ambiguous', 'none'] as const;
export type UnresolvedReason = (typeof UNRESOLVED_REASONS)[number];

export interface ChangeCountsRecord {
  added: number;
  removed: number;
  modified: number;
  renamed: number;
  moved: number;
}

export interface CallResolutionRecord {
  resolved: number;
  unresolved: number;
  ambiguous: number;
  byReason: Array<{ reason: UnresolvedReason; count: number }>;
}
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface DiffRecord {
  /** Full sha, null when `to` is a root commit. */
  from: string | null;
  to: string;
  added: EntityRecord[];
  removed: EntityRecord[];
  modified: Array<{ before: EntityRecord; after: EntityRecord; signatureChanged: boolean; visibilityChanged: boolean; bodyChanged: boolean; docChanged: boolean }>;
  renamed: Array<{ before: EntityRecord; after: EntityRecord }>;
  moved: Array<{ before: EntityRecord; after: EntityRecord }>;
}

export interface ImpactRecord {
  /** The entity at the `to` commit. */
  entity: EntityRecord;
  distance: number;
}

/** A call-graph walk's result, nearest first, cut at the cap. */
export interface WalkRecord<T> {
  nodes: T[];
  /** The walk stopped at the cap (`limits.maxResults`) before reaching `depth`. */
  truncated: boolean;
}

/** One call a callers/callees walk followed: `from` calls `to` at `line` (of `from`'s file). */
export interface CallRecord {
  from: EntityRecord;
  to: EntityRecord;
  line: number;
  via: 'exact' | 'import' | 'receiver_type' | 'name_only';
  /** 1: a call of (or by) the walked entity itself; 2: of (or by) one of those; ... */
  depth: number;
}

/** A callers/callees walk: the distinct entities reached, and the calls that reached them (every
 * call site of the entities kept under the cap). */
export interface CallWalkRecord extends WalkRecord<EntityRecord> {
  calls: CallRecord[];
}

/** Per-call options of the backend methods that do real work. */
export interface CallOptions {
  /** Aborted at the operation's deadline or when the client goes away; the reason is the error to throw. */
  signal?: AbortSignal;
  /** Cap on a walk's results (callers, callees, impact). */
  maxResults?: number;
  /** Walks follow only edges resolved at least as surely as this (default: all). */
  minConfidence?: CallConfidence;
}

/** A revision as git names it, and whether the store holds it. */
export interface ResolvedRev {
  sha: string;
  indexed: boolean;
}

export interface HistoryRecord {
  commit: CommitRecord;
  change: ChangeKind;
  kind: EntityKind;
  visibilityChanged: boolean;
  /** The entity at that commit; null for `removed`. */
  entity: EntityRecord | null;
  /** The walk reached the indexing horizon at this commit (store EntityChangeRecord.boundary). @default false */
  boundary?: boolean;
}

export interface SkipCountRecord {
  reason: SkipReason;
  count: number;
}

export type SearchModeName = 'text' | 'fuzzy' | 'regex' | 'vector' | 'hybrid';
export type EdgeKindName = 'calls' | 'called_by' | 'inherits' | 'inherited_by' | 'contains' | 'contained_by' | 'imports' | 'imported_by';

export interface SearchArgs {
  query: string;
  mode: SearchModeName;
  kinds: EntityKind[] | null;
  /** A path prefix, or a picomatch glob. */
  path: string | null;
  bodies: boolean;
}

export interface SearchHitRecord {
  entity: EntityRecord;
  score: number;
  matches: Array<{ field: string; tokens: string[] }>;
  /** Start lines of the other entities of the same file, qualified name and kind this hit stands for. */
  alsoAt: number[];
}

export interface NeighbourRecord {
  entity: EntityRecord;
  distance: number;
  via: EdgeKindName;
  from: EntityRecord;
}

/** Search and whole-graph queries (issue #12). Errors carry a `code` (store/search/errors.ts). */
export interface SearchBackend {
  search(repo: string, commitSha: string, args: SearchArgs, page: PageArgs): Promise<Page<SearchHitRecord> & { total: number }>;
  path(repo: string, commitSha: string, from: string, to: string): Promise<EntityRecord[] | null>;
  topEntities(repo: string, commitSha: string, kinds: EntityKind[] | null, page: PageArgs): Promise<Page<{ entity: EntityRecord; score: number }> & { total: number }>;
  cycles(repo: string, commitSha: string): Promise<Array<{ files: string[] }>>;
  neighbourhood(repo: string, commitSha: string, entityId: string, depth: number, kinds: EdgeKindName[] | null, first: number): Promise<NeighbourRecord[]>;
}

/**
 * What resolvers call. Methods taking arrays are batched by the server (one call per GraphQL
 * request and tick for all the keys a list of parents asks for) and must return one result per
 * key, in key order.
 */
export interface GraphBackend {
  repositories(): Promise<RepositoryRecord[]>;
  repository(name: string): Promise<RepositoryRecord | null>;
  refs(repo: string): Promise<RefRecord[]>;
  /**
   * Full sha for a full sha, an unambiguous short sha or a ref name (`main`, `refs/tags/v1`), with
   * whether it is indexed; null if git does not know it either.
   */
  resolveRev(repo: string, rev: string): Promise<ResolvedRev | null>;
  /**
   * Stores a commit that git has but the store does not (outside the indexed window), serialized
   * with the indexer. Throws a coded error when this process may not (a standby) or the caller's
   * budget is spent.
   */
  indexOnDemand(repo: string, sha: string, opts?: CallOptions): Promise<void>;
  /** Commits reachable from `ref` (null: HEAD), newest first. */
  commits(repo: string, ref: string | null, page: PageArgs): Promise<Page<CommitRecord>>;
  /** Batched. */
  commitsBySha(repo: string, shas: string[]): Promise<Array<CommitRecord | null>>;
  entities(repo: string, commitSha: string, filter: EntityFilter, page: PageArgs, opts?: CallOptions): Promise<Page<EntityRecord>>;
  /** Batched: entities by qualified name at one commit. */
  entitiesByQualifiedName(repo: string, commitSha: string, qualifiedNames: string[]): Promise<Array<EntityRecord | null>>;
  /** `from` null: diff against the empty tree. Both shas are full and resolved. */
  diff(repo: string, from: string | null, to: string, opts?: CallOptions): Promise<DiffRecord>;
  /** Transitive callers at `to` of what `from..to` changed, nearest first, at most `opts.maxResults`. */
  impact(repo: string, from: string | null, to: string, depth: number, opts?: CallOptions): Promise<WalkRecord<ImpactRecord>>;
  /** Batched: transitive callers up to `depth` of each entity id at one commit, each at most `opts.maxResults`. */
  callers(repo: string, commitSha: string, entityIds: string[], depth: number, opts?: CallOptions): Promise<CallWalkRecord[]>;
  /** Batched: transitive callees. */
  callees(repo: string, commitSha: string, entityIds: string[], depth: number, opts?: CallOptions): Promise<CallWalkRecord[]>;
  /** Entities a commit changed against its first parent, per kind of change; null for a commit
   * stored as a whole tree or not indexed. Absent: the field answers with an error. */
  changeCounts?(repo: string, commitSha: string): Promise<ChangeCountsRecord | null>;
  /** Call resolution counts of the tree at a commit. Absent: the field answers with an error. */
  callResolution?(repo: string, commitSha: string): Promise<CallResolutionRecord>;
  /** Newest first. `path` null: follow the entity across moves. `kind` null: the only kind of
   * that name (an error when several entities of different kinds share it). */
  entityHistory(repo: string, qualifiedName: string, path: string | null, kind: EntityKind | null, opts?: CallOptions): Promise<HistoryRecord[]>;
  skips(repo: string, commitSha: string): Promise<SkipCountRecord[]>;
  /** Absent on backends without search (the fields then answer with an error). */
  search?: SearchBackend;
}

export interface CommitIndexedEvent {
  repository: string;
  ref: string;
  sha: string;
  parents: string[];
}

export interface EntityChangedEvent {
  repository: string;
  ref: string;
  sha: string;
  /** The commit `before` (and a removed `entity`) belongs to: the diff's base, null for a root commit. */
  parentSha: string | null;
  change: ChangeKind;
  entity: EntityRecord;
  before: EntityRecord | null;
  /** For modified: the signature text changed (absent: false). */
  signatureChanged?: boolean;
  /** For modified: `export` added or removed (absent: false). */
  visibilityChanged?: boolean;
}

export interface IndexProgressEvent {
  repository: string;
  phase: string;
  done: number;
  total: number;
}

export interface EventMap {
  commitIndexed: CommitIndexedEvent;
  entityChanged: EntityChangedEvent;
  indexProgress: IndexProgressEvent;
}

export type Topic = keyof EventMap;

/**
 * The last item of a subscription that fell behind by more than `maxPending` events (policy in
 * daemon/server/pubsub.ts): the resolver turns it into a `SUBSCRIPTION_LAGGED` error. `sha` is the
 * first commit whose events were not delivered.
 */
export interface SubscriptionLag {
  lagged: true;
  maxPending: number;
  sha: string | null;
}

/**
 * Live events per repository. `subscribe` returns an iterator whose `return()` unsubscribes;
 * the server calls it when the client goes away. `keep` runs when an event is published, so an
 * event a subscriber does not want is never queued for it.
 */
export interface EventSource {
  subscribe<T extends Topic>(topic: T, repository: string, keep?: (e: EventMap[T]) => boolean): AsyncIterableIterator<EventMap[T] | SubscriptionLag>;
}

export interface QueryLimits {
  /** Cap on the entities of one callers / callees / impacted field. */
  maxResults: number;
  /** Estimated cost an operation may reach (checked again once a diff's size is known). */
  maxCost: number;
  /** Commits one operation may index on demand (0: none). */
  onDemandCommits: number;
}

/** The authenticated caller, or an anonymous loopback caller when no auth is configured. */
export interface Principal {
  /** Token name, JWT `sub`, or `anonymous`. */
  id: string;
  scopes: ReadonlySet<string>;
}

/** What every resolver receives as `context` (Yoga merges its own fields in). */
export interface GraphContext {
  backend: GraphBackend;
  events: EventSource;
  principal: Principal;
  loaders: Loaders;
  /** Aborted at the operation's deadline (queries) or when the client goes away. */
  signal?: AbortSignal;
  /** Result caps and cost budget of the operation. */
  limits?: QueryLimits;
  /** Called when a subscription starts; the returned function when it ends (metrics). */
  subscriptionOpened?: (topic: Topic) => () => void;
}
