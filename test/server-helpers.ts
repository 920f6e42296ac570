// Shared setup for the server tests: a real server on 127.0.0.1:0 over the in-memory backend, or
// over the real embedded store of a repository the test built (`startStoreServer`).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import { StoreBackend } from '../daemon/backend.ts';
import { loadConfig, type Config } from '../daemon/config.ts';
import { indexHistory } from '../daemon/history.ts';
import { InProcessEvents, startServer, type RunningServer, type StartServerOptions } from '../daemon/server/index.ts';
import { GitRepo } from '../indexer/git/index.ts';
import { openDatabase } from '../store/db.ts';
import { makeTempDir } from './helpers/gitrepo.ts';
import { MemoryBackend } from './server-memory-backend.ts';
import { openStore, withIndexer } from './store-fixtures.ts';

export interface Harness {
  server: RunningServer;
  backend: MemoryBackend;
  events: InProcessEvents;
  config: Config;
  hookCalls: string[][];
  setReady(v: boolean): void;
}

/** `toml` (top-level keys first, then tables) goes into a config with port 0 and one repository.
 * The config's temp dir is removed by `cleanupAll()` (helpers/gitrepo.ts), after the server closes. */
export async function startTestServer(toml = '', extra: Partial<StartServerOptions> = {}): Promise<Harness> {
  const dir = await makeTempDir('cg-server-');
  const file = path.join(dir, 'codegraph.toml');
  writeFileSync(file, `port = 0\n${toml}\n[[repos]]\npath = "${dir}"\nname = "demo"\nremote = "origin"\n`);
  const config = loadConfig({ argv: ['--config', file], env: {} });
  const backend = new MemoryBackend();
  const events = new InProcessEvents();
  const hookCalls: string[][] = [];
  let ready = true;
  const server = await startServer({
    config, backend, events,
    logger: pino({ level: 'silent' }),
    ready: async () => ready,
    onGitHook: async (repos) => {
      hookCalls.push(repos);
    },
    ...extra,
  });
  return { server, backend, events, config, hookCalls, setReady: (v) => (ready = v) };
}

export async function gql(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  return { status: res.status, body, headers: res.headers };
}

/** Opens a raw graphql-transport-ws socket and resolves with its close code. */
export function rawWs(url: string, onOpen: (ws: WebSocket) => void, headers: Record<string, string> = {}): Promise<{ code: number; reason: string; messages: unknown[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers });
    const messages: unknown[] = [];
    ws.on('open', () => onOpen(ws));
    ws.on('message', (m) => messages.push(JSON.parse(String(m))));
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason), messages }));
    ws.on('error', reject);
  });
}

export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StoreHarness extends Harness {
  /** Closes the server, the repository and the database (test temp dirs stay for `cleanupAll`). */
  close(): Promise<void>;
}

/**
 * A real server over the real embedded store: indexes every commit of the repository at `repoDir`
 * into a fresh PGlite directory, then serves it as repository "demo".
 */
export async function startStoreServer(repoDir: string, tmpPrefix: string): Promise<StoreHarness> {
  const db = await openDatabase({ dataDir: await makeTempDir(tmpPrefix) });
  const git = await GitRepo.open(repoDir);
  try {
    const store = await openStore(db);
    const repoId = await withIndexer(async (indexer) => (await indexHistory({ repo: git, store, indexer, history: 'all' })).repoId);
    const h = await startTestServer('', { backend: new StoreBackend(store, [{ name: 'demo', repo: git, repoId }]) });
    return {
      ...h,
      close: async () => {
        await h.server.close();
        await git.close();
        await db.close();
      },
    };
  } catch (err) {
    await git.close();
    await db.close();
    throw err;
  }
}
