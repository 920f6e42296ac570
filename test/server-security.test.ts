// Every refusal of the server, with its status or close code, against a real server on 127.0.0.1.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import pino from 'pino';
import type WebSocket from 'ws';
import { loadConfig } from '../daemon/config.ts';
import { InProcessEvents, StartupError, startServer } from '../daemon/server/index.ts';
import { MemoryBackend } from './server-memory-backend.ts';
import { cleanupAll } from './helpers/gitrepo.ts';
import { gql, rawWs, startTestServer, wait, type Harness } from './server-helpers.ts';

const READ = 'read-token-0123456789';
const METRICS_ONLY = 'metrics-token-0123456789';
const JWT_SECRET = 'a-very-long-hs256-secret-for-tests-0123456789';
const HOOK_SECRET = 'hook-secret-0123456789';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

let h: Harness;
before(async () => {
  h = await startTestServer(`
webhookSecret = "${HOOK_SECRET}"
[auth]
tokens = [{ name = "reader", sha256 = "${sha(READ)}" }, { name = "prom", sha256 = "${sha(METRICS_ONLY)}", scopes = ["metrics"] }]
[auth.jwt]
secret = "${JWT_SECRET}"
[limits]
wsInitTimeoutMs = 300
maxBodyBytes = 2048
ratePerSecond = 1000
rateBurst = 1000
`);
});
after(async () => {
  await h.server.close();
  await cleanupAll();
});

const jwt = (claims: Record<string, unknown>, exp = '5m') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(JWT_SECRET));

describe('HTTP auth', () => {
  test('401 without a token, with a wrong token, with an expired JWT', async () => {
    const none = await gql(h.server.url, '{ repositories { name } }');
    assert.equal(none.status, 401);
    assert.equal(none.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
    assert.equal((await gql(h.server.url, '{ repositories { name } }', {}, bearer('nope'))).status, 401);
    const expired = await jwt({ scope: 'codegraph:read' }, '-1m');
    const r = await gql(h.server.url, '{ repositories { name } }', {}, bearer(expired));
    assert.equal(r.status, 401);
    assert.match(r.body.errors![0]!.message, /ERR_JWT_EXPIRED/);
  });

  test('403 for a credential without the read scope', async () => {
    const r = await gql(h.server.url, '{ repositories { name } }', {}, bearer(METRICS_ONLY));
    assert.equal(r.status, 403);
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    const noScope = await gql(h.server.url, '{ repositories { name } }', {}, bearer(await jwt({ scope: 'other' })));
    assert.equal(noScope.status, 403);
    // ...but that token may scrape metrics.
    assert.equal((await fetch(`${h.server.url}/metrics`, { headers: bearer(METRICS_ONLY) })).status, 200);
    assert.equal((await fetch(`${h.server.url}/metrics`)).status, 401);
  });

  test('200 with a static token and with a JWT carrying the read scope', async () => {
    const a = await gql(h.server.url, '{ repositories { name } }', {}, bearer(READ));
    assert.equal(a.status, 200);
    assert.deepEqual(a.body.data, { repositories: [{ name: 'demo' }] });
    const b = await gql(h.server.url, '{ repositories { name } }', {}, bearer(await jwt({ scope: 'codegraph:read other' })));
    assert.equal(b.status, 200);
  });

  test('413 for a body over maxBodyBytes', async () => {
    const res = await fetch(`${h.server.url}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(READ) },
      body: JSON.stringify({ query: `{ repositories { name } } # ${'x'.repeat(4000)}` }),
    });
    assert.equal(res.status, 413);
  });
});

