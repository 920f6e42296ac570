// Worker thread body: opens PGlite on `<dataDir>/pg` and serves it on a Unix socket
// (store/pglite-server.ts), so Postgres-in-WASM never runs on the main thread (issue #9).
// Protocol with the parent (store/embedded.ts): workerData = WorkerInput; the worker posts
// `{ type: 'ready' }` or `{ type: 'error', message }` once, later `{ type: 'fatal', message }` if
// the session breaks. The parent posts `{ type: 'close' }`; the worker answers `{ type: 'closed' }`
// after PGlite has shut down cleanly.
import { rm } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { SessionServer } from './pglite-server.ts';

export interface WorkerInput {
  pgDir: string;
  socketPath: string;
  /** `name=value` lines for postgresql.conf (shared_buffers, work_mem, ...). */
  settings: string[];
  /** Cap on PGlite's WASM heap in bytes (null: PGlite's own, 2 GiB). */
  maxMemoryBytes: number | null;
}

export type WorkerMessage =
  | { type: 'ready'; wasmBytes: number }
  /** The WASM heap grew (it never shrinks). */
  | { type: 'memory'; wasmBytes: number }
  | { type: 'error'; message: string }
  | { type: 'fatal'; message: string }
  | { type: 'closed' };

const port = parentPort!;
const input = workerData as WorkerInput;
const post = (m: WorkerMessage) => port.postMessage(m);
const text = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** WASM page size. */
const PAGE = 65_536;

// PGlite creates its WASM memory itself (`new WebAssembly.Memory({ initial: 2048, maximum: 32768 })`,
// 128 MiB growing up to 2 GiB) and offers no option for the maximum, so the constructor is wrapped,
// in this thread only, before PGlite loads: the memory is recorded (its size is reported to the
// parent, `codegraph_pglite_wasm_memory_bytes`) and its maximum lowered to `maxMemoryBytes`. A
// heap that cannot grow makes PostgreSQL's allocation fail, which it reports as an `out of memory`
// error of that statement; the session goes on.
const memories: WebAssembly.Memory[] = [];
const NativeMemory = WebAssembly.Memory;
const maxPages = input.maxMemoryBytes === null ? null : Math.max(1, Math.floor(input.maxMemoryBytes / PAGE));
WebAssembly.Memory = new Proxy(NativeMemory, {
  construct(target, args: [WebAssembly.MemoryDescriptor]) {
    const desc = { ...args[0] };
    if (maxPages !== null) desc.maximum = Math.max(desc.initial, Math.min(desc.maximum ?? maxPages, maxPages));
    const m = new target(desc);
    memories.push(m);
    return m;
  },
});
const wasmBytes = (): number => memories.reduce((n, m) => n + m.buffer.byteLength, 0);
let reported = 0;
/** Posts the heap size when it grew since the last report. */
function reportGrowth(): void {
  const now = wasmBytes();
  if (now === reported) return;
  reported = now;
  post({ type: 'memory', wasmBytes: now });
}

async function start(): Promise<void> {
  // Loaded here, not in the main thread: the WASM modules are ~10 MB.
  const [{ PGlite }, { vector }, { pg_trgm }, { fuzzystrmatch }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-pgvector'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('@electric-sql/pglite/contrib/fuzzystrmatch'),
  ]);
  let pglite: InstanceType<typeof PGlite>;
  try {
    pglite = await PGlite.create({
      dataDir: input.pgDir,
      extensions: { vector, pg_trgm, fuzzystrmatch },
      ...(input.settings.length > 0 ? { startParams: [...PGlite.defaultStartParams, ...input.settings.flatMap((s) => ['-c', s])] } : {}),
    });
  } catch (err) {
    post({ type: 'error', message: text(err) });
    return;
  }
  const server = new SessionServer({
    session: {
      execProtocolRaw: async (m) => {
        try {
          return await pglite.execProtocolRaw(m);
        } finally {
          reportGrowth();
        }
      },
      isInTransaction: () => pglite.isInTransaction(),
    },
    onFatal: (err) => post({ type: 'fatal', message: text(err) }),
  });
  // A socket file left by a killed process (the parent holds the data-dir lock, so it is stale).
  await rm(input.socketPath, { force: true });
  try {
    await server.listen(input.socketPath);
  } catch (err) {
    await pglite.close().catch(() => undefined);
    post({ type: 'error', message: `could not listen on ${input.socketPath}: ${text(err)}` });
    return;
  }
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'close') return;
    void (async () => {
      await server.close();
      await rm(input.socketPath, { force: true });
      if (!pglite.closed) await pglite.close();
      post({ type: 'closed' });
      port.close();
    })().catch((err: unknown) => {
      post({ type: 'fatal', message: text(err) });
      port.close();
    });
  });
  reported = wasmBytes();
  post({ type: 'ready', wasmBytes: reported });
}

start().catch((err: unknown) => post({ type: 'error', message: text(err) }));
