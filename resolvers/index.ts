// Thin resolvers: argument checks, batching through the per-operation loaders, and the shape
// changes between backend records and the SDL. No business logic lives here.
import picomatch from 'picomatch';
import type { EntityKind } from '../indexer/types.ts';
import { CALL_CONFIDENCES } from './context.ts';
import type {
  CallConfidence, CallOptions, ChangeKind, CommitRecord, DiffRecord, EntityChangedEvent, EntityRecord, EventMap, GraphContext,
  CallWalkRecord, HistoryRecord, Page, SubscriptionLag, Topic, WalkRecord,
} from './context.ts';
import { walkCost } from './budget.ts';
import { badInput, codedError, notFound } from './errors.ts';
import { groupKey } from './loaders.ts';
import { searchResolvers } from './search.ts';

export { createLoaders } from './loaders.ts';
export { ASSUMED_LIST, walkCost } from './budget.ts';
export type * from './context.ts';

/** Largest `first` a connection accepts. */
export const MAX_PAGE = 100;
/** Largest `depth` for callers / callees / impacted. */
export const MAX_DEPTH = 5;

interface CommitNode extends CommitRecord { repository: string }
interface EntityNode extends EntityRecord { repository: string; commitSha: string }
interface DiffNode extends DiffRecord { repository: string }

const commitNode = (repository: string, c: CommitRecord): CommitNode => ({ ...c, repository });
const entityNode = (repository: string, commitSha: string, e: EntityRecord): EntityNode => ({ ...e, repository, commitSha });

function pageArgs(first: number | null | undefined, after: string | null | undefined) {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw badInput(`first must be an integer from 1 to ${MAX_PAGE}, got ${n}. Page with \`after: pageInfo.endCursor\` instead.`);
  }
  return { first: n, after: after ?? null };
}

function depthArg(depth: number | null | undefined, fallback: number): number {
  const d = depth ?? fallback;
  if (!Number.isInteger(d) || d < 1 || d > MAX_DEPTH) {
    throw badInput(`depth must be an integer from 1 to ${MAX_DEPTH}, got ${d}.`);
  }
  return d;
}

/** `minConfidence` of callers/callees; the schema's enum already validated it. */
function confidenceArg(v: unknown): CallConfidence {
  return CALL_CONFIDENCES.includes(v as CallConfidence) ? (v as CallConfidence) : 'name_only';
}

function connection<T, N>(page: Page<T>, wrap: (t: T) => N) {
  const last = page.items[page.items.length - 1];
  return {
    edges: page.items.map((item) => ({ cursor: item.cursor, node: wrap(item.node) })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: last ? last.cursor : null },
  };
}

/** The operation's signal and result cap, for backend calls. */
function callOpts(ctx: GraphContext): CallOptions {
  return { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(ctx.limits ? { maxResults: ctx.limits.maxResults } : {}) };
}

/** Commits indexed on demand so far by each operation (its context). */
const onDemandUsed = new WeakMap<GraphContext, number>();

/** Longest path glob accepted (picomatch compiles it to a RegExp per call). */
export const MAX_GLOB = 1024;

function globArg(glob: string | null): string | null {
  if (glob !== null && glob.length > MAX_GLOB) throw badInput(`path glob must be at most ${MAX_GLOB} characters, got ${glob.length}.`);
  return glob;
}

/** A glob matching exactly `path` (picomatch's special characters escaped). */
const literalGlob = (path: string): string => path.replace(/[\\*?[\]{}()!+@]/g, (ch) => `\\${ch}`);

/**
 * `entity(qualifiedName)` of a Java or C++ method by its bare name when it is overloaded: each
 * overload's qualified name carries its parameter types (`Gson.toJson(Object,Type)`), so the bare
 * name names none of them. Rather than a null a client cannot tell from "no such entity", this
 * fails with BAD_USER_INPUT listing the overloads (as the CLI does).
 */