describe('graphql-ws refusals', () => {
  const init = (payload: unknown) => (ws: WebSocket) => ws.send(JSON.stringify({ type: 'connection_init', payload }));

  test('4401 for a missing or invalid token in connection_init', async () => {
    assert.equal((await rawWs(h.server.url, init({}))).code, 4401);
    assert.equal((await rawWs(h.server.url, init({ authorization: 'Bearer wrong' }))).code, 4401);
  });

  test('4403 for a credential without the read scope', async () => {
    assert.equal((await rawWs(h.server.url, init({ authorization: `Bearer ${METRICS_ONLY}` }))).code, 4403);
  });

  test('ack with a valid token, then 4429 on a second connection_init', async () => {
    const r = await rawWs(h.server.url, (ws) => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${READ}` } }));
      ws.once('message', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${READ}` } })));
    });
    assert.deepEqual(r.messages[0], { type: 'connection_ack' });
    assert.equal(r.code, 4429);
  });

  test('4400 for a message that is not graphql-transport-ws', async () => {
    assert.equal((await rawWs(h.server.url, (ws) => ws.send('{"type":"nonsense"}'))).code, 4400);
  });

  test('4408 when connection_init does not arrive in time', async () => {
    const started = Date.now();
    const r = await rawWs(h.server.url, () => undefined);
    assert.equal(r.code, 4408);
    assert.ok(Date.now() - started < 3_000);
  });

  test('messages over the ws maxPayload close the socket with 1009', async () => {
    const r = await rawWs(h.server.url, (ws) => ws.send('x'.repeat(2 * 1024 * 1024)));
    assert.equal(r.code, 1009);
  });

  test('a cross-site Origin is refused at the upgrade', async () => {
    await assert.rejects(rawWs(h.server.url, () => undefined, { origin: 'https://evil.example' }), /403/);
  });
});

describe('webhook', () => {
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${h.server.url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  test('accepts a valid X-Hub-Signature-256 and a bearer secret; rejects a bad signature', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { name: 'demo' } });
    const sig = 'sha256=' + createHmac('sha256', HOOK_SECRET).update(body).digest('hex');
    const ok = await post(body, { 'x-hub-signature-256': sig });
    assert.equal(ok.status, 202);
    assert.deepEqual(await ok.json(), { accepted: ['demo'] });
    assert.equal((await post(body, bearer(HOOK_SECRET))).status, 202);
    const bad = await post(body + ' ', { 'x-hub-signature-256': sig });
    assert.equal(bad.status, 401);
    assert.equal((await post(body, {})).status, 401);
    assert.equal((await post(body, bearer('wrong-secret-value'))).status, 401);
    await wait(10);
    assert.deepEqual(h.hookCalls, [['demo'], ['demo']]);
  });
});

describe('rate limit and startup', () => {
  test('429 with Retry-After once the bucket is empty', async () => {
    const small = await startTestServer('[limits]\nratePerSecond = 0.5\nrateBurst = 3\n');
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const r = await gql(small.server.url, '{ repositories { name } }');
        statuses.push(r.status);
        if (r.status === 429) {
          retryAfter = r.headers.get('retry-after');
          assert.equal(r.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
        }
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      assert.equal(retryAfter, '2');
    } finally {
      await small.server.close();
    }
  });

  test('refuses to start on a non-loopback host without auth', async () => {
    const config = { ...loadConfig({ argv: ['--repo', '/tmp'], env: {} }), host: '0.0.0.0' };
    await assert.rejects(
      startServer({ config, backend: new MemoryBackend(), events: new InProcessEvents(), logger: pino({ level: 'silent' }), ready: async () => true }),
      (err: unknown) => err instanceof StartupError && /refusing to listen on 0\.0\.0\.0 without authentication/.test(err.message),
    );
  });

  test('graceful close: WebSockets get 1001, SSE streams end, new connections are refused', async () => {
    const s = await startTestServer();
    const closed = rawWs(s.server.url, (ws) => ws.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    const sse = await fetch(`${s.server.url}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { indexProgress(repository: "demo") { done } }' }),
    });
    const reader = sse.body!.getReader();
    await wait(100);
    await s.server.close();
    assert.equal((await closed).code, 1001);
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    await assert.rejects(fetch(`${s.server.url}/healthz`));
  });
});
