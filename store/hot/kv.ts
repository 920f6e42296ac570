// The hot store's RocksDB (`@nxtedition/rocksdb`, abstract-level API): string keys, JSON or raw
// byte values, and the format check. It is a cache: a directory that does not open (truncated or
// corrupt files), or that holds another format version, is deleted and created empty again; the
// caller rebuilds it from the history store.
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CodedError } from '../../errors/index.ts';

const require = createRequire(import.meta.url);

interface Level {
  open(): Promise<void>;
  close(): Promise<void>;
  getMany(keys: string[], opts?: { valueEncoding?: 'buffer' | 'utf8' }): Promise<Array<string | Buffer | undefined>>;
  batch(ops: Array<{ type: 'put'; key: string; value: string | Buffer } | { type: 'del'; key: string }>): Promise<void>;
  iterator(opts: { gte?: string; lt?: string; values?: boolean }): AsyncIterable<[string, string]>;
  clear(): Promise<void>;
}

/** The hot store's errors: a stable code (errors/codes.ts). */
export class HotStoreError extends CodedError<'HOT_LOCKED' | 'HOT_CLOSED'> {
  override name = 'HotStoreError';
}

/** RocksDB refuses a directory another process holds (its LOCK file): never a reason to delete it. */
function isLockError(err: unknown): boolean {
  for (let e: unknown = err, n = 0; e && n < 4; e = (e as { cause?: unknown }).cause, n++) {
    if (/\bLOCK\b|lock file|Resource temporarily unavailable/i.test(String((e as { message?: unknown }).message ?? ''))) return true;
  }
  return false;
}

const { RocksLevel } = require('@nxtedition/rocksdb') as { RocksLevel: new (location: string) => Level };

/** Bump when the layout or meaning of any key changes, or when call resolution (store/graph.ts)
 * changes what the persisted edge segments hold: an older directory is then rebuilt.
 * 4: monorepo package entry points, names imported from outside the tree, Java/C++ overloads. */
export const HOT_FORMAT_VERSION = '4';
const FORMAT_KEY = 'v';

export type KvOp = { type: 'put'; key: string; value: string | Buffer } | { type: 'del'; key: string };

export class Kv {
  private constructor(private readonly db: Level, readonly location: string, readonly reset: string | null) {}

  /**
   * Opens (creating) the store at `location`. `reset` says why it started empty: `missing`,
   * `unreadable` (RocksDB refused the files), `format` (another format version), or null (reused).
   */
  static async open(location: string): Promise<Kv> {
    mkdirSync(location, { recursive: true });
    let reason: string | null = null;
    let db: Level | null = null;
    try {
      db = new RocksLevel(location);
      await db.open();
      const [v] = await db.getMany([FORMAT_KEY]);
      if (v === undefined) reason = 'missing';
      else if (v !== HOT_FORMAT_VERSION) reason = 'format';
    } catch (err) {
      if (isLockError(err)) {
        throw new HotStoreError('HOT_LOCKED', `the hot store ${location} is open in another process; stop it, or give this one another data directory (--data-dir).`, { location }, { cause: err });
      }
      reason = 'unreadable';
      await db?.close().catch(() => undefined);
      db = null;
    }
    if (reason !== null && reason !== 'missing') {
      // Cheaper and surer than clearing key by key: a damaged directory may not iterate.
      await db?.close().catch(() => undefined);
      rmSync(location, { recursive: true, force: true });
      mkdirSync(location, { recursive: true });
      db = new RocksLevel(location);
      await db.open();
    }
    if (reason !== null) await db!.batch([{ type: 'put', key: FORMAT_KEY, value: HOT_FORMAT_VERSION }]);
    return new Kv(db!, location, reason);
  }

  async getJson<T>(keys: string[]): Promise<Array<T | undefined>> {
    if (keys.length === 0) return [];
    const vals = await this.db.getMany(keys, { valueEncoding: 'utf8' });
    return vals.map((v) => (v === undefined ? undefined : (JSON.parse(v as string) as T)));
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    const [v] = await this.db.getMany([key], { valueEncoding: 'buffer' });
    return v as Buffer | undefined;
  }

  async keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const [k] of this.db.iterator({ gte: prefix, lt: `${prefix}\uffff`, values: false })) out.push(k);
    return out;
  }

  async write(ops: KvOp[]): Promise<void> {
    if (ops.length > 0) await this.db.batch(ops);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
