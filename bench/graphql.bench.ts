// The HTTP/GraphQL layer of `codegraph serve` (yoga, auth, limits, rate limit) over the in-memory
// test backend, so the store is out of the picture.
// `graphql.throughput`: req/s of one cached query from N keep-alive workers. Peer: plain graphql-js
//   `graphql()` over `node:http` serving the same SDL with trivial resolvers, in the same run.
// `graphql.subscriber_memory`: heap and RSS per idle `commitIndexed` subscriber at 1,000 sockets (one
//   subscription each), server in a child process with `--expose-gc`. Peer: the same number of bare
//   `ws` connections to a plain `ws` server in a child process.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, graphql } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { loadConfig } from '../daemon/config.ts';
import { InProcessEvents, startServer, type RunningServer } from '../daemon/server/index.ts';
import { MemoryBackend, SHA1, SHA2 } from '../test/server-memory-backend.ts';

export const name = 'graphql';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const REQUESTS = Number(process.env.CODEGRAPH_BENCH_GRAPHQL_REQUESTS ?? '3000');
const CONCURRENCY = Number(process.env.CODEGRAPH_BENCH_GRAPHQL_CONCURRENCY ?? '20');
const SUBSCRIBERS = Number(process.env.CODEGRAPH_BENCH_GRAPHQL_SUBSCRIBERS ?? '1000');
const CHILD_ENV = 'CODEGRAPH_BENCH_GRAPHQL_CHILD';
const QUERY = '{ repositories { name refs { name sha } } }';
const SUBSCRIPTION = 'subscription { commitIndexed(repository: "demo") { sha } }';

type MemorySample = { heapUsed: number; rss: number };
type ChildMessage = { ready: string } | { mem: MemorySample } | { published: true };

/** Our real server on 127.0.0.1:0 over the in-memory backend, limits raised so the bench never sees 429/4xx. */
async function startOurs(): Promise<{ server: RunningServer; events: InProcessEvents; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cg-bench-graphql-'));
  const file = path.join(dir, 'codegraph.toml');
  await writeFile(file, `port = 0\n[limits]\nratePerSecond = 1000000000\nrateBurst = 1000000000\nmaxSubscriptionsPerSocket = 50\n[[repos]]\npath = "${dir}"\nname = "demo"\nremote = "origin"\n`);
  const config = loadConfig({ argv: ['--config', file], env: {} });
  const events = new InProcessEvents();
  const server = await startServer({ config, backend: new MemoryBackend(), events, logger: pino({ level: 'silent' }), ready: async () => true });
  return { server, events, close: async () => { await server.close(); await rm(dir, { recursive: true, force: true }); } };
}

/** Plain graphql-js over node:http, same SDL, resolvers returning the same data as the memory backend. */
async function startPlain(): Promise<{ url: string; close(): Promise<void> }> {
  const schema = buildSchema(await readFile(path.join(HERE, '..', 'schema', 'schema.graphql'), 'utf8'));
  const rootValue = { repositories: () => [{ name: 'demo', refs: () => [{ name: 'refs/heads/main', sha: SHA2 }] }] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, unknown> };
        const result = await graphql({ schema, source: body.query, rootValue, variableValues: body.variables ?? null });
        const out = JSON.stringify(result);
        res.writeHead(200, { 'content-type': 'application/graphql-response+json; charset=utf-8', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

async function post(url: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: QUERY }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

/** `total` requests from `concurrency` workers over keep-alive fetch; returns req/s. */
async function load(url: string, total: number, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++;
      await post(url);
    }
  }));
  return total / ((performance.now() - t0) / 1000);
}

