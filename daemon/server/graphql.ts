// Yoga (HTTP + SSE) and graphql-ws (WebSocket) over one schema and one Envelop pipeline, so
// limits, error masking and context are the same on every transport.
import type { IncomingMessage } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { createSchema, createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { typeDefs } from '../../schema/index.ts';
import { createLoaders, resolvers } from '../../resolvers/index.ts';
import type { EventSource, GraphBackend, GraphContext, Principal } from '../../resolvers/context.ts';
import { codedError, toGraphQLError } from '../../resolvers/errors.ts';
import type { Authenticator } from './auth.ts';
import { useOperationLimits, type OperationLimits } from './limits.ts';
import { activeSockets, activeSubscriptions, graphqlDuration, rejections } from './metrics.ts';
import type { RateLimiter } from './ratelimit.ts';

export interface ServerContext {
  principal: Principal;
  transport: 'http' | 'ws';
}

export type Yoga = YogaServerInstance<ServerContext, GraphContext>;

export function createGraphQL(opts: { backend: GraphBackend; events: EventSource; logger: Logger; limits: OperationLimits }): Yoga {
  const { backend, events, logger } = opts;
  const schema = createSchema<ServerContext & GraphContext>({ typeDefs, resolvers: resolvers as never });
  const wsTiming: Plugin<ServerContext> = {
    onExecute({ args }) {
      if ((args.contextValue as ServerContext).transport !== 'ws') return undefined;
      const end = graphqlDuration.startTimer({ transport: 'ws' });
      return {
        onExecuteDone: ({ result }) => {
          end({ status: 'errors' in result && result.errors ? 'error' : 'ok' });
        },
      };
    },
  };
  return createYoga<ServerContext, GraphContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: false,
    landingPage: false,
    // Same-origin only: the dashboard is served from here, and a loopback daemon without auth must
    // not answer reads for arbitrary web pages.
    cors: false,
    maskedErrors: {
      isDev: false,
      maskError(error, message, isDev) {
        // Expected errors from below (StoreError, GitError, ...) reach the client with their code.
        const coded = toGraphQLError(error);
        if (coded !== null) return coded;
        const masked = maskError(error, message, isDev);
        if (masked !== error || !(error instanceof GraphQLError) || error.originalError) {
          const original = error instanceof GraphQLError ? error.originalError ?? error : error;
          if (!(original instanceof GraphQLError)) logger.error({ err: original, path: (error as GraphQLError).path }, 'resolver error (masked)');
        }
        return masked;
      },
    },
    logging: {
      debug: (...a: unknown[]) => logger.debug({ yoga: a }, 'yoga'),
      info: (...a: unknown[]) => logger.info({ yoga: a }, 'yoga'),
      warn: (...a: unknown[]) => logger.warn({ yoga: a }, 'yoga'),
      error: (...a: unknown[]) => logger.error({ yoga: a }, 'yoga'),
    },
    plugins: [useOperationLimits(opts.limits), wsTiming],
    context: ({ principal }) => ({
      backend,
      events,
      principal,
      loaders: createLoaders(backend),
      subscriptionOpened: (topic) => {
        activeSubscriptions.inc({ topic });
        return () => activeSubscriptions.dec({ topic });
      },
    }),
  });
}

interface WsOptions {
  yoga: Yoga;
  wss: WebSocketServer;
  auth: Authenticator;
  limiter: RateLimiter;
  logger: Logger;
  initTimeoutMs: number;
  maxSubscriptionsPerSocket: number;
}

/** graphql-ws on `wss`. Auth happens in `connection_init` (payload `authorization`, else the upgrade header). */
export function attachGraphQLWs(o: WsOptions) {
  const principals = new WeakMap<object, Principal>();
  const counts = new WeakMap<object, number>();
  return useServer<Record<string, unknown> | undefined, { principal?: Principal }>({
    connectionInitWaitTimeout: o.initTimeoutMs,
    onConnect: async (ctx) => {
      const fromPayload = ctx.connectionParams?.authorization;
      const header = typeof fromPayload === 'string' ? fromPayload : ctx.extra.request.headers.authorization;
      const r = await o.auth.authenticate(header);
      if (!r.ok) {
        rejections.inc({ reason: 'unauthenticated' });
        o.logger.info({ ip: ctx.extra.request.socket.remoteAddress, reason: r.reason }, 'ws unauthenticated');
        // graphql-ws only knows 4403 for a refused init; close with 4401 first (the first close code wins).
        ctx.extra.socket.close(4401, 'Unauthorized');
        return false;
      }
      if (!r.principal.scopes.has('read')) {
        rejections.inc({ reason: 'forbidden' });
        return false; // 4403 Forbidden
      }
      principals.set(ctx.extra.socket, r.principal);
      activeSockets.inc();
      return true;
    },
    onDisconnect: () => {
      activeSockets.dec();
    },
    onSubscribe: async (ctx, _id, payload) => {
      const principal = principals.get(ctx.extra.socket);
      if (!principal) return [codedError('UNAUTHENTICATED', 'connection is not authenticated')];
      const wait = o.limiter.take(principal.id === 'anonymous' ? `ip:${ctx.extra.request.socket.remoteAddress}` : `p:${principal.id}`);
      if (wait > 0) {
        rejections.inc({ reason: 'rate_limited' });
        return [codedError('RATE_LIMITED', `too many operations; retry in ${Math.ceil(wait)} s`, { retryAfter: Math.ceil(wait) })];
      }
      const n = counts.get(ctx.extra.socket) ?? 0;
      if (n >= o.maxSubscriptionsPerSocket) {
        return [codedError('RATE_LIMITED', `at most ${o.maxSubscriptionsPerSocket} operations per connection; complete some or open another connection`)];
      }
      const { schema, execute, subscribe, contextFactory, parse, validate } = o.yoga.getEnveloped({
        principal, transport: 'ws', params: payload, request: ctx.extra.request as unknown as Request,
      } as never);
      let document;
      try {
        document = parse(payload.query);
      } catch (err) {
        if (err instanceof GraphQLError) return [err];
        throw err;
      }
      const errors = validate(schema, document);
      if (errors.length > 0) return errors;
      counts.set(ctx.extra.socket, n + 1);
      const args: ExecutionArgs = {
        schema,
        document,
        operationName: payload.operationName ?? null,
        variableValues: payload.variables ?? null,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      return args;
    },
    onComplete: (ctx) => {
      const n = counts.get(ctx.extra.socket) ?? 1;
      counts.set(ctx.extra.socket, n - 1);
    },
    execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
    subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
  }, o.wss, 12_000);
}

export type UpgradeRequest = IncomingMessage;
