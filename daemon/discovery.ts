// `<dataDir>/serve.json`: how a CLI command finds the daemon that serves a data directory, to ask
// it over GraphQL instead of loading the store itself (#9: `codegraph search` beside `serve` read
// every entity and embedding of the tree through the database socket, ~9 s per query on a
// 709k-line tree; the daemon answers from the hot snapshot it holds). Written by `serve` once it
// listens, removed when it stops; a file left by a killed daemon names a dead pid and is ignored.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ServeInfo {
  pid: number;
  /** The GraphQL server's base URL (`http://127.0.0.1:7411`); a wildcard address is given as loopback. */
  url: string;
  /** Requests need a token: a CLI command does not ask such a daemon. */
  auth: boolean;
  repositories: Array<{ name: string; path: string }>;
}

const FILE = 'serve.json';

/** Writes the file atomically (a reader never sees half of it), readable by the owner only. */
export async function writeServeInfo(dataDir: string, info: ServeInfo): Promise<void> {
  const tmp = path.join(dataDir, `.${FILE}.${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  await rename(tmp, path.join(dataDir, FILE));
}

/** Removes the file if it is this process's (a later daemon may have written its own). */
export async function removeServeInfo(dataDir: string): Promise<void> {
  if (readServeInfo(dataDir, { alive: false })?.pid === process.pid) await rm(path.join(dataDir, FILE), { force: true });
}

/** The daemon serving `dataDir`, or null: no file, an unreadable one, or its process is gone.
 * `alive: false` skips the process check. */
export function readServeInfo(dataDir: string, opts: { alive?: boolean } = {}): ServeInfo | null {
  let info: unknown;
  try {
    info = JSON.parse(readFileSync(path.join(dataDir, FILE), 'utf8'));
  } catch {
    return null;
  }
  if (!isServeInfo(info)) return null;
  if (opts.alive !== false && !alive(info.pid)) return null;
  return info;
}

/** The daemon a CLI command on `dataDir` (none: a server database) may ask about the repository at
 * `repoPath`, and that repository's name there; null when none serves it without authentication. */
export function daemonFor(dataDir: string | undefined, repoPath: string): { info: ServeInfo; name: string } | null {
  const info = dataDir === undefined ? null : readServeInfo(dataDir);
  const name = info !== null && !info.auth ? info.repositories.find((r) => r.path === repoPath)?.name : undefined;
  return info !== null && name !== undefined ? { info, name } : null;
}

function isServeInfo(v: unknown): v is ServeInfo {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return Number.isInteger(o.pid) && typeof o.url === 'string' && /^https?:\/\//.test(o.url) && typeof o.auth === 'boolean'
    && Array.isArray(o.repositories)
    && o.repositories.every((r: unknown) => typeof r === 'object' && r !== null && typeof (r as { name?: unknown }).name === 'string' && typeof (r as { path?: unknown }).path === 'string');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The URL a local client uses for a server listening at `url` (a wildcard address is not one to
 * connect to). */
export function connectUrl(url: string): string {
  return url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
}

/**
 * Runs one GraphQL operation on the daemon; its `data`, or null when the daemon cannot answer it
 * (not reachable, an error of any kind, past `timeoutMs`): the caller then does the work itself,
 * which gives the canonical error messages and exit codes.
 */
export async function askDaemon<T>(info: ServeInfo, query: string, variables: Record<string, unknown>, timeoutMs = 30_000): Promise<T | null> {
  try {
    const res = await fetch(`${connectUrl(info.url)}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'graphql-require-preflight': '1' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return null;
    const body = await res.json() as { data?: T | null; errors?: unknown[] };
    if (body.errors !== undefined && body.errors.length > 0) return null;
    return body.data ?? null;
  } catch {
    return null;
  }
}
