// Resident memory of `codegraph serve` (issue #9: 550-900 MB idle after indexing a small
// repository; goal <= 250 MB). Starts the real command on a real repository with a fresh embedded
// store, waits for "initial index done; ready", and sums the resident memory (VmRSS) of the daemon
// and every process it started (the embedded database runs in one) right then and again after an
// idle period long enough for idle extraction workers to exit and the embedded database's process
// to stop (pgliteIdleStopMs, 60 s by default). The peak is the largest such sum, sampled every
// 100 ms, and the kernel's VmHWM of the daemon process alone. Peer in the same run:
// the same daemon on a PostgreSQL server (`--database-url`), which holds no database in-process —
// the difference is what the embedded PGlite costs.
//
// Runs the command as npm installs it, bin/codegraph: bin/codegraph.js (the compiled build when
// dist/ is up to date, `npm run build`, else the sources through tsx, which adds the loader's own
// memory) with glibc's malloc capped at two arenas. `memory.embeddedNoArenaCap` runs
// bin/codegraph.js directly, with glibc's default of up to 8 arenas per core.
// Environment: CODEGRAPH_BENCH_MEMORY_REPO (default: this project's own repository, ~160 files),
// CODEGRAPH_BENCH_MEMORY_HISTORY (default 20), CODEGRAPH_BENCH_MEMORY_IDLE_MS (default 90_000).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { procStatus as status, processTree as tree } from './stats.ts';

export const name = 'memory';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../bin/codegraph');
const BIN_JS = path.resolve(HERE, '../bin/codegraph.js');
const REPO = process.env.CODEGRAPH_BENCH_MEMORY_REPO ?? path.resolve(HERE, '..');
const HISTORY = process.env.CODEGRAPH_BENCH_MEMORY_HISTORY ?? '20';
const IDLE_MS = Number(process.env.CODEGRAPH_BENCH_MEMORY_IDLE_MS ?? 90_000);

const mb = (b: number) => Number((b / 1024 / 1024).toFixed(1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident bytes of the daemon and of all its descendants. */
function rss(pid: number): { total: number; daemon: number } {
  const pids = tree(pid);
  const daemon = status(pid, 'VmRSS');
  return { total: pids.reduce((n, p) => n + status(p, 'VmRSS'), 0), daemon };
}

interface MemoryFigure {
  mode: string;
  /** The daemon and its child processes (the embedded database), when ready and after the idle period. */
  readyMb: number;
  idleMb: number;
  /** The daemon process alone. */
  readyDaemonMb: number;
  idleDaemonMb: number;
  /** Largest sampled sum; the daemon's own VmHWM. */
  peakMb: number;
  peakDaemonMb: number;
  indexSeconds: number;
  /** Seconds from ready to the idle reading, and whether the embedded database's process had stopped. */
  idleSeconds: number;
  databaseStopped: boolean;
}

async function serveOnce(mode: string, extra: string[], command: string[] = [BIN]): Promise<MemoryFigure> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-memory-'));
  // The wrapper sets the cap; an inherited value would also cap the uncapped run.
  const env: NodeJS.ProcessEnv = { ...process.env, CODEGRAPH_LOG_LEVEL: 'info' };
  delete env.MALLOC_ARENA_MAX;
  const started = performance.now();
  const child = spawn(command[0]!, [...command.slice(1), 'serve', REPO, '--port', '0', '--data', data, '--history', HISTORY, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'], env,
  });
  let peakSum = 0;
  const sampler = setInterval(() => {
    peakSum = Math.max(peakSum, rss(child.pid!).total);
  }, 100);
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      let found: string | null = null;
      const onData = (d: Buffer) => {
        out += String(d);
        found ??= /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1] ?? null;
        if (found !== null && out.includes('initial index done; ready')) resolve(found);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out.slice(-2000)}`)));
    });
    const indexSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
    process.stderr.write(`[memory] ${mode}: ready at ${url}\n`);
    const ready = rss(child.pid!);
    const readyAt = performance.now();
    await sleep(IDLE_MS);
    // Work that follows readiness (the hot store, the ANN index) runs longer on a loaded machine:
    // past IDLE_MS, wait up to as long again for the embedded database's process to stop.
    const databaseRunning = async () => /codegraph_pglite_resident_memory_bytes [1-9]/.test(await (await fetch(`${url}/metrics`)).text());
    while (await databaseRunning() && performance.now() - readyAt < 2 * IDLE_MS) await sleep(1000);
    const stopped = !(await databaseRunning());
    const idle = rss(child.pid!);
    return {
      mode, readyMb: mb(ready.total), idleMb: mb(idle.total), readyDaemonMb: mb(ready.daemon), idleDaemonMb: mb(idle.daemon),
      peakMb: mb(peakSum), peakDaemonMb: mb(status(child.pid!, 'VmHWM')), indexSeconds,
      idleSeconds: Math.round((performance.now() - readyAt) / 1000), databaseStopped: stopped,
    };
  } finally {
    clearInterval(sampler);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(data, { recursive: true, force: true });
  }
}

export async function measure(): Promise<Array<Record<string, unknown>>> {
  process.stderr.write(`[memory] repository ${REPO}, history ${HISTORY}, idle ${IDLE_MS} ms\n`);
  const out: Array<Record<string, unknown>> = [];
  const embedded = await serveOnce('embedded', []);
  out.push({ figure: 'memory.embedded', ...embedded, goal: 'idle <= 250 MB' });
  // Without the wrapper's cap: glibc keeps one malloc arena per thread that ever allocated (up to 8
  // per core), each holding freed memory.
  const uncapped = await serveOnce('embedded, no arena cap', [], [process.execPath, BIN_JS]);
  out.push({ figure: 'memory.embeddedNoArenaCap', ...uncapped });
  try {
    const { startPostgres } = await import('../test/harness/pg.ts');
    const cluster = await startPostgres();
    const server = await serveOnce('postgres', ['--database-url', await cluster.createDatabase('cg_bench_mem')]);
    out.push({ figure: 'memory.postgres', ...server });
    out.push({ figure: 'memory.ratio', idleVsPostgres: Number((embedded.idleMb / server.idleMb).toFixed(2)), peakVsPostgres: Number((embedded.peakMb / server.peakMb).toFixed(2)) });
  } catch (err) {
    process.stderr.write(`[memory] postgres peer skipped: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  return out;
}
