// The `codegraph serve` HTTP server: GraphQL over HTTP/SSE/WebSocket at /graphql, probes,
// metrics, the dashboard and the git webhook, behind auth, rate limits and size limits.
// Public surface: startServer (and the metric objects, from ./metrics.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { authConfigured, isLoopback, type Config } from '../config.ts';
import type { EventSource, GraphBackend, Principal } from '../../resolvers/context.ts';
import { createAuthenticator, type AuthResult } from './auth.ts';
import { attachGraphQLWs, createGraphQL } from './graphql.ts';
import { BodyTooLarge, clientIp, csrfRefusal, readBody, sameOrigin, sendError, sendJson } from './http.ts';
import { graphqlDuration, registry, rejections } from './metrics.ts';
import { RateLimiter } from './ratelimit.ts';
import { reposForPayload, verifyWebhook } from './webhook.ts';
import { CodedError } from '../../errors/index.ts';

export { InProcessEvents } from './pubsub.ts';
export * as metrics from './metrics.ts';

export type ServerConfig = Pick<Config, 'host' | 'port' | 'auth' | 'limits' | 'webhookSecret' | 'repos'>;

export interface StartServerOptions {
  config: ServerConfig;
  backend: GraphBackend;
  events: EventSource;
  logger: Logger;
  /** /readyz: store reachable and initial index done. */
  ready: () => Promise<boolean>;
  /** Called by an authenticated `POST /hooks/git` with the names of the repositories to fetch and re-check. */
  onGitHook?: (repos: string[]) => Promise<void>;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting, closes WebSockets with 1001 and SSE streams, waits for in-flight requests. */
  close(): Promise<void>;
}

export class StartupError extends CodedError<'STARTUP'> {
  override name = 'StartupError';
  constructor(message: string) {
    super('STARTUP', message);
  }
}

/** `Host: name[:port]` or `[ipv6][:port]` (RFC 9110 7.2, reg-name without percent-encoding). */
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/;

const DASHBOARD_PATH = new URL('../../web/index.html', import.meta.url);

