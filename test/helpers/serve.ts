// Helpers for end-to-end tests of `codegraph serve` (daemon/service.ts): readiness polling, a
// graphql-ws client over a real WebSocket, subscriptions collected into arrays, a log capture.
import { createClient, type Client } from 'graphql-ws';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import type { Service } from '../../daemon/service.ts';

export async function untilReady(s: Service, ms = 20_000): Promise<void> {
  await until(() => s.ready().catch(() => false), 'service not ready in time', ms);
}

/** Polls `pred` every 50 ms until it holds; throws `what` after `ms`. */
export async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Sub<T> {
  items: T[];
  next(pred?: (t: T) => boolean, ms?: number): Promise<T>;
  stop(): void;
}

export function client(url: string, connectionParams?: Record<string, unknown>): Client {
  return createClient({
    url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0,
    ...(connectionParams ? { connectionParams } : {}),
  });
}

/** Subscribes and resolves once the server acknowledged (a first no-op round trip). */
export async function subscribe<T>(c: Client, query: string, key: string): Promise<Sub<T>> {
  const items: T[] = [];
  const waiters: Array<() => void> = [];
  const stop = c.subscribe<Record<string, T>>({ query }, {
    next: (v) => {
      if (v.errors) items.push({ errors: v.errors } as T);
      else items.push(v.data![key]!);
      for (const w of waiters.splice(0)) w();
    },
    error: (e) => { items.push({ errors: [String((e as { code?: unknown; reason?: unknown }).code ?? e), String((e as { reason?: unknown }).reason ?? '')] } as T); },
    complete: () => undefined,
  });
  // graphql-ws has no subscribe ack: give the server a moment to register the topic.
  await new Promise((r) => setTimeout(r, 300));
  let seen = 0;
  return {
    items,
    stop,
    async next(pred = () => true, ms = 15_000) {
      const end = Date.now() + ms;
      for (;;) {
        while (seen < items.length) {
          const it = items[seen++]!;
          if (pred(it)) return it;
        }
        if (Date.now() > end) throw new Error(`no matching event within ${ms} ms; got ${JSON.stringify(items).slice(0, 2000)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

export interface CommitEvent {
  ref: string; sha: string; parents: string[];
  diff: { from: string | null; added: Array<{ name: string; path: string; kind: string }>; modified: Array<{ after: { name: string; signature: string | null }; signatureChanged: boolean }>; removed: Array<{ name: string }> };
}

export const COMMITS = (repo: string) => `subscription { commitIndexed(repository: "${repo}") { ref sha parents diff { from added { name path kind } removed { name } modified { after { name signature } signatureChanged } } } }`;

export interface LogLine { level: number; msg: string; [k: string]: unknown }

/** A pino logger whose JSON lines are kept in `lines` (level 30 info, 40 warn, 50 error). */
export function captureLogs(level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}
