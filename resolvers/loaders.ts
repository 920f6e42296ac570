// DataLoader-style batching, one set of loaders per GraphQL operation. Keys asked for in the same
// tick are grouped by their `group` (repo + commit + depth) and sent to the backend in one call;
// results are cached for the operation, so a list of 50 entities asking for `callers` costs one
// backend call, not 50.
import type { CallConfidence, CallOptions, CallWalkRecord, CommitRecord, EntityRecord, GraphBackend } from './context.ts';

type BatchFn<V> = (group: string, keys: string[]) => Promise<V[]>;

export class Batcher<V> {
  private readonly cache = new Map<string, Promise<V>>();
  private pending = new Map<string, Array<{ key: string; resolve: (v: V) => void; reject: (e: unknown) => void }>>();
  private scheduled = false;

  constructor(private readonly batch: BatchFn<V>) {}

  load(group: string, key: string): Promise<V> {
    const cacheKey = `${group}\u0000${key}`;
    const hit = this.cache.get(cacheKey);
    if (hit) return hit;
    const promise = new Promise<V>((resolve, reject) => {
      let list = this.pending.get(group);
      if (!list) this.pending.set(group, (list = []));
      list.push({ key, resolve, reject });
    });
    this.cache.set(cacheKey, promise);
    if (!this.scheduled) {
      this.scheduled = true;
      // After the current resolvers of this level have all asked (they run in the same tick).
      setImmediate(() => this.dispatch());
    }
    return promise;
  }

  private dispatch(): void {
    const pending = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    for (const [group, waiters] of pending) {
      const keys = waiters.map((w) => w.key);
      this.batch(group, keys).then(
        (values) => {
          if (values.length !== keys.length) {
            const err = new Error(`batch for ${keys.length} keys returned ${values.length} results`);
            for (const w of waiters) w.reject(err);
            return;
          }
          waiters.forEach((w, i) => w.resolve(values[i] as V));
        },
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
        },
      );
    }
  }
}

/** Groups are JSON arrays so that names containing any character stay unambiguous. */
export function groupKey(...parts: Array<string | number | null>): string {
  return JSON.stringify(parts);
}

function parseGroup(group: string): Array<string | number | null> {
  return JSON.parse(group) as Array<string | number | null>;
}

export interface Loaders {
  /** group: [repo, commitSha, depth]; key: entity id. */
  callers: Batcher<CallWalkRecord>;
  callees: Batcher<CallWalkRecord>;
  /** group: [repo, commitSha]; key: qualified name. */
  entityByQualifiedName: Batcher<EntityRecord | null>;
  /** group: [repo]; key: sha. */
  commitBySha: Batcher<CommitRecord | null>;
}

function withConfidence(opts: CallOptions, min: CallConfidence | undefined): CallOptions {
  return min === undefined ? opts : { ...opts, minConfidence: min };
}

/** `opts`: the operation's signal and result cap, passed to every batched walk. */
export function createLoaders(backend: GraphBackend, opts: CallOptions = {}): Loaders {
  return {
    callers: new Batcher((group, ids) => {
      const [repo, sha, depth, min] = parseGroup(group) as [string, string, number, CallConfidence | undefined];
      return backend.callers(repo, sha, ids, depth, withConfidence(opts, min));
    }),
    callees: new Batcher((group, ids) => {
      const [repo, sha, depth, min] = parseGroup(group) as [string, string, number, CallConfidence | undefined];
      return backend.callees(repo, sha, ids, depth, withConfidence(opts, min));
    }),
    entityByQualifiedName: new Batcher((group, names) => {
      const [repo, sha] = parseGroup(group) as [string, string];
      return backend.entitiesByQualifiedName(repo, sha, names);
    }),
    commitBySha: new Batcher((group, shas) => {
      const [repo] = parseGroup(group) as [string];
      return backend.commitsBySha(repo, shas);
    }),
  };
}