function loadDashboard(): { html: string; csp: string } {
  const html = readFileSync(DASHBOARD_PATH, 'utf8');
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  const csp = `default-src 'none'; script-src ${hashes.join(' ') || "'none'"}; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, csp };
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const { config, logger } = opts;
  const limits = config.limits;
  if (!isLoopback(config.host) && !authConfigured(config)) {
    throw new StartupError(`refusing to listen on ${config.host} without authentication: configure [[auth.tokens]] or [auth.jwt], or bind to 127.0.0.1`);
  }
  const auth = await createAuthenticator(config);
  const limiter = new RateLimiter({ ratePerSecond: limits.ratePerSecond, burst: limits.rateBurst });
  const yoga = createGraphQL({ backend: opts.backend, events: opts.events, logger, limits });
  const dashboard = loadDashboard();
  const allowedHosts = new Set(['localhost', '127.0.0.1', '[::1]', config.host]);

  let closing = false;
  const inflight = new Set<Promise<void>>();
  const streams = new Set<AbortController>();
  const sockets = new Set<Socket>();

  /** Without auth we trust loopback peers only; reject DNS-rebinding via the Host header. */
  const hostAllowed = (req: IncomingMessage): boolean => {
    if (auth.enabled) return true;
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    return allowedHosts.has(host);
  };

  /** Auth + scope + rate limit. Sends the refusal and returns null, or returns the principal. */
  const admit = async (req: IncomingMessage, res: ServerResponse, scope: string): Promise<Principal | null> => {
    const r: AuthResult = await auth.authenticate(typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined);
    const key = r.ok && r.principal.id !== 'anonymous' ? `p:${r.principal.id}` : `ip:${clientIp(req)}`;
    const wait = limiter.take(key);
    if (wait > 0) {
      rejections.inc({ reason: 'rate_limited' });
      sendError(res, 429, 'RATE_LIMITED', `too many requests; retry in ${Math.ceil(wait)} s`, { 'retry-after': String(Math.ceil(wait)) });
      return null;
    }
    if (!r.ok) {
      rejections.inc({ reason: 'unauthenticated' });
      sendError(res, 401, 'UNAUTHENTICATED', `${r.reason}. Send \`Authorization: Bearer <token>\`.`, { 'www-authenticate': 'Bearer realm="codegraph"' });
      return null;
    }
    if (!r.principal.scopes.has(scope)) {
      rejections.inc({ reason: 'forbidden' });
      sendError(res, 403, 'FORBIDDEN', `this credential lacks the '${scope}' scope`);
      return null;
    }
    return r.principal;
  };

  const handleGraphQL = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const csrf = csrfRefusal(req);
    if (csrf !== null) {
      rejections.inc({ reason: 'csrf' });
      return sendError(res, 403, 'FORBIDDEN', csrf);
    }
    const principal = await admit(req, res, 'read');
    if (!principal) return;
    let body: Buffer | undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      try {
        body = await readBody(req, limits.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          rejections.inc({ reason: 'too_large' });
          sendError(res, 413, 'BAD_USER_INPUT', `request body is over ${limits.maxBodyBytes} bytes`, { connection: 'close' });
          return;
        }
        throw err;
      }
    }
    const abort = new AbortController();
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const request = new Request(url, { method: req.method ?? 'GET', headers, body: body && body.length > 0 ? new Uint8Array(body) : null, signal: abort.signal });
    const end = graphqlDuration.startTimer({ transport: 'http' });
    const response = await yoga.fetch(request, { principal, transport: 'http' });
    const streaming = (response.headers.get('content-type') ?? '').includes('text/event-stream');
    const outHeaders: Record<string, string> = {};
    response.headers.forEach((v, k) => (outHeaders[k] = v));
    res.writeHead(response.status, outHeaders);
    if (!streaming) end({ status: String(response.status) });
    if (!response.body) {
      res.end();
      return;
    }
    if (streaming) streams.add(abort);
    // Yoga may hand back its own ReadableStream ponyfill, so read through the reader protocol only.
    const reader = response.body.getReader();
    const stop = () => {
      abort.abort();
      reader.cancel().catch(() => undefined);
    };
    res.on('close', stop);
    // A pending read() of the ponyfill does not settle on cancel(), so the abort wins the race.
    const aborted = new Promise<{ done: true; value: undefined }>((resolve) => {
      abort.signal.addEventListener('abort', () => {
        reader.cancel().catch(() => undefined);
        resolve({ done: true, value: undefined });
      }, { once: true });
    });
    try {
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), aborted]);
        if (done || res.destroyed) break;
        if (!res.write(value)) await new Promise((r) => res.once('drain', r));
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    } finally {
      streams.delete(abort);
      res.off('close', stop);
      res.end();
    }
  };

  const handleWebhook = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const secret = config.webhookSecret;
    if (secret === undefined) {
      sendJson(res, 404, { error: 'webhook disabled: set webhookSecret in the config (or CODEGRAPH_WEBHOOK_SECRET)' });
      return;
    }
    const wait = limiter.take(`ip:${clientIp(req)}`);
    if (wait > 0) {
      sendJson(res, 429, { error: 'too many requests' }, { 'retry-after': String(Math.ceil(wait)) });
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, limits.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: `body is over ${limits.maxBodyBytes} bytes` }, { connection: 'close' });
      throw err;
    }
    if (!verifyWebhook(secret, body, req.headers)) {
      rejections.inc({ reason: 'unauthenticated' });
      sendJson(res, 401, { error: 'bad signature: sign the body with HMAC-SHA256 of webhookSecret in X-Hub-Signature-256, or send Authorization: Bearer <webhookSecret>' });
      return;
    }
    if (req.headers['x-github-event'] === 'ping') return sendJson(res, 200, { ok: true });
    const repos = reposForPayload(config.repos, body);
    if (opts.onGitHook && repos.length > 0) {
      opts.onGitHook(repos).catch((err: unknown) => logger.error({ err, repos }, 'webhook fetch failed'));
    }
    sendJson(res, 202, { accepted: repos });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('x-content-type-options', 'nosniff');
    if (closing) return sendJson(res, 503, { error: 'shutting down' }, { connection: 'close' });
    // Routing needs only the path: a malformed Host must not make URL parsing throw (a 500).
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!VALID_HOST.test(req.headers.host ?? '')) {
      rejections.inc({ reason: 'bad_host' });
      return sendError(res, 400, 'BAD_REQUEST', `missing or malformed Host header ${JSON.stringify(req.headers.host ?? '')}: send \`Host: name[:port]\``);
    }
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (!hostAllowed(req)) {
      rejections.inc({ reason: 'bad_host' });
      return sendError(res, 403, 'FORBIDDEN', 'unexpected Host header: without auth only loopback names are served');
    }
    switch (url.pathname) {
      case '/readyz': {
        let ok = false;
        try {
          ok = await Promise.race([opts.ready(), new Promise<boolean>((r) => setTimeout(() => r(false), 2_000).unref())]);
        } catch (err) {
          logger.warn({ err }, 'readiness check failed');
        }
        return sendJson(res, ok ? 200 : 503, { ready: ok });
      }
      case '/metrics': {
        if (!(await admit(req, res, 'metrics'))) return;
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
        return;
      }
      case '/':
      case '/index.html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': dashboard.csp, 'x-frame-options': 'DENY' });
        res.end(dashboard.html);
        return;
      case '/hooks/git':
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' }, { allow: 'POST' });
        return handleWebhook(req, res);
      case '/graphql':
        return handleGraphQL(req, res, url);
      default:
        return sendJson(res, 404, { error: 'not found: try /graphql, /healthz, /readyz, /metrics' });
    }
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    const p = route(req, res)
      .catch((err: unknown) => {
        logger.error({ err }, 'request failed');
        if (!res.headersSent) sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
        else res.end();
      })
      .finally(() => {
        inflight.delete(p);
        logger.info({ method: req.method, path: req.url?.split('?')[0], status: res.statusCode, ms: Math.round(performance.now() - started), ip: clientIp(req) }, 'request');
      });
    inflight.add(p);
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.wsMaxPayloadBytes });
  const wsServer = attachGraphQLWs({
    yoga, wss, auth, limiter, logger, initTimeoutMs: limits.wsInitTimeoutMs, maxSubscriptionsPerSocket: limits.maxSubscriptionsPerSocket,
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refuse = (status: number, text: string, extra = '') => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n${extra}\r\n`);
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (closing) return refuse(503, 'Service Unavailable');
    if (url.pathname !== '/graphql') return refuse(404, 'Not Found');
    if (!hostAllowed(req)) return refuse(403, 'Forbidden');
    // Browsers send Origin on WebSocket handshakes but do not apply CORS: refuse cross-site pages.
    if (sameOrigin(req) === false) {
      rejections.inc({ reason: 'bad_origin' });
      return refuse(403, 'Forbidden');
    }
    const wait = limiter.take(`ip:${clientIp(req)}`);
    if (wait > 0) {
      rejections.inc({ reason: 'rate_limited' });
      return refuse(429, 'Too Many Requests', `retry-after: ${Math.ceil(wait)}\r\n`);
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${hostForUrl}:${addr.port}`;
  logger.info({ url, auth: auth.enabled }, 'listening');

  let closed: Promise<void> | null = null;
  return {
    url,
    port: addr.port,
    close() {
      closed ??= (async () => {
        closing = true;
        const serverClosed = new Promise<void>((r) => server.close(() => r()));
        await wsServer.dispose(); // closes every socket with 1001 Going away
        for (const s of streams) s.abort();
        const timeout = new Promise<void>((r) => setTimeout(r, limits.shutdownTimeoutMs).unref());
        await Promise.race([Promise.allSettled([...inflight]).then(() => undefined), timeout]);
        // Let finished responses flush, then drop whatever is still open.
        server.closeIdleConnections();
        const grace = setInterval(() => server.closeIdleConnections(), 20);
        await Promise.race([serverClosed, new Promise((r) => setTimeout(r, 1_000).unref())]);
        clearInterval(grace);
        for (const s of sockets) s.destroy();
        await serverClosed;
        logger.info('server closed');
      })();
      return closed;
    },
  };
}
