// Test double for the GraphQL layer: an in-memory GraphBackend over a tiny fixed history.
// It records batched calls so tests can assert that loaders batch.
import picomatch from 'picomatch';
import type { EntityKind } from '../indexer/types.ts';
import type {
  CallOptions, CommitRecord, DiffRecord, EntityFilter, EntityRecord, GraphBackend, HistoryRecord, ImpactRecord, Page, PageArgs, RefRecord,
  RepositoryRecord, SkipCountRecord,
} from '../resolvers/context.ts';

const person = (name: string, date: string) => ({ name, email: `${name}@example.com`, date });

export const SHA1 = '1'.repeat(40);
export const SHA2 = '2'.repeat(40);

export function entity(id: string, name: string, path = 'src/a.ts', kind: EntityRecord['kind'] = 'function'): EntityRecord {
  return { id, kind, name, qualifiedName: `${path}::${name}`, path, language: 'typescript', startLine: 1, endLine: 3, signature: '()', doc: null, localName: name, exported: true, bodyHash: `h-${id}` };
}

export class MemoryBackend implements GraphBackend {
  calls: string[] = [];
  /** Makes `refs` throw an internal error (masking test). */
  failRefs = false;
  /** Makes `refs` throw this error (error-code mapping tests). */
  refsError: Error | null = null;
  readonly commitsList: CommitRecord[] = [
    { sha: SHA2, parents: [SHA1], author: person('ann', '2024-01-02T00:00:00Z'), committer: person('ann', '2024-01-02T00:00:00Z'), message: 'second' },
    { sha: SHA1, parents: [], author: person('bob', '2024-01-01T00:00:00Z'), committer: person('bob', '2024-01-01T00:00:00Z'), message: 'first' },
  ];
  readonly entitiesAt: Record<string, EntityRecord[]> = {
    [SHA1]: [entity('a', 'alpha'), entity('b', 'beta')],
    [SHA2]: [entity('a', 'alpha'), entity('b', 'beta'), entity('c', 'gamma', 'src/b.ts')],
  };

  async repositories(): Promise<RepositoryRecord[]> {
    return [{ name: 'demo' }];
  }
  async repository(name: string) {
    return name === 'demo' ? { name } : null;
  }
  async refs(_repo: string): Promise<RefRecord[]> {
    if (this.failRefs) throw new Error('connection to store lost: secret internal detail');
    if (this.refsError) throw this.refsError;
    return [{ name: 'refs/heads/main', sha: SHA2 }];
  }
  async resolveRev(_repo: string, rev: string) {
    if (rev === 'main' || rev === 'refs/heads/main') return { sha: SHA2, indexed: true };
    const sha = this.commitsList.find((c) => c.sha.startsWith(rev))?.sha;
    return sha === undefined ? null : { sha, indexed: true };
  }
  async indexOnDemand(_repo: string, sha: string): Promise<void> {
    throw new Error(`not expected: ${sha} is always indexed here`);
  }
  async commits(_repo: string, _ref: string | null, page: PageArgs): Promise<Page<CommitRecord>> {
    const start = page.after ? Number(page.after) : 0;
    const slice = this.commitsList.slice(start, start + page.first);
    return { items: slice.map((node, i) => ({ cursor: String(start + i + 1), node })), hasNextPage: start + page.first < this.commitsList.length };
  }
  async commitsBySha(_repo: string, shas: string[]) {
    this.calls.push(`commitsBySha:${shas.length}`);
    return shas.map((s) => this.commitsList.find((c) => c.sha === s) ?? null);
  }
  async entities(_repo: string, sha: string, filter: EntityFilter, page: PageArgs): Promise<Page<EntityRecord>> {
    const match = filter.path ? picomatch(filter.path) : () => true;
    const all = (this.entitiesAt[sha] ?? []).filter((e) => match(e.path) && (!filter.kinds || filter.kinds.includes(e.kind)) && (!filter.name || e.name === filter.name));
    const start = page.after ? Number(page.after) : 0;
    return { items: all.slice(start, start + page.first).map((node, i) => ({ cursor: String(start + i + 1), node })), hasNextPage: start + page.first < all.length };
  }
  async entitiesByQualifiedName(_repo: string, sha: string, names: string[]) {
    this.calls.push(`entitiesByQualifiedName:${names.length}`);
    return names.map((n) => (this.entitiesAt[sha] ?? []).find((e) => e.qualifiedName === n) ?? null);
  }
  async diff(_repo: string, from: string | null, to: string): Promise<DiffRecord> {
    const c = entity('c', 'gamma', 'src/b.ts');
    return { from, to, added: [c], removed: [], modified: [{ before: entity('a', 'alpha'), after: entity('a', 'alpha'), signatureChanged: true, visibilityChanged: false, bodyChanged: true, docChanged: false }], renamed: [], moved: [] };
  }
  async impact(_repo: string, _from: string | null, _to: string, depth: number) {
    return { nodes: [{ entity: entity('b', 'beta'), distance: Math.min(1, depth) }] as ImpactRecord[], truncated: false };
  }
  /** Fault injection: `callers` waits until its signal aborts (a query that never ends). */
  hangCallers = false;
  /** The commit of every `callers` call, in order. */
  callerShas: string[] = [];
  async callers(_repo: string, sha: string, ids: string[], depth: number, opts: CallOptions = {}) {
    this.calls.push(`callers:${ids.length}:${depth}`);
    this.callerShas.push(sha);
    if (this.hangCallers) {
      const signal = opts.signal;
      if (!signal) throw new Error('callers got no signal');
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      this.calls.push(`callers aborted:${(signal.reason as { code?: string }).code}`);
      throw signal.reason;
    }
    return ids.map((id) => (id === 'a'
      ? { nodes: [entity('b', 'beta')], truncated: false, calls: [{ from: entity('b', 'beta'), to: entity('a', 'alpha'), line: 2, via: 'exact' as const, depth: 1 }] }
      : { nodes: [], truncated: false, calls: [] }));
  }
  async callees(_repo: string, _sha: string, ids: string[], _depth: number) {
    this.calls.push(`callees:${ids.length}`);
    return ids.map((id) => (id === 'b'
      ? { nodes: [entity('a', 'alpha')], truncated: false, calls: [{ from: entity('b', 'beta'), to: entity('a', 'alpha'), line: 2, via: 'exact' as const, depth: 1 }] }
      : { nodes: [], truncated: false, calls: [] }));
  }
  async entityHistory(_repo: string, qn: string, _path: string | null, _kind: EntityKind | null): Promise<HistoryRecord[]> {
    return this.commitsList.map((c) => ({ commit: c, change: c.sha === SHA1 ? 'added' as const : 'modified' as const, kind: 'function' as const, visibilityChanged: false, entity: (this.entitiesAt[c.sha] ?? []).find((e) => e.qualifiedName === qn) ?? null }));
  }
  async skips(_repo: string, _sha: string): Promise<SkipCountRecord[]> {
    return [{ reason: 'too_large', count: 2 }, { reason: 'binary', count: 1 }];
  }
}
