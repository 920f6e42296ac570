// The PostgreSQL wire protocol over ONE PGlite session, for many client connections.
//
// PGlite is a single backend (one session). `@electric-sql/pglite-socket` multiplexes clients at the
// level of single protocol messages, keeping a client only while `isInTransaction()`; but the
// extended protocol (Parse/Bind/Execute/Sync, what node-postgres sends for every parameterised
// query) is not a transaction block, so another client's Parse can land between this client's
// Parse and Execute and replace its unnamed statement (issue #9). This server hands the session to
// one connection from its first message until PGlite answers ReadyForQuery with status `I` (idle):
// a whole extended-protocol exchange and a whole BEGIN..COMMIT run without interleaving, like
// PgBouncer's transaction pooling. Consequences, the same as under transaction pooling:
// - session state (SET, session advisory locks, named prepared statements, temp tables) is shared
//   by every connection; advisory locks therefore never block between connections;
// - a client idle inside a transaction blocks every other client until it commits or disconnects
//   (a disconnect rolls back).
//
// LISTEN/NOTIFY: PGlite emits NotificationResponse messages into the output of whichever message
// produced them (the COMMIT, or the statement outside a transaction). They are taken out of that
// output and written to every connection that LISTENs on the channel, as a PostgreSQL server
// does. `LISTEN x` / `UNLISTEN x|*` sent as a simple Query (one statement) are tracked per
// connection; the session itself keeps listening (UNLISTEN is rewritten to a no-op on a reserved
// channel), so one connection's UNLISTEN cannot silence another's LISTEN.
import net from 'node:net';

/** What the server needs from PGlite (a subset of its API, so tests can inject faults). */
export interface ProtocolSession {
  execProtocolRaw(message: Uint8Array): Promise<Uint8Array>;
  isInTransaction(): boolean;
}

export interface SessionServerOptions {
  session: ProtocolSession;
  /** Called when the session itself failed (PGlite threw): every connection is closed. */
  onFatal?: (err: unknown) => void;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const PROTOCOL_3 = 196608;
/** UNLISTEN is rewritten to this channel: it answers `UNLISTEN` and changes nothing. */
const NOOP_CHANNEL = '__codegraph_noop__';

const LISTEN_RE = /^\s*(LISTEN|UNLISTEN)\s+(\*|"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))\s*;?\s*$/i;

class Conn {
  buf: Buffer = Buffer.alloc(0);
  /** Chunks received after `buf` while its first message is still incomplete (see settle). */
  parts: Buffer[] = [];
  partsLength = 0;
  started = false;
  closed = false;
  queued = false;
  readonly channels = new Set<string>();
  constructor(readonly id: number, readonly socket: net.Socket) {}
}

export function messageSize(buf: Buffer, started: boolean): number {
  if (!started) return buf.length >= 4 ? buf.readInt32BE(0) : 0;
  return buf.length >= 5 ? 1 + buf.readInt32BE(1) : 0;
}

/**
 * Joins the chunks kept apart once they complete the message `buf` starts with. A message of
 * megabytes (a bulk INSERT's array parameters) arrives in 64 KB reads; appending each read to the
 * buffer copied it whole every time, quadratic in the message's size (gigabytes copied, and as much
 * garbage, for a 20 MB message), so reads are kept in a list until the message is complete.
 */
function settle(c: Conn): void {
  if (c.parts.length === 0) return;
  const n = messageSize(c.buf, c.started);
  if (n > 0 && c.buf.length + c.partsLength < n) return;
  c.buf = c.buf.length === 0 && c.parts.length === 1 ? c.parts[0]! : Buffer.concat([c.buf, ...c.parts]);
  c.parts = [];
  c.partsLength = 0;
}

function hasComplete(c: Conn): boolean {
  settle(c);
  const n = messageSize(c.buf, c.started);
  return n > 0 && c.buf.length >= n;
}

function cstring(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  const stop = end < 0 ? buf.length : end;
  return [buf.toString('utf8', at, stop), stop + 1];
}

function queryMessage(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const out = Buffer.alloc(5 + body.length);
  out[0] = 0x51; // 'Q'
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]); // 'S'

export class SessionServer {
  readonly #session: ProtocolSession;
  readonly #onFatal: ((err: unknown) => void) | undefined;
  readonly #conns = new Set<Conn>();
  readonly #ready: Conn[] = [];
  #owner: Conn | null = null;
  #running = false;
  #startup: Buffer | null = null;
  #nextId = 1;
  #server: net.Server | null = null;
  #failed = false;
  /** When a message last arrived or a batch last ended (Date.now()). */
  #lastActive = Date.now();

