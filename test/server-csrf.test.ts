// CSRF protection of /graphql (issue #8 item 6), over real HTTP: a loopback daemon without auth must
// not run queries for a cross-site form post or a simple cross-site GET.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanupAll } from './helpers/gitrepo.ts';
import { startTestServer, type Harness } from './server-helpers.ts';

let h: Harness;
before(async () => {
  h = await startTestServer();
});
after(async () => {
  await h.server.close();
  await cleanupAll();
});

const QUERY = '{ repositories { name } }';

async function post(contentType: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.server.url}/graphql`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
  return { status: res.status, text: await res.text() };
}

async function get(headers: Record<string, string> = {}) {
  const res = await fetch(`${h.server.url}/graphql?query=${encodeURIComponent(QUERY)}`, { headers: { accept: 'application/json', ...headers } });
  return { status: res.status, text: await res.text() };
}

test('cross-site form posts are refused: urlencoded, multipart, text/plain', async () => {
  const form = await post('application/x-www-form-urlencoded', `query=${encodeURIComponent(QUERY)}`, { origin: 'https://evil.example' });
  assert.equal(form.status, 403, form.text);
  assert.match(form.text, /content-type application\/json/);
  assert.doesNotMatch(form.text, /demo/, 'the query did not run');
  const multipart = await post('multipart/form-data; boundary=x', `--x\r\ncontent-disposition: form-data; name="query"\r\n\r\n${QUERY}\r\n--x--\r\n`);
  assert.equal(multipart.status, 403, multipart.text);
  const plain = await post('text/plain', JSON.stringify({ query: QUERY }));
  assert.equal(plain.status, 403, plain.text);
  assert.match(plain.text, /"code":"FORBIDDEN"/);
});

test('a simple GET is refused; with graphql-require-preflight or from the same origin it runs', async () => {
  const simple = await get();
  assert.equal(simple.status, 403, simple.text);
  assert.match(simple.text, /graphql-require-preflight/);
  const crossSite = await get({ origin: 'https://evil.example' });
  assert.equal(crossSite.status, 403, crossSite.text);
  const preflight = await get({ 'graphql-require-preflight': '1' });
  assert.equal(preflight.status, 200, preflight.text);
  assert.match(preflight.text, /"demo"/);
  const sameOrigin = await get({ origin: h.server.url });
  assert.equal(sameOrigin.status, 200, sameOrigin.text);
  const fetchMeta = await get({ 'sec-fetch-site': 'same-origin' });
  assert.equal(fetchMeta.status, 200, fetchMeta.text);
  const crossMeta = await get({ 'sec-fetch-site': 'cross-site' });
  assert.equal(crossMeta.status, 403, crossMeta.text);
});

test('JSON posts (what the dashboard sends) are accepted', async () => {
  for (const type of ['application/json', 'application/json; charset=utf-8', 'application/graphql-response+json']) {
    const r = await post(type, JSON.stringify({ query: QUERY }));
    assert.notEqual(r.status, 403, `${type}: ${r.text}`);
  }
  const r = await post('application/json', JSON.stringify({ query: QUERY }));
  assert.equal(r.status, 200);
  assert.match(r.text, /"demo"/);
});
