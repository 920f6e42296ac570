// Embedding providers (issue #12): the built-in one, and the OpenAI-compatible HTTP client against a
// fake /v1/embeddings server on 127.0.0.1 (batching, auth, order, retries on 429/5xx/timeouts, no
// retry on other 4xx, malformed answers, option validation).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, it } from 'node:test';
import { CodedError } from '../errors/index.ts';
import { embed } from '../store/embed.ts';
import { BuiltinEmbedder, HttpEmbedder } from '../store/embedders/index.ts';

interface Seen { auth: string | undefined; body: { model: string; input: string[] } }
type Reply = (req: Seen, res: http.ServerResponse) => void;

let server: http.Server;
let base: string;
let seen: Seen[] = [];
let replies: Reply[] = [];

/** A deterministic 3-dimensional embedding of a text: [length, 1, 0] (normalised by the client). */
const vec = (t: string): number[] => [t.length, 1, 0];
const ok: Reply = (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ data: req.body.input.map((t, index) => ({ index, embedding: vec(t) })) }));
};

before(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const s: Seen = { auth: req.headers.authorization, body: JSON.parse(raw) as Seen['body'] };
      seen.push(s);
      (replies.shift() ?? ok)(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen = [];
  replies = [];
});

const client = (extra: Partial<ConstructorParameters<typeof HttpEmbedder>[0]> = {}) =>
  new HttpEmbedder({ baseUrl: base, model: 'm1', dims: 3, backoffMs: 1, ...extra });

function close(a: Float32Array, b: number[]): void {
  const n = Math.hypot(...b);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]! / n) < 1e-6, `${Array.from(a)} vs ${b}`));
}

it('the built-in embedder is store/embed.ts', async () => {
  const b = new BuiltinEmbedder();
  assert.equal(b.id, 'builtin:fnv-256');
  assert.deepEqual(await b.embed(['parseResponse', 'x']), [embed('parseResponse'), embed('x')]);
});

it('batches, sends model and key, keeps input order, normalises', async () => {
  const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
  const out = await client({ batchSize: 2, apiKey: 'k1' }).embed(texts);
  assert.deepEqual(seen.map((s) => s.body.input), [['a', 'bb'], ['ccc', 'dddd'], ['eeeee']]);
  assert.ok(seen.every((s) => s.body.model === 'm1' && s.auth === 'Bearer k1'));
  out.forEach((v, i) => close(v, vec(texts[i]!)));
});

it('places embeddings by their index when the server answers out of order', async () => {
  replies.push((req, res) => res.end(JSON.stringify({ data: req.body.input.map((t, index) => ({ index, embedding: vec(t) })).reverse() })));
  const out = await client().embed(['a', 'bbbb']);
  close(out[0]!, vec('a'));
  close(out[1]!, vec('bbbb'));
});

it('retries 503, 429 (with Retry-After) and a timeout, then succeeds', async () => {
  replies.push((_, res) => { res.statusCode = 503; res.end('busy'); });
  replies.push((_, res) => { res.statusCode = 429; res.setHeader('retry-after', '0'); res.end('{}'); });
  replies.push(() => { /* never answers: the client's timeout fires */ });
  const out = await client({ timeoutMs: 300, retries: 3 }).embed(['xy']);
  assert.equal(seen.length, 4);
  close(out[0]!, vec('xy'));
});

it('gives up after the retries with EMBEDDING_FAILED', async () => {
  for (let i = 0; i < 3; i++) replies.push((_, res) => { res.statusCode = 500; res.end(); });
  await assert.rejects(client({ retries: 2 }).embed(['x']), (err: unknown) =>
    CodedError.is(err, 'EMBEDDING_FAILED') && /after 3 attempts: HTTP 500/.test((err as Error).message));
  assert.equal(seen.length, 3);
});

it('does not retry a refused request (4xx), and says why', async () => {
  replies.push((_, res) => { res.statusCode = 401; res.end(JSON.stringify({ error: { message: 'bad key' } })); });
  await assert.rejects(client().embed(['x']), (err: unknown) => CodedError.is(err, 'EMBEDDING_FAILED') && /HTTP 401\): bad key/.test((err as Error).message));
  assert.equal(seen.length, 1);
});

it('rejects malformed answers with EMBEDDING_BAD_RESPONSE', async () => {
  const bad: Array<[Reply, RegExp]> = [
    [(_, res) => res.end(JSON.stringify({ data: [{ index: 0, embedding: [1, 2] }] })), /not 3 finite numbers/],
    [(_, res) => res.end(JSON.stringify({ data: [] })), /returned 0 embeddings for 1 inputs/],
    [(_, res) => res.end('not json'), /not JSON/],
    [(_, res) => res.end(JSON.stringify({ data: [{ index: 5, embedding: [1, 2, 3] }] })), /bad or repeated index 5/],
  ];
  for (const [reply, msg] of bad) {
    replies.push(reply);
    await assert.rejects(client().embed(['x']), (err: unknown) => CodedError.is(err, 'EMBEDDING_BAD_RESPONSE') && msg.test((err as Error).message));
  }
});

it('validates its options with exact messages', () => {
  const bad = (o: Partial<ConstructorParameters<typeof HttpEmbedder>[0]>, msg: string) =>
    assert.throws(() => new HttpEmbedder({ baseUrl: base, model: 'm', dims: 3, ...o }), (err: unknown) => CodedError.is(err, 'INVALID_OPTIONS') && (err as Error).message === msg);
  bad({ baseUrl: 'ftp://x' }, 'options.baseUrl must be an http(s) URL, got "ftp://x"');
  bad({ model: '' }, 'options.model must be a non-empty string');
  bad({ dims: 0 }, 'options.dims must be a positive integer, got 0');
  bad({ batchSize: 1.5 }, 'options.batchSize must be a positive integer, got 1.5');
  bad({ retries: -1 }, 'options.retries must be a non-negative integer, got -1');
  assert.equal(new HttpEmbedder({ baseUrl: `${base}/api`, model: 'm', dims: 3 }).id, `http:m@${new URL(base).host}`);
});