async function rejectOverloaded(ctx: GraphContext, c: CommitNode, qualifiedName: string): Promise<void> {
  const cut = qualifiedName.indexOf('::');
  if (cut < 0 || qualifiedName.endsWith(')')) return;
  const local = qualifiedName.slice(cut + 2);
  const name = local.slice(local.lastIndexOf('.') + 1);
  const filter = { kinds: null, path: literalGlob(qualifiedName.slice(0, cut)), name };
  const page = await ctx.backend.entities(c.repository, c.sha, filter, { first: MAX_PAGE, after: null }, callOpts(ctx));
  const overloads = page.items.map((i) => i.node.qualifiedName).filter((q) => q.startsWith(`${qualifiedName}(`));
  if (overloads.length === 0) return;
  throw codedError('BAD_USER_INPUT', `${JSON.stringify(qualifiedName)} is overloaded: name one overload by its parameter types, one of ${overloads.map((o) => `\`${o}\``).join(', ')}.`, { overloads });
}

async function resolveRev(ctx: GraphContext, repo: string, rev: string): Promise<string> {
  // Control characters (a newline, NUL) can never be part of a ref name, and would reach git.
  // eslint-disable-next-line no-control-regex
  if (rev.length === 0 || rev.length > 256 || /[\x00-\x1f\x7f]/.test(rev)) {
    throw badInput('rev must be a sha, a short sha or a ref name (1 to 256 characters, no control characters).');
  }
  const r = await ctx.backend.resolveRev(repo, rev);
  if (!r) throw notFound(`revision '${rev}' does not resolve in repository '${repo}'. Use a full or short sha, or a ref name listed by Repository.refs.`);
  if (r.indexed) return r.sha;
  // In git but outside the indexed window: index it now, as `codegraph diff` does, within a budget.
  const limit = ctx.limits?.onDemandCommits ?? 0;
  const used = onDemandUsed.get(ctx) ?? 0;
  if (used >= limit) {
    throw codedError('NOT_INDEXED', limit === 0
      ? `commit ${r.sha} ('${rev}') of repository '${repo}' exists but is not indexed, and on-demand indexing is off (limits.onDemandCommits = 0). Index it with \`codegraph index --history N\`, or raise the limit.`
      : `commit ${r.sha} ('${rev}') of repository '${repo}' exists but is not indexed, and this operation already indexed ${used} commit(s) on demand (limits.onDemandCommits = ${limit}). Ask for fewer unindexed commits per request.`,
    { sha: r.sha, limit });
  }
  onDemandUsed.set(ctx, used + 1);
  // A standby or read-only backend throws StoreError COMMIT_NOT_INDEXED: NOT_INDEXED at the boundary.
  await ctx.backend.indexOnDemand(repo, r.sha, callOpts(ctx));
  return r.sha;
}

function walkNodes<T, N>(w: WalkRecord<T>, wrap: (t: T) => N): { nodes: N[]; truncated: boolean } {
  return { nodes: w.nodes.map(wrap), truncated: w.truncated };
}

/** An EntityWalk of callers/callees at the walked entity's commit. */
function callWalk(e: EntityNode, w: CallWalkRecord) {
  const wrap = (x: EntityRecord) => entityNode(e.repository, e.commitSha, x);
  return { ...walkNodes(w, wrap), calls: w.calls.map((c) => ({ from: wrap(c.from), to: wrap(c.to), line: c.line, via: c.via, depth: c.depth })) };
}

async function loadDiff(ctx: GraphContext, repo: string, from: string | null, to: string): Promise<DiffNode> {
  return { ...(await ctx.backend.diff(repo, from, to, callOpts(ctx))), repository: repo };
}

function historyNodes(repo: string, records: HistoryRecord[]) {
  return records.map((h) => ({
    commit: commitNode(repo, h.commit),
    change: h.change,
    kind: h.kind,
    visibilityChanged: h.visibilityChanged,
    entity: h.entity ? entityNode(repo, h.commit.sha, h.entity) : null,
    boundary: h.boundary ?? false,
  }));
}

/**
 * Wraps an event iterator to call `onEnd` once when the client goes away or the stream ends.
 * `return()` is forwarded at once (an async generator would wait for the next event before
 * running its `finally`, leaking idle subscriptions).
 */
