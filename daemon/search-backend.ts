// The search part of the GraphQL backend (issue #12): store/search answers, this shapes records.
// Entity ids are qualified names, as everywhere in StoreBackend.
import type { EntityKind } from '../indexer/types.ts';
import type { HistoryStore, StoredEntity } from '../store/index.ts';
import type {
  EdgeKindName, EntityRecord, NeighbourRecord, Page, PageArgs, SearchArgs, SearchBackend, SearchHitRecord,
} from '../resolvers/context.ts';

/** What StoreSearch needs of a repository (StoreBackend's BackendRepo has it). */
export interface SearchRepo {
  repoId: number;
  repo: { readBlob(sha: string): Promise<Buffer> };
}

export class StoreSearch implements SearchBackend {
  /** `toRecord` is StoreBackend's, so both shape entities alike (passed in: no import cycle). */
  constructor(private readonly store: HistoryStore, private readonly repo: (name: string) => SearchRepo, private readonly toRecord: (e: StoredEntity) => EntityRecord) {}

  async search(repo: string, commitSha: string, args: SearchArgs, page: PageArgs): Promise<Page<SearchHitRecord> & { total: number }> {
    const r = this.repo(repo);
    const p = await this.store.search.search(r.repoId, commitSha, { ...args, first: page.first, after: page.after }, (blob) => r.repo.readBlob(blob));
    return {
      items: p.items.map((x) => ({ cursor: x.cursor, node: { entity: this.toRecord(x.node.entity), score: x.node.score, matches: x.node.matches, alsoAt: x.node.alsoAt } })),
      hasNextPage: p.hasNextPage, total: p.total,
    };
  }

  async path(repo: string, commitSha: string, from: string, to: string): Promise<EntityRecord[] | null> {
    const list = await this.store.search.path(this.repo(repo).repoId, commitSha, from, to);
    return list && list.map(this.toRecord);
  }

  async topEntities(repo: string, commitSha: string, kinds: EntityKind[] | null, page: PageArgs): Promise<Page<{ entity: EntityRecord; score: number }> & { total: number }> {
    const p = await this.store.search.topEntities(this.repo(repo).repoId, commitSha, { kinds, first: page.first, after: page.after });
    return { items: p.items.map((x) => ({ cursor: x.cursor, node: { entity: this.toRecord(x.node.entity), score: x.node.score } })), hasNextPage: p.hasNextPage, total: p.total };
  }

  cycles(repo: string, commitSha: string): Promise<Array<{ files: string[] }>> {
    return this.store.search.cycles(this.repo(repo).repoId, commitSha);
  }

  async neighbourhood(repo: string, commitSha: string, entityId: string, depth: number, kinds: EdgeKindName[] | null, first: number): Promise<NeighbourRecord[]> {
    const list = await this.store.search.neighbourhood(this.repo(repo).repoId, commitSha, entityId, { depth, kinds, first });
    return list.map((n) => ({ entity: this.toRecord(n.entity), distance: n.distance, via: n.via, from: this.toRecord(n.from) }));
  }
}
