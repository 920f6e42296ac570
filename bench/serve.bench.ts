// Commit -> subscriber latency of `codegraph serve`: from `git commit` returning to the
// `commitIndexed` event arriving over graphql-ws, for 1-file and 50-file commits. Peer: the
// `git commit` itself (add + commit) in the same run (ratio = latency / git time).
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../daemon/config.ts';
import { startService } from '../daemon/service.ts';
import { pct } from './stats.ts';

export const name = 'serve';

const exec = promisify(execFile);
const ROUNDS = Number(process.env.CODEGRAPH_BENCH_SERVE_ROUNDS ?? '15');

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const root = await mkdtemp(path.join(tmpdir(), 'cg-bench-serve-'));
  const dir = path.join(root, 'repo');
  await mkdir(path.join(dir, 'src'), { recursive: true });
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' };
  const git = (args: string[]) => exec('git', args, { cwd: dir, env });
  await git(['init', '-q', '-b', 'main']);
  const write = (i: number, v: number) => writeFile(path.join(dir, 'src', `f${i}.ts`), `export function f${i}_${v}(x: number): number {\n  return x * ${v};\n}\n`);
  for (let i = 0; i < 50; i++) await write(i, 0);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', 'init']);

  const config = loadConfig({ argv: ['--repo', dir, '--port', '0', '--data-dir', path.join(root, 'data'), '--poll-interval-ms', '1000'], env: {} });
  const svc = await startService({ config, logger: pino({ level: 'silent' }) });
  const client = createClient({ url: `${svc.server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
  const out: Array<Record<string, unknown>> = [];
  try {
    while (!(await svc.ready().catch(() => false))) await new Promise((r) => setTimeout(r, 50));
    const arrived = new Map<string, number>();
    let wake: (() => void) | null = null;
    client.subscribe<{ commitIndexed: { sha: string } }>({ query: 'subscription { commitIndexed(repository: "repo") { sha } }' }, {
      next: (v) => {
        if (v.data) arrived.set(v.data.commitIndexed.sha, performance.now());
        wake?.();
      },
      error: () => undefined, complete: () => undefined,
    });
    await new Promise((r) => setTimeout(r, 300));
    let v = 1;
    for (const files of [1, 50]) {
      const lat: number[] = [];
      const gitMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < files; i++) await write(i, v);
        v++;
        const t0 = performance.now();
        await git(['add', '-A']);
        await git(['commit', '-q', '-m', `r${v}`]);
        const t1 = performance.now();
        const sha = (await git(['rev-parse', 'HEAD'])).stdout.trim();
        const deadline = Date.now() + 30_000;
        while (!arrived.has(sha) && Date.now() < deadline) await new Promise<void>((r) => { wake = r; setTimeout(r, 20); });
        const t2 = arrived.get(sha);
        if (t2 === undefined) throw new Error(`commit ${sha} not delivered within 30 s`);
        lat.push(t2 - t1);
        gitMs.push(t1 - t0);
      }
      const p50 = pct(lat, 50);
      const p99 = pct(lat, 99);
      const g50 = pct(gitMs, 50);
      out.push({ figure: `commit_to_subscriber_${files}_files`, rounds: ROUNDS, p50Ms: Math.round(p50), p99Ms: Math.round(p99), gitCommitP50Ms: Math.round(g50), p50Ratio: Number((p50 / g50).toFixed(1)) });
    }
  } finally {
    await client.dispose();
    await svc.close();
    await rm(root, { recursive: true, force: true });
  }
  return out;
}
