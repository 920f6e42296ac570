// Resolvers of search and whole-graph queries (issue #12): argument checks, the default revision
// (HEAD), and the mapping of the search errors' codes to GraphQL `extensions.code`.
import { GraphQLError } from 'graphql';
import { CodedError, graphqlCodeOf } from '../errors/index.ts';
import type { EntityKind } from '../indexer/types.ts';
import type { EdgeKindName, EntityRecord, GraphContext, SearchBackend, SearchModeName } from './context.ts';
import { badInput, codedError } from './errors.ts';

export interface SearchDeps {
  maxPage: number;
  maxDepth: number;
  resolveRev(ctx: GraphContext, repo: string, rev: string): Promise<string>;
  entityNode(repository: string, commitSha: string, e: EntityRecord): unknown;
}

type Args = Record<string, unknown>;

function backendOf(ctx: GraphContext): SearchBackend {
  if (!ctx.backend.search) throw codedError('NOT_FOUND', 'search is not available on this server.');
  return ctx.backend.search;
}

/** Runs a search backend call; a coded error becomes its GraphQL code (errors/codes.ts) here,
 * with the search's own code in `extensions.reason` for BAD_USER_INPUT (which input was wrong). */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GraphQLError || !CodedError.is(err)) throw err;
    const code = graphqlCodeOf(err);
    if (code === null) throw err;
    throw codedError(code, err.message, code === 'BAD_USER_INPUT' ? { reason: err.code } : {});
  }
}

export function searchResolvers(deps: SearchDeps) {
  const first = (v: unknown, fallback: number): number => {
    const n = typeof v === 'number' ? v : fallback;
    if (!Number.isInteger(n) || n < 1 || n > deps.maxPage) {
      throw badInput(`first must be an integer from 1 to ${deps.maxPage}, got ${n}. Page with \`after: pageInfo.endCursor\` instead.`);
    }
    return n;
  };
  const after = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const rev = (ctx: GraphContext, repo: string, v: unknown): Promise<string> => deps.resolveRev(ctx, repo, typeof v === 'string' ? v : 'HEAD');
  const kinds = (v: unknown): EntityKind[] | null => (Array.isArray(v) && v.length > 0 ? (v as EntityKind[]) : null);
  const connection = <T>(page: { items: Array<{ cursor: string; node: T }>; hasNextPage: boolean; total: number }) => ({
    edges: page.items,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.items[page.items.length - 1]?.cursor ?? null },
    totalCount: page.total,
  });

  return {
    Repository: {
      search: async (r: { name: string }, args: Args, ctx: GraphContext) => {
        const query = typeof args.query === 'string' ? args.query : '';
        if (query.trim() === '') throw codedError('BAD_USER_INPUT', 'query is empty; give a name, keywords or a pattern.', { reason: 'EMPTY_QUERY' });
        const page = { first: first(args.first, 20), after: after(args.after) };
        const sha = await rev(ctx, r.name, args.rev);
        const mode = (typeof args.mode === 'string' ? args.mode : 'HYBRID').toLowerCase() as SearchModeName;
        const res = await call(() => backendOf(ctx).search(r.name, sha, {
          query, mode, kinds: kinds(args.kind ?? args.kinds), path: typeof args.path === 'string' ? args.path : null, bodies: args.bodies === true,
        }, page));
        return connection({ ...res, items: res.items.map((x) => ({ cursor: x.cursor, node: { ...x.node, entity: deps.entityNode(r.name, sha, x.node.entity) } })) });
      },
      path: async (r: { name: string }, args: Args, ctx: GraphContext) => {
        const sha = await rev(ctx, r.name, args.rev);
        const list = await call(() => backendOf(ctx).path(r.name, sha, String(args.from), String(args.to)));
        return list && list.map((e) => deps.entityNode(r.name, sha, e));
      },
      topEntities: async (r: { name: string }, args: Args, ctx: GraphContext) => {
        const page = { first: first(args.first, 20), after: after(args.after) };
        const sha = await rev(ctx, r.name, args.rev);
        const res = await call(() => backendOf(ctx).topEntities(r.name, sha, kinds(args.kinds), page));
        return connection({ ...res, items: res.items.map((x) => ({ cursor: x.cursor, node: { ...x.node, entity: deps.entityNode(r.name, sha, x.node.entity) } })) });
      },
      cycles: async (r: { name: string }, args: Args, ctx: GraphContext) =>
        call(async () => backendOf(ctx).cycles(r.name, await rev(ctx, r.name, args.rev))),
    },
    Entity: {
      neighbourhood: async (e: EntityRecord & { repository: string; commitSha: string }, args: Args, ctx: GraphContext) => {
        const depth = typeof args.depth === 'number' ? args.depth : 1;
        if (!Number.isInteger(depth) || depth < 1 || depth > deps.maxDepth) throw badInput(`depth must be an integer from 1 to ${deps.maxDepth}, got ${depth}.`);
        const list = await call(() => backendOf(ctx).neighbourhood(e.repository, e.commitSha, e.id, depth, (args.kinds as EdgeKindName[] | null | undefined) ?? null, first(args.first, 50)));
        return list.map((n) => ({ ...n, entity: deps.entityNode(e.repository, e.commitSha, n.entity), from: deps.entityNode(e.repository, e.commitSha, n.from) }));
      },
    },
  };
}