  constructor(opts: SessionServerOptions) {
    this.#session = opts.session;
    this.#onFatal = opts.onFatal;
  }

  /** Listens on a Unix socket path (the caller removes a stale file first). */
  listen(socketPath: string): Promise<void> {
    const server = net.createServer((socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Serves a connection accepted elsewhere (the parent process passes its sockets on). */
  adopt(socket: net.Socket): void {
    this.#accept(socket);
  }

  /** Connections open now (tests, metrics). */
  get connections(): number {
    return this.#conns.size;
  }

  /** Milliseconds since a message last arrived or the session last worked; 0 while it works or
   * holds a connection's transaction. */
  get idleMs(): number {
    if (this.#running || this.#owner !== null || this.#session.isInTransaction()) return 0;
    return Date.now() - this.#lastActive;
  }

  #accept(socket: net.Socket): void {
    if (this.#failed) {
      socket.destroy();
      return;
    }
    const c = new Conn(this.#nextId++, socket);
    this.#conns.add(c);
    socket.on('data', (d: Buffer) => {
      this.#lastActive = Date.now();
      c.parts.push(d);
      c.partsLength += d.length;
      this.#wake(c);
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.#drop(c));
  }

  #wake(c: Conn): void {
    if (c !== this.#owner && !c.queued && hasComplete(c)) {
      c.queued = true;
      this.#ready.push(c);
    }
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        let c: Conn | undefined;
        if (this.#owner !== null) {
          if (!hasComplete(this.#owner)) return;
          c = this.#owner;
        } else {
          c = this.#ready.shift();
          if (c === undefined) return;
          c.queued = false;
          if (c.closed || !hasComplete(c)) continue;
        }
        await this.#runBatch(c);
        if (this.#owner === null && !c.closed && !c.queued && hasComplete(c)) {
          // Round robin: a connection with more work goes to the back of the line.
          c.queued = true;
          this.#ready.push(c);
        }
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#running = false;
      this.#lastActive = Date.now();
    }
  }

  /** Runs every complete message `c` has buffered, in one call into PGlite. */
  async #runBatch(c: Conn): Promise<void> {
    const parts: Buffer[] = [];
    const track: Array<{ op: 'LISTEN' | 'UNLISTEN'; channel: string }> = [];
    let terminate = false;
    for (;;) {
      settle(c);
      const n = messageSize(c.buf, c.started);
      if (n <= 0 || c.buf.length < n) break;
      const msg = c.buf.subarray(0, n);
      c.buf = c.buf.subarray(n);
      if (!c.started) {
        const code = msg.length >= 8 ? msg.readInt32BE(4) : 0;
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          c.socket.write('N');
          continue;
        }
        if (code !== PROTOCOL_3) {
          // CancelRequest (80877102: PGlite has no backend to signal) or garbage: close, as a server does.
          c.socket.destroy();
          return;
        }
        c.started = true;
        if (this.#startup !== null) {
          c.socket.write(this.#startup);
          continue;
        }
        // The first startup packet goes to PGlite (AuthenticationOk, parameters, ReadyForQuery);
        // later connections get the same answer without re-running startup in the live session.
        // Copied: PGlite returns its startup answer as a view of its receive buffer, which the next
        // message overwrites.
        this.#startup = Buffer.from(await this.#session.execProtocolRaw(new Uint8Array(msg)));
        c.socket.write(this.#startup);
        continue;
      }
      const type = msg[0];
      if (type === 0x58) { // 'X' Terminate
        terminate = true;
        break;
      }
      if (type === 0x51) { // 'Q'
        const [sql] = cstring(msg, 5);
        const m = LISTEN_RE.exec(sql);
        if (m !== null) {
          const op = m[1]!.toUpperCase() as 'LISTEN' | 'UNLISTEN';
          const channel = m[2] === '*' ? '*' : m[3] !== undefined ? m[3].replace(/""/g, '"') : m[4]!.toLowerCase();
          track.push({ op, channel });
          if (op === 'UNLISTEN') {
            parts.push(queryMessage(`UNLISTEN "${NOOP_CHANNEL}"`));
            continue;
          }
        }
      }
      parts.push(msg);
    }
    if (parts.length > 0) {
      const out = await this.#session.execProtocolRaw(parts.length === 1 ? new Uint8Array(parts[0]!) : new Uint8Array(Buffer.concat(parts)));
      const status = this.#deliver(c, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
      // No ReadyForQuery yet (Parse/Bind without Sync): the exchange is open, keep the session.
      this.#owner = status === 'I' ? null : c;
      if (status !== 'E') {
        for (const t of track) {
          if (t.op === 'LISTEN') c.channels.add(t.channel);
          else if (t.channel === '*') c.channels.clear();
          else c.channels.delete(t.channel);
        }
      }
    }
    if (terminate) {
      c.socket.end();
      await this.#release(c);
    }
  }

  /**
   * Writes PGlite's output to `c`, routing NotificationResponses to their listeners.
   * Returns the status of the last ReadyForQuery ('I', 'T', 'E'), or null when there was none.
   */
  #deliver(c: Conn | null, out: Buffer): string | null {
    let status: string | null = null;
    let from = 0;
    let at = 0;
    const keep: Buffer[] = [];
    while (at + 5 <= out.length) {
      const type = out[at]!;
      const end = at + 1 + out.readInt32BE(at + 1);
      if (type === 0x5a) status = String.fromCharCode(out[at + 5]!); // 'Z'
      if (type === 0x41) { // 'A' NotificationResponse: int32 pid, channel, payload
        const msg = out.subarray(at, end);
        const [channel] = cstring(out, at + 9);
        if (at > from) keep.push(out.subarray(from, at));
        from = end;
        for (const l of this.#conns) {
          if (l.closed || !l.channels.has(channel)) continue;
          if (l === c) keep.push(msg);
          else l.socket.write(msg);
        }
      }
      at = end;
    }
    if (c === null || c.closed) return status;
    if (from === 0) c.socket.write(out);
    else {
      if (from < out.length) keep.push(out.subarray(from));
      if (keep.length > 0) c.socket.write(Buffer.concat(keep));
    }
    return status;
  }

  /** `c` is gone: if it held the session, finish its exchange and roll back its transaction. */
  async #release(c: Conn): Promise<void> {
    if (this.#owner !== c) return;
    try {
      const status = this.#deliver(null, Buffer.from(await this.#session.execProtocolRaw(new Uint8Array(SYNC))));
      if (status !== 'I' || this.#session.isInTransaction()) {
        this.#deliver(null, Buffer.from(await this.#session.execProtocolRaw(new Uint8Array(queryMessage('ROLLBACK')))));
      }
    } finally {
      this.#owner = null;
    }
  }

  #drop(c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    c.buf = Buffer.alloc(0);
    c.parts = [];
    c.partsLength = 0;
    this.#conns.delete(c);
    const i = this.#ready.indexOf(c);
    if (i >= 0) this.#ready.splice(i, 1);
    if (this.#owner !== c) return;
    // Wait for a batch of `c` that may be running, then give the session back.
    void (async () => {
      while (this.#running) await new Promise((r) => setImmediate(r));
      this.#running = true;
      try {
        await this.#release(c);
      } catch (err) {
        this.#fail(err);
      } finally {
        this.#running = false;
      }
      void this.#pump();
    })();
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    for (const c of this.#conns) c.socket.destroy();
    this.#onFatal?.(err);
  }

  /** Stops accepting, closes every connection (rolling back an open transaction). */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const c of [...this.#conns]) {
      c.socket.destroy();
      this.#drop(c);
    }
    while (this.#running || this.#owner !== null) await new Promise((r) => setTimeout(r, 1));
    if (server !== null) await new Promise<void>((r) => server.close(() => r()));
  }
}