async function throughput(): Promise<Record<string, unknown>> {
  const ours = await startOurs();
  const plain = await startPlain();
  try {
    const a = JSON.parse(await post(ours.server.url)) as unknown;
    const b = JSON.parse(await post(plain.url)) as unknown;
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`responses differ: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    const warm = Math.min(500, REQUESTS);
    await load(ours.server.url, warm, CONCURRENCY);
    await load(plain.url, warm, CONCURRENCY);
    // Alternate rounds so drift on a shared machine hits both sides alike.
    const oursRps: number[] = [];
    const plainRps: number[] = [];
    for (let round = 0; round < 2; round++) {
      oursRps.push(await load(ours.server.url, REQUESTS / 2, CONCURRENCY));
      plainRps.push(await load(plain.url, REQUESTS / 2, CONCURRENCY));
    }
    const o = oursRps.reduce((x, y) => x + y) / oursRps.length;
    const p = plainRps.reduce((x, y) => x + y) / plainRps.length;
    return { figure: 'graphql.throughput', query: QUERY, requests: REQUESTS, concurrency: CONCURRENCY, reqPerSec: Math.round(o), plainGraphqlJsReqPerSec: Math.round(p), reqPerSecRatio: Number((o / p).toFixed(2)) };
  } finally {
    await plain.close();
    await ours.close();
  }
}

// ---- child processes for the memory figure ----

async function memSample(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

async function child(mode: string): Promise<void> {
  const send = (m: ChildMessage) => process.send!(m);
  let close: () => Promise<void>;
  let publish = () => undefined as void;
  if (mode === 'ours') {
    const ours = await startOurs();
    close = ours.close;
    publish = () => ours.events.publish('commitIndexed', { repository: 'demo', ref: 'refs/heads/main', sha: SHA2, parents: [SHA1] });
    send({ ready: ours.server.url });
  } else {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    close = () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(); server.close(() => r()); });
    send({ ready: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  }
  process.on('message', (m: { cmd: string }) => {
    void (async () => {
      if (m.cmd === 'mem') send({ mem: await memSample() });
      else if (m.cmd === 'publish') { publish(); send({ published: true }); }
      else if (m.cmd === 'exit') { await close(); process.exit(0); }
    })();
  });
}

class Child {
  private waiters: Array<(m: ChildMessage) => void> = [];
  private queued: ChildMessage[] = [];
  readonly proc: ChildProcess;
  constructor(mode: string) {
    this.proc = fork(SELF, [], { execArgv: ['--expose-gc', '--import', 'tsx'], env: { ...process.env, [CHILD_ENV]: mode }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.proc.on('message', (m: ChildMessage) => {
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queued.push(m);
    });
  }
  next(): Promise<ChildMessage> {
    const q = this.queued.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('bench child did not answer within 20 s')), 20_000);
      this.waiters.push((m) => { clearTimeout(t); resolve(m); });
    });
  }
  async ask(cmd: string): Promise<ChildMessage> {
    const p = this.next();
    this.proc.send({ cmd });
    return p;
  }
  async mem(): Promise<MemorySample> {
    const m = await this.ask('mem');
    if (!('mem' in m)) throw new Error('unexpected child answer');
    return m.mem;
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.send({ cmd: 'exit' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
}

async function inBatches<T>(n: number, batch: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch) out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => open(i + j)))));
  return out;
}

/** Opens `n` graphql-ws clients with one subscription each; resolves once every one has received an event. */
async function subscribeAll(c: Child, url: string, n: number): Promise<Client[]> {
  const got = new Set<number>();
  let failure: Error | null = null;
  const fail = (e: unknown) => { failure ??= e instanceof Error ? e : new Error(`subscription failed: ${JSON.stringify(e)}`); };
  const clients = await inBatches(n, 100, (i) => new Promise<Client>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('graphql-ws connection not acknowledged within 10 s')), 10_000);
    const client = createClient({
      url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0,
      on: { connected: () => { clearTimeout(t); resolve(client); }, error: (e) => { clearTimeout(t); reject(e instanceof Error ? e : new Error('graphql-ws connection failed')); } },
    });
    client.subscribe({ query: SUBSCRIPTION }, { next: () => { got.add(i); }, error: fail, complete: () => undefined });
  }));
  const deadline = Date.now() + 20_000;
  while (got.size < n) {
    if (failure) throw failure;
    if (Date.now() > deadline) throw new Error(`only ${got.size}/${n} subscriptions delivered within 20 s`);
    await c.ask('publish');
    await new Promise((r) => setTimeout(r, 100));
  }
  return clients;
}

async function disposeAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((cl) => cl.dispose()));
}

function openBare(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace('http', 'ws'));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function closeBare(sockets: WebSocket[]): Promise<void> {
  await Promise.all(sockets.map((ws) => new Promise<void>((r) => { if (ws.readyState === WebSocket.CLOSED) r(); else { ws.once('close', () => r()); ws.terminate(); } })));
}

async function memoryFigure(): Promise<Record<string, unknown>> {
  const ours = new Child('ours');
  const peer = new Child('ws');
  try {
    const oursReady = await ours.next();
    const peerReady = await peer.next();
    if (!('ready' in oursReady) || !('ready' in peerReady)) throw new Error('bench child did not start');
    // Warm up the code paths (lazy modules, JIT, pools) before the baseline.
    await disposeAll(await subscribeAll(ours, oursReady.ready, 20));
    await closeBare(await inBatches(20, 20, () => openBare(peerReady.ready)));
    await new Promise((r) => setTimeout(r, 200));

    const o0 = await ours.mem();
    const clients = await subscribeAll(ours, oursReady.ready, SUBSCRIBERS);
    await new Promise((r) => setTimeout(r, 200));
    const o1 = await ours.mem();
    await disposeAll(clients);

    const p0 = await peer.mem();
    const sockets = await inBatches(SUBSCRIBERS, 100, () => openBare(peerReady.ready));
    await new Promise((r) => setTimeout(r, 200));
    const p1 = await peer.mem();
    await closeBare(sockets);

    const per = (a: MemorySample, b: MemorySample, k: keyof MemorySample) => Math.round((b[k] - a[k]) / SUBSCRIBERS);
    const heapPer = per(o0, o1, 'heapUsed');
    const rssPer = per(o0, o1, 'rss');
    const peerHeapPer = per(p0, p1, 'heapUsed');
    const peerRssPer = per(p0, p1, 'rss');
    return {
      figure: 'graphql.subscriber_memory', subscribers: SUBSCRIBERS, subscription: SUBSCRIPTION,
      heapBytesPerSubscriber: heapPer, rssBytesPerSubscriber: rssPer,
      bareWsHeapBytesPerConnection: peerHeapPer, bareWsRssBytesPerConnection: peerRssPer,
      heapRatio: Number((heapPer / peerHeapPer).toFixed(2)), rssRatio: Number((rssPer / peerRssPer).toFixed(2)),
    };
  } finally {
    await ours.stop();
    await peer.stop();
  }
}

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  process.stderr.write('[graphql] throughput\n');
  out.push(await throughput());
  process.stderr.write(`[graphql] memory at ${SUBSCRIBERS} subscribers\n`);
  out.push(await memoryFigure());
  return out;
}

const childMode = process.env[CHILD_ENV];
if (childMode !== undefined) await child(childMode);