function tracked<T>(source: AsyncIterableIterator<T>, onEnd: () => void): AsyncIterableIterator<T> {
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      onEnd();
    }
  };
  const it: AsyncIterableIterator<T> = {
    async next() {
      const r = await source.next();
      if (r.done) end();
      return r;
    },
    async return(value?: unknown) {
      end();
      await source.return?.();
      return { done: true, value: value as T };
    },
    async throw(err?: unknown) {
      end();
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

async function subscribe<T extends Topic>(ctx: GraphContext, topic: T, repository: string, keep: (e: EventMap[T]) => boolean = () => true) {
  // A typo in the repository name would otherwise wait forever for events that never come.
  if ((await ctx.backend.repository(repository)) === null) throw notFound(`unknown repository '${repository}'; Query.repositories lists the configured ones.`);
  const done = ctx.subscriptionOpened?.(topic) ?? (() => undefined);
  return tracked(ctx.events.subscribe(topic, repository, keep), done);
}

/** An event, or the error that ends a subscription that fell behind (daemon/server/pubsub.ts). */
function delivered<T>(e: T | SubscriptionLag): T {
  if (typeof e === 'object' && e !== null && 'lagged' in e) {
    const from = e.sha ? ` from commit ${e.sha} on` : '';
    throw codedError('SUBSCRIPTION_LAGGED',
      `this subscription fell more than ${e.maxPending} events behind and was ended; events${from} were not sent. Subscribe again, then query diff(from: <the last sha you received>, to: <the ref>) to catch up.`,
      { maxPending: e.maxPending, sha: e.sha });
  }
  return e;
}

export function entityChangeFilter(args: { path?: string | null; kinds?: EntityKind[] | null; names?: string[] | null }): (e: EntityChangedEvent) => boolean {
  const matchPath = args.path ? picomatch(args.path, { dot: true }) : null;
  const kinds = args.kinds && args.kinds.length > 0 ? new Set(args.kinds) : null;
  const names = args.names && args.names.length > 0 ? new Set(args.names) : null;
  const test = (e: EntityRecord | null) =>
    e !== null && (!matchPath || matchPath(e.path)) && (!kinds || kinds.has(e.kind)) && (!names || names.has(e.name));
  // A rename or move matches when either side matches, so a watcher of `src/**` sees files leaving.
  return (e) => test(e.entity) || test(e.before);
}

type Args = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

const search = searchResolvers({ maxPage: MAX_PAGE, maxDepth: MAX_DEPTH, resolveRev, entityNode });

export const resolvers = {
  Query: {
    repositories: (_: unknown, __: Args, ctx: GraphContext) => ctx.backend.repositories(),
    repository: (_: unknown, args: { name: string }, ctx: GraphContext) => ctx.backend.repository(args.name),
  },
  Repository: {
    refs: (r: { name: string }, _: Args, ctx: GraphContext) => ctx.backend.refs(r.name),
    commits: async (r: { name: string }, args: Args, ctx: GraphContext) => {
      const page = await ctx.backend.commits(r.name, str(args.ref), pageArgs(num(args.first), str(args.after)));
      return connection(page, (c) => commitNode(r.name, c));
    },
    commit: async (r: { name: string }, args: { rev: string }, ctx: GraphContext) => {
      const sha = await resolveRev(ctx, r.name, args.rev);
      const commit = await ctx.loaders.commitBySha.load(groupKey(r.name), sha);
      if (!commit) throw notFound(`commit ${sha} of repository '${r.name}' is not indexed yet.`);
      return commitNode(r.name, commit);
    },
    diff: async (r: { name: string }, args: { from: string; to: string }, ctx: GraphContext) => {
      const [from, to] = await Promise.all([resolveRev(ctx, r.name, args.from), resolveRev(ctx, r.name, args.to)]);
      return loadDiff(ctx, r.name, from, to);
    },
    entityHistory: async (r: { name: string }, args: Args, ctx: GraphContext) =>
      historyNodes(r.name, await ctx.backend.entityHistory(r.name, String(args.qualifiedName), str(args.path), (args.kind as EntityKind | null | undefined) ?? null, callOpts(ctx))),
    skipped: async (r: { name: string }, args: { rev: string }, ctx: GraphContext) =>
      ctx.backend.skips(r.name, await resolveRev(ctx, r.name, args.rev)),
    ...search.Repository,
  },
  Commit: {
    changeCounts: async (c: CommitNode, _: Args, ctx: GraphContext) => {
      if (!ctx.backend.changeCounts) throw notFound('change counts are not available on this backend.');
      return ctx.backend.changeCounts(c.repository, c.sha);
    },
    callResolution: async (c: CommitNode, _: Args, ctx: GraphContext) => {
      if (!ctx.backend.callResolution) throw notFound('call resolution counts are not available on this backend.');
      return ctx.backend.callResolution(c.repository, c.sha);
    },
    shortSha: (c: CommitNode) => c.sha.slice(0, 12),
    date: (c: CommitNode) => c.committer.date,
    entities: async (c: CommitNode, args: Args, ctx: GraphContext) => {
      const filter = { kinds: (args.kind as EntityKind[] | null | undefined) ?? null, path: globArg(str(args.path)), name: str(args.name) };
      const page = await ctx.backend.entities(c.repository, c.sha, filter, pageArgs(num(args.first), str(args.after)), callOpts(ctx));
      return connection(page, (e) => entityNode(c.repository, c.sha, e));
    },
    entity: async (c: CommitNode, args: { qualifiedName: string }, ctx: GraphContext) => {
      const e = await ctx.loaders.entityByQualifiedName.load(groupKey(c.repository, c.sha), args.qualifiedName);
      if (e) return entityNode(c.repository, c.sha, e);
      await rejectOverloaded(ctx, c, args.qualifiedName);
      return null;
    },
  },
  Entity: {
    callers: async (e: EntityNode, args: Args, ctx: GraphContext) =>
      callWalk(e, await ctx.loaders.callers.load(groupKey(e.repository, e.commitSha, depthArg(num(args.depth), 1), confidenceArg(args.minConfidence)), e.id)),
    callees: async (e: EntityNode, args: Args, ctx: GraphContext) =>
      callWalk(e, await ctx.loaders.callees.load(groupKey(e.repository, e.commitSha, depthArg(num(args.depth), 1), confidenceArg(args.minConfidence)), e.id)),
    history: async (e: EntityNode, _: Args, ctx: GraphContext) =>
      historyNodes(e.repository, await ctx.backend.entityHistory(e.repository, e.qualifiedName, null, e.kind, callOpts(ctx))),
    ...search.Entity,
  },
  GraphDiff: {
    added: (d: DiffNode) => d.added.map((e) => entityNode(d.repository, d.to, e)),
    removed: (d: DiffNode) => d.removed.map((e) => entityNode(d.repository, d.from ?? d.to, e)),
    modified: (d: DiffNode) => d.modified.map((m) => ({
      before: entityNode(d.repository, d.from ?? d.to, m.before), after: entityNode(d.repository, d.to, m.after), signatureChanged: m.signatureChanged,
      visibilityChanged: m.visibilityChanged, bodyChanged: m.bodyChanged, docChanged: m.docChanged,
    })),
    renamed: (d: DiffNode) => d.renamed.map((m) => ({ before: entityNode(d.repository, d.from ?? d.to, m.before), after: entityNode(d.repository, d.to, m.after) })),
    moved: (d: DiffNode) => d.moved.map((m) => ({ before: entityNode(d.repository, d.from ?? d.to, m.before), after: entityNode(d.repository, d.to, m.after) })),
    impacted: async (d: DiffNode, args: Args, ctx: GraphContext) => {
      const depth = depthArg(num(args.depth), 2);
      if (ctx.limits) {
        // The estimate at validation assumed a diff size; now it is known (README, "Limits").
        const changed = d.modified.length + d.renamed.length + d.moved.length + d.removed.length;
        const cost = walkCost(changed, depth, ctx.limits.maxResults, 1);
        if (cost > ctx.limits.maxCost) {
          throw codedError('QUERY_TOO_COMPLEX', `impacted(depth: ${depth}) over a diff of ${changed} changed entities has an estimated cost of ${cost}, over the limit of ${ctx.limits.maxCost}. Lower \`depth\`, or diff commits closer together.`, { cost, maxCost: ctx.limits.maxCost });
        }
      }
      const walk = await ctx.backend.impact(d.repository, d.from, d.to, depth, callOpts(ctx));
      return walkNodes(walk, (i) => ({ entity: entityNode(d.repository, d.to, i.entity), distance: i.distance }));
    },
  },
  CommitIndexed: {
    diff: (e: EventMap['commitIndexed'], _: Args, ctx: GraphContext) => loadDiff(ctx, e.repository, e.parents[0] ?? null, e.sha),
  },
  EntityChange: {
    // A removed entity exists only at the parent: its callers, callees and history resolve there.
    entity: (e: EntityChangedEvent) => entityNode(e.repository, e.change === 'removed' ? e.parentSha ?? e.sha : e.sha, e.entity),
    before: (e: EntityChangedEvent) => (e.before ? entityNode(e.repository, e.parentSha ?? e.sha, e.before) : null),
    signatureChanged: (e: EntityChangedEvent) => e.signatureChanged ?? false,
    visibilityChanged: (e: EntityChangedEvent) => e.visibilityChanged ?? false,
  },
  Subscription: {
    commitIndexed: {
      subscribe: (_: unknown, args: { repository: string }, ctx: GraphContext) => subscribe(ctx, 'commitIndexed', args.repository),
      resolve: (e: EventMap['commitIndexed'] | SubscriptionLag) => delivered(e),
    },
    entityChanged: {
      subscribe: (_: unknown, args: { repository: string; path?: string | null; kinds?: EntityKind[] | null; names?: string[] | null }, ctx: GraphContext) => {
        globArg(args.path ?? null);
        return subscribe(ctx, 'entityChanged', args.repository, entityChangeFilter(args));
      },
      resolve: (e: EntityChangedEvent | SubscriptionLag) => delivered(e),
    },
    indexProgress: {
      subscribe: (_: unknown, args: { repository: string }, ctx: GraphContext) => subscribe(ctx, 'indexProgress', args.repository),
      resolve: (e: EventMap['indexProgress'] | SubscriptionLag) => delivered(e),
    },
  },
};

export type { ChangeKind };
