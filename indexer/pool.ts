// A piscina pool of extraction workers. A file that exceeds its budget inside tree-sitter comes back
// as `parse_timeout`; a worker that hangs anyway (past twice the budget plus a grace period) is
// aborted, which terminates its thread, and piscina starts a replacement. Both are counted.
import os from 'node:os';
import { Piscina } from 'piscina';
import type { ExtractTask, ExtractTaskResult } from './worker.ts';

/** The worker module. From the build (dist/indexer/pool.js) the compiled worker.js loads directly,
 * with no TypeScript loader in the thread (#9); from the sources (tests, `CODEGRAPH_FROM_SOURCE=1`)
 * worker-entry.mjs registers tsx first, since worker threads do not inherit the main thread's loader. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./worker-entry.mjs', import.meta.url).href
  : new URL('./worker.js', import.meta.url).href;

export interface PoolOptions {
  /** Worker threads. @default os.availableParallelism() */
  threads?: number;
  /** Heap limit per worker thread, in MiB; a worker over it dies and is replaced. @default 2048 */
  workerHeapMb?: number;
  /**
   * A worker idle this long exits (and is started again on the next task), so an idle daemon holds
   * no parser threads and their grammars (issue #9: memory at idle). 0 keeps them for the pool's life.
   * @default 10_000
   */
  idleTimeoutMs?: number;
}

export interface PoolStats {
  tasks: number;
  parseTimeouts: number;
  /** Workers terminated because they hung past the hard deadline. */
  hungWorkers: number;
  /** Workers that died (out of memory, crash in the runtime). */
  crashedWorkers: number;
}

export type PoolResult = ExtractTaskResult | { ok: false; reason: 'worker_crash'; detail: string };

export class ExtractorPool {
  readonly threads: number;
  private readonly piscina: Piscina;
  readonly stats: PoolStats = { tasks: 0, parseTimeouts: 0, hungWorkers: 0, crashedWorkers: 0 };

  constructor(options: PoolOptions = {}) {
    const threads = options.threads ?? os.availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError('options.threads must be a positive integer');
    const heap = options.workerHeapMb ?? 2048;
    if (!Number.isInteger(heap) || heap < 64) throw new RangeError('options.workerHeapMb must be an integer >= 64');
    const idle = options.idleTimeoutMs ?? 10_000;
    if (!Number.isInteger(idle) || idle < 0) throw new RangeError('options.idleTimeoutMs must be a non-negative integer');
    this.threads = threads;
    this.piscina = new Piscina({
      filename: WORKER_URL,
      minThreads: idle === 0 ? threads : 0,
      maxThreads: threads,
      idleTimeout: idle === 0 ? Infinity : idle,
      resourceLimits: { maxOldGenerationSizeMb: heap },
    });
  }

  async run(task: ExtractTask): Promise<PoolResult> {
    this.stats.tasks++;
    const hardDeadline = task.timeoutMs * 2 + 5_000;
    const signal = AbortSignal.timeout(hardDeadline);
    try {
      const result = (await this.piscina.run(task, { signal, transferList: [task.content.buffer as ArrayBuffer] })) as ExtractTaskResult;
      if (!result.ok && result.reason === 'parse_timeout') this.stats.parseTimeouts++;
      return result;
    } catch (err) {
      if (signal.aborted) {
        this.stats.hungWorkers++;
        return { ok: false, reason: 'worker_crash', detail: `the worker did not answer within ${hardDeadline} ms and was terminated and replaced` };
      }
      this.stats.crashedWorkers++;
      return { ok: false, reason: 'worker_crash', detail: `the worker died: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.piscina.queueSize + this.piscina.threads.length;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
