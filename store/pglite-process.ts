// Body of the embedded database: opens PGlite on `<dataDir>/pg` and serves the PostgreSQL wire
// protocol (store/pglite-server.ts) on the data directory's Unix socket. It runs in one of two hosts
// (store/embedded.ts):
// - a child process (the daemon): the parent accepts the socket's connections and passes each one
//   over the IPC channel. Everything PostgreSQL-in-WASM holds (its heap, which never shrinks, the
//   compiled module, the compilation memory glibc keeps) is given back to the system when the
//   process exits, which the parent lets it do when the store has been idle for a while (#9:
//   idle memory);
// - a worker thread (the CLI's short runs, nothing idles there): it listens on the socket itself,
//   and needs no second Node runtime (#9: the peak of `codegraph index`).
//
// Protocol with the parent: the input (ProcessInput) is argv[2] as JSON, or the thread's
// workerData. The body sends `{ type: 'ready' }`
// or `{ type: 'error', message }` once, later `memory` when the heap grew and `fatal` if the session
// broke. The parent sends:
// - `conn` with a socket handle: serve it;
// - `stopIfIdle { own, idleMs }`: answer `idle` if no message arrived for `idleMs`, no transaction
//   is open and at most `own` connections are open (the parent's own idle ones), else `busy`; the
//   parent then sends `close` or nothing;
// - `close`: close every connection, shut PGlite down cleanly (checkpoint), answer `closed`, exit.
// A lost IPC channel (the parent died, kill -9 included) closes the same way; a thread dies with
// its process.
//
// Two PGlite instances on one directory corrupt it: the child holds its own lock on the data
// directory (`pglite.lock`, store/lock.ts) while PGlite is open, so a new child (a restarted
// daemon) waits for an old one that is still checkpointing after its parent died.
import { rm } from 'node:fs/promises';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { LockError, acquireLock, type Lock } from './lock.ts';
import { SessionServer } from './pglite-server.ts';

export interface ProcessInput {
  pgDir: string;
  /** The child's own lock file (see above). */
  lockPath: string;
  /** `name=value` lines for postgresql.conf (shared_buffers, work_mem, ...). */
  settings: string[];
  /** Cap on PGlite's WASM heap in bytes (null: PGlite's own, 2 GiB). */
  maxMemoryBytes: number | null;
  /** How long to wait for an earlier child's lock. */
  lockWaitMs: number;
  /** In a thread: the socket to listen on (a process is passed its connections instead). */
  socketPath?: string;
}

export type ProcessMessage =
  | { type: 'ready'; wasmBytes: number }
  /** The WASM heap grew (it never shrinks). */
  | { type: 'memory'; wasmBytes: number }
  | { type: 'error'; message: string }
  | { type: 'fatal'; message: string }
  | { type: 'busy' }
  | { type: 'idle' }
  | { type: 'closed' };

export type ParentMessage =
  | { type: 'conn' }
  | { type: 'stopIfIdle'; own: number; idleMs: number }
  | { type: 'close' };

const port = parentPort;
const input = (port !== null ? workerData : JSON.parse(process.argv[2] ?? '{}')) as ProcessInput;
const send = (m: ProcessMessage) => {
  if (port !== null) port.postMessage(m);
  else if (process.connected) process.send?.(m);
};
/** Ends this body: the process exits; a thread ends by closing its port (its process goes on). */
const finish = (code: number): void => {
  if (port !== null) port.close();
  else process.exit(code);
};
const text = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** WASM page size. */
const PAGE = 65_536;

// PGlite creates its WASM memory itself (`new WebAssembly.Memory({ initial: 2048, maximum: 32768 })`,
// 128 MiB growing up to 2 GiB) and offers no option for the maximum, so the constructor is wrapped,
// in this process only, before PGlite loads: the memory is recorded (its size is reported to the
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
/** Sends the heap size when it grew since the last report. */
function reportGrowth(): void {
  const now = wasmBytes();
  if (now === reported) return;
  reported = now;
  send({ type: 'memory', wasmBytes: now });
}

/** Takes the child's lock, waiting up to `lockWaitMs` for a live earlier holder to let go. */
async function lockStore(): Promise<Lock> {
  const deadline = Date.now() + input.lockWaitMs;
  for (;;) {
    try {
      return await acquireLock(input.lockPath);
    } catch (err) {
      if (!(err instanceof LockError) || Date.now() >= deadline) throw err;
      await sleep(100);
    }
  }
}

async function start(): Promise<void> {
  let lock: Lock;
  try {
    lock = await lockStore();
  } catch (err) {
    send({ type: 'error', message: `the database files are still held by an earlier database process: ${text(err)}` });
    return finish(1);
  }
  // Loaded after the lock: the WASM modules are ~10 MB.
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
    await lock.release();
    send({ type: 'error', message: text(err) });
    return finish(1);
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
    onFatal: (err) => send({ type: 'fatal', message: text(err) }),
  });

  if (input.socketPath !== undefined) {
    // A socket file left by a killed process (the parent holds the data-dir lock, so it is stale).
    await rm(input.socketPath, { force: true });
    try {
      await server.listen(input.socketPath);
    } catch (err) {
      await pglite.close().catch(() => undefined);
      await lock.release();
      send({ type: 'error', message: `could not listen on ${input.socketPath}: ${text(err)}` });
      return finish(1);
    }
  }

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await server.close();
        if (input.socketPath !== undefined) await rm(input.socketPath, { force: true });
        if (!pglite.closed) await pglite.close();
        await lock.release();
        send({ type: 'closed' });
      } catch (err) {
        send({ type: 'fatal', message: text(err) });
      } finally {
        if (port === null && process.connected) process.disconnect();
        // PGlite leaves no handle open once closed; exit anyway, a timer of its must not keep a
        // stopped store's process alive.
        setImmediate(() => finish(0));
      }
    })();
    return closing;
  };

  const onMessage = (m: ParentMessage, handle?: net.Socket): void => {
    switch (m.type) {
      case 'conn':
        if (handle === undefined) return;
        if (closing !== null) handle.destroy();
        else server.adopt(handle);
        return;
      case 'stopIfIdle':
        send(server.idleMs >= m.idleMs && server.connections <= m.own ? { type: 'idle' } : { type: 'busy' });
        return;
      case 'close':
        void close();
        return;
    }
  };
  if (port !== null) {
    port.on('message', (m: ParentMessage) => onMessage(m));
  } else {
    process.on('message', onMessage);
    process.on('disconnect', () => void close());
  }
  reported = wasmBytes();
  send({ type: 'ready', wasmBytes: reported });
}

start().catch((err: unknown) => {
  send({ type: 'error', message: text(err) });
  finish(1);
});
