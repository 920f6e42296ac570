// The dashboard (web/index.html) in a real browser (Debian's Chromium through playwright-core)
// against a real `codegraph serve` on 127.0.0.1: it lists the commits, the most central entities,
// finds an entity by search, shows its callers, callees and history, and shows a commit indexed
// while the page is open. A missing Chromium fails the test (CI installs it), never skips it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { chromium } from 'playwright-core';
import { loadConfig } from '../daemon/config.ts';
import { startService } from '../daemon/service.ts';
import { cleanupAll, makeRepo, makeTempDir } from './helpers/gitrepo.ts';
import { captureLogs, untilReady } from './helpers/serve.ts';

const CHROMIUM = process.env.CODEGRAPH_TEST_CHROMIUM ?? '/usr/bin/chromium';

after(() => cleanupAll());

it('dashboard: commits, central entities, search, an entity with callers, callees and history, a live commit', { timeout: 300_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (or set CODEGRAPH_TEST_CHROMIUM)`);
  const repo = await makeRepo();
  await repo.writeFiles({
    'src/util.ts': 'export function formatPrice(cents: number): string {\n  return (cents / 100).toFixed(2);\n}\n',
    'src/cart.ts': "import { formatPrice } from './util';\n\nexport function cartTotal(items: number[]): string {\n  return formatPrice(items.reduce((a, b) => a + b, 0));\n}\n",
  });
  await repo.commit('first: cart and util');
  await repo.write('src/receipt.ts', "import { cartTotal } from './cart';\n\nexport function receipt(items: number[]): string {\n  return 'Total: ' + cartTotal(items);\n}\n");
  await repo.commit('second: receipt <b>bold</b>');
  const config = loadConfig({ argv: ['--repo', repo.dir, '--port', '0', '--data-dir', await makeTempDir('cg-dash-'), '--poll-interval-ms', '200', '--threads', '1'], env: {} });
  const s = await startService({ config, logger: captureLogs().logger });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    await untilReady(s, 120_000);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(s.server.url + '/');
    await page.waitForSelector('#status.ok');
    // Commits of HEAD, newest first; a message is text, never markup.
    await page.waitForSelector('#commits tr');
    const messages = await page.locator('#commits tr td:nth-child(4)').allTextContents();
    assert.deepEqual(messages.slice(0, 2), ['second: receipt <b>bold</b>', 'first: cart and util']);
    // Commits listed at page load carry their stored change counts (they were blank before): the
    // second commit added `receipt`; the first is the indexed window's whole tree, marked as such.
    const second = await page.locator('#commits tr').nth(0).locator('td').allTextContents();
    assert.deepEqual(second.slice(5), ['1', '0', '0']);
    const first = await page.locator('#commits tr').nth(1).locator('td').allTextContents();
    assert.equal(first[5], '—');
    // The most called utility is among the central entities.
    await page.waitForSelector('#top a.ent');
    assert.ok((await page.locator('#top a.ent').allTextContents()).includes('src/util.ts::formatPrice'));
    // Search, then the entity panel.
    await page.fill('#q', 'cart total');
    await page.click('#search-form button');
    await page.waitForSelector('#results a.ent');
    assert.equal(await page.locator('#results a.ent').first().textContent(), 'src/cart.ts::cartTotal');
    // The name is its own element, which keeps its width when a long path gives way.
    assert.equal(await page.locator('#results a.ent .qname').first().textContent(), 'cartTotal');
    await page.locator('#results a.ent').first().click();
    await page.waitForSelector('#entity h2:has-text("History")');
    const panel = await page.locator('#entity').innerText();
    assert.match(panel, /Callers \(1\)\s+function\s+src\/receipt\.ts::receipt/);
    assert.match(panel, /Callees \(1\)\s+function\s+src\/util\.ts::formatPrice/);
    assert.match(panel, /History \(1 version\)/);
    // A commit made while the page is open appears on top with its entity changes.
    await repo.write('src/tax.ts', 'export function tax(cents: number): number {\n  return Math.round(cents * 0.2);\n}\n');
    const sha = await repo.commit('third: tax');
    await page.waitForSelector(`#commits tr.new td:has-text("${sha.slice(0, 12)}")`, { timeout: 60_000 });
    const live = await page.locator('#commits tr.new').first().locator('td').allTextContents();
    assert.equal(live[4], 'refs/heads/main');
    const res = await fetch(`${s.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ repository(name: "${path.basename(repo.dir)}") { diff(from: "${sha}~1", to: "${sha}") { added { qualifiedName } } } }` }) });
    const added = ((await res.json()) as { data: { repository: { diff: { added: Array<{ qualifiedName: string }> } } } }).data.repository.diff.added;
    assert.ok(added.some((e) => e.qualifiedName === 'src/tax.ts::tax'));
    assert.equal(live[5], String(added.length), 'the added count is the diff of the commit');
    // A reload of the list (an indexing run's last progress notice, here the Connect button) keeps
    // the live commit marked, once, now with its message (CI: the run's reload wiped the mark).
    await page.click('#connect');
    await page.waitForSelector('#commits tr.new td:has-text("third: tax")');
    assert.equal(await page.locator(`#commits tr td:has-text("${sha.slice(0, 12)}")`).count(), 1);
    const reloaded = await page.locator('#commits tr.new').first().locator('td').allTextContents();
    assert.deepEqual([reloaded[4], reloaded[5]], ['refs/heads/main', String(added.length)]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await s.close();
  }
});
