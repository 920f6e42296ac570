// The history-indexing driver: git history -> file deltas -> extraction (only blobs not stored yet)
// -> one store transaction per commit.
//
// Each commit is indexed against its FIRST parent with `diff-tree parent1 commit`, so its cost is
// proportional to the files it changes. Commits are processed parents-first; a commit whose first
// parent is neither stored nor selected becomes a base (its delta is its whole tree).
//
// Crash safety: a commit is written in one transaction and skipped when already stored, and the
// selection and order depend only on the refs and the stored commits, so a run killed at any point
// and restarted yields exactly the store of an uninterrupted run (test/history-crash.test.ts).
import type { Logger } from 'pino';
import type { GitRepo } from '../indexer/git/index.ts';
import type { FileChange } from '../indexer/git/index.ts';
import type { ExtractOutcome, Indexer, FileToIndex } from '../indexer/index.ts';
import type { CommitInfo } from '../indexer/git/index.ts';
import { DEFAULT_MIGRATIONS_DIR, HistoryStore, migrate, verifyStore, type CommitInput, type FileDeltaInput, type RefMove, type SearchLimits } from '../store/index.ts';
import { describeTarget, openDatabase, type Db } from '../store/db.ts';

export interface HistoryProgress {
  /** Commits stored so far in this run. */
  done: number;
  /** Commits this run stores (already stored ones excluded). */
  total: number;
  sha: string;
  /** Files in the commit's delta, and how many of them were parsed (not cached, not skipped). */
  files: number;
  parsed: number;
  /** Files parsed per language, files parsed with syntax errors per language, and files skipped
   * per reason, in this commit (for metrics). */
  parsedByLanguage: Record<string, number>;
  syntaxErrorFiles: Record<string, number>;
  skipped: Record<string, number>;
}

export interface HistoryContext {
  repo: GitRepo;
  store: HistoryStore;
  indexer: Indexer;
  /** The store's repository id; looked up from `repo.path` when omitted. */
  repoId?: number;
}

export interface IndexHistoryOptions extends HistoryContext {
  /** Last N commits of every branch (all parents, not only first parents), or the whole history. */
  history: number | 'all';
  /** When given, only the windows of HEAD and of these refs (full names; those that name no branch
   * are ignored), not of every branch: `serve` indexes HEAD's window first and the other branches'
   * behind it (branchesPlan), then, each run, the refs that moved. */
  refs?: readonly string[];
  /** With `refs`: also the windows of the refs this run finds moved or created since the store
   * recorded them (recordRefs), e.g. while the daemon was stopped. */
  moved?: boolean;
  onProgress?: (p: HistoryProgress) => void;
  /** A transaction of several commits ends after the commit that passes this many milliseconds
   * (HistoryStore.storeCommits); `Infinity` stores each prepared batch in one. @default 200 */
  transactionBudgetMs?: number;
  /** First extract again, by this build's rules, the files of up to this many recorded tips
   * (HistoryStore.hotRefs) that an older extractor version extracted (refreshStale): after an
   * upgrade, the tips' unchanged files would otherwise keep the old rules' entities. `serve` passes
   * its `hotTips` at start; once done, or on a store this version made, it costs one query a tip. */
  refreshTips?: number;
}

export interface IndexHistoryResult {
  repoId: number;
  /** Commits stored by this run, in the order they were stored. */
  indexed: string[];
  /** Commits selected but already stored. */
  alreadyIndexed: number;
  refMoves: RefMove[];
  /** Files extracted again at the tips by `refreshTips` (0 without it). */
  refreshed: number;
}

/** Branches, remote-tracking branches and a detached HEAD: the tips whose history is indexed.
 * Remote-tracking branches are tips because `POST /hooks/git` runs `git fetch <remote>`, which in
 * a clone moves only `refs/remotes/<remote>/*`; they are recorded as refs too (recordRefs). */
async function tips(repo: GitRepo, only?: readonly string[]): Promise<Array<{ name: string; sha: string }>> {
  const head = await repo.head();
  const wanted = only ? new Set([...only, ...(head.ref === null ? [] : [head.ref])]) : null;
  const refs = (await repo.forEachRef(['refs/heads/', 'refs/remotes/']))
    .filter((r) => r.peeledType === 'commit' && !r.name.endsWith('/HEAD') && (wanted === null || wanted.has(r.name)));
  const out = refs.map((r) => ({ name: r.name, sha: r.sha }));
  if (head.sha !== null && head.ref === null) out.push({ name: 'HEAD', sha: head.sha });
  return out;
}

/** The commits of the windows of `heads`: the last `history` commits of each (all parents), or
 * everything they reach. */
async function windows(repo: GitRepo, heads: Array<{ sha: string }>, history: number | 'all'): Promise<Set<string>> {
  const selected = new Set<string>();
  if (history === 'all') {
    for (const sha of await repo.revList({ tips: heads.map((h) => h.sha) })) selected.add(sha);
  } else {
    for (const h of heads) for (const sha of await repo.revList({ tips: [h.sha], maxCount: history })) selected.add(sha);
  }
  return selected;
}

async function repoIdOf(ctx: HistoryContext): Promise<number> {
  return ctx.repoId ?? ctx.store.repository(ctx.repo.path);
}

/** Updates the stored refs (branches, tags, remote branches) and the ref log; a move whose old
 * commit is not an ancestor of the new one is recorded as forced. The old commit stays stored. */
export async function recordRefs(ctx: HistoryContext): Promise<RefMove[]> {
  const repoId = await repoIdOf(ctx);
  const refs = (await ctx.repo.forEachRef(['refs/heads/', 'refs/tags/', 'refs/remotes/']))
    .filter((r) => r.peeledType === 'commit' && !r.name.endsWith('/HEAD'))
    .map((r) => ({ name: r.name, sha: r.sha }));
  return ctx.store.recordRefs(repoId, refs, async (oldSha, newSha) => {
    try {
      return (await ctx.repo.revList({ tips: [oldSha], exclude: [newSha], maxCount: 1 })).length > 0;
    } catch {
      return true; // the old commit is gone from the repository (gc after a force push)
    }
  });
}

/** Parents-first order of `infos` (generation number, then committer time, then sha). */
function parentsFirst(infos: CommitInfo[]): CommitInfo[] {
  const bySha = new Map(infos.map((c) => [c.sha, c]));
  const gen = new Map<string, number>();
  for (const start of infos) {
    const stack = [start.sha];
    while (stack.length > 0) {
      const sha = stack[stack.length - 1]!;
      if (gen.has(sha)) { stack.pop(); continue; }
      const parents = bySha.get(sha)!.parents.filter((p) => bySha.has(p));
      const pending = parents.filter((p) => !gen.has(p));
      if (pending.length > 0) { stack.push(...pending); continue; }
      gen.set(sha, 1 + Math.max(0, ...parents.map((p) => gen.get(p)!)));
      stack.pop();
    }
  }
  return [...infos].sort((a, b) => gen.get(a.sha)! - gen.get(b.sha)! || a.committer.timestamp - b.committer.timestamp || (a.sha < b.sha ? -1 : 1));
}

/** The file delta rows of a diff-tree result: renames become a deletion plus an addition. */
function deltaOf(changes: FileChange[]): { deleted: string[]; files: FileToIndex[]; previous: FileToIndex[] } {
  const deleted: string[] = [];
  const files: FileToIndex[] = [];
  /** The blobs modified files had before (staleBlobs). */
  const previous: FileToIndex[] = [];
  for (const ch of changes) {
    if (ch.status === 'M' && ch.oldPath !== null && ch.oldSha !== null && !ch.skip) {
      previous.push({ path: ch.oldPath, sha: ch.oldSha, mode: ch.oldMode ?? '100644', size: null });
    }
    if (ch.status === 'D' || ch.status === 'R') {
      if (ch.oldPath !== null) deleted.push(ch.oldPath);
    }
    if (ch.status !== 'D' && ch.newPath !== null && ch.newSha !== null) {
      files.push({ path: ch.newPath, sha: ch.newSha, mode: ch.newMode ?? '100644', size: null, ...(ch.skip ? { skip: ch.skip } : {}) });
    }
  }
  const added = new Set(files.map((f) => f.path));
  return { deleted: deleted.filter((p) => !added.has(p)), files, previous };
}

/** Test hook: CODEGRAPH_TEST_KILL_AFTER_COMMITS=k makes the process SIGKILL itself right after
 * storing its k-th commit (crash test). Read once. */
const KILL_AFTER = Number(process.env.CODEGRAPH_TEST_KILL_AFTER_COMMITS ?? '0');

/** Stores one commit (its first parent must be stored already, or it becomes a base). */
type CommitCounts = Pick<HistoryProgress, 'files' | 'parsed' | 'parsedByLanguage' | 'syntaxErrorFiles' | 'skipped'>;

/** A commit read, diffed and parsed, ready to store. */
interface PreparedCommit {
  info: CommitInfo;
  baseSha: string | null;
  delta: FileDeltaInput[];
  counts: CommitCounts;
}

/** Commits prepared together: their diff-trees, ONE lookup of stored extractions and ONE extraction
 * run over all their files, so a history of small commits keeps every parser thread busy and costs
 * one store round trip per batch instead of one per commit (#9). Bounded by files too, so a batch
 * of large commits does not hold many results in memory. */
const BATCH_COMMITS = 64;
const BATCH_FILES = 2_000;

type BatchItem = { info: CommitInfo; baseSha: string | null };
/** A batch's file deltas and which of its blobs the store already holds. */
interface DiffedBatch {
  deltas: Array<{ deleted: string[]; files: FileToIndex[] }>;
  cached: Set<string>;
  /** Blobs modified files had before, stored only by an older extractor version (staleBlobs). */
  stale: FileToIndex[];
}

/** Diffs a run of commits and looks up the stored extractions of their blobs (git and the store,
 * no parsing), so it can run while the parser threads work on the batch before. */
async function diffBatch(ctx: HistoryContext, items: BatchItem[]): Promise<DiffedBatch> {
  const deltas: Array<{ deleted: string[]; files: FileToIndex[]; previous: FileToIndex[] }> = [];
  // One after another: they share the repository's long-lived diff-tree process (indexer/git).
  for (const it of items) deltas.push(deltaOf(await ctx.repo.diffTree(it.baseSha, it.info.sha)));
  const shas = new Set(deltas.flatMap((d) => d.files.map((f) => f.sha)));
  return { deltas, cached: await ctx.store.cachedExtractions([...shas]), stale: await staleBlobs(ctx, deltas.flatMap((d) => d.previous)) };
}

/**
 * The blobs among `previous` (what modified files held before) that only an older extractor
 * version extracted: after an upgrade, the first commit to change such a file must compare it
 * with its old content extracted by the current rules, or the rules' change reads as an edit
 * (store/diff.ts `alignVersions`). prepareBatch extracts and stores them beside the batch; once
 * every file was touched, or on a store made by this version, there are none (one query a batch).
 */
async function staleBlobs(ctx: HistoryContext, previous: FileToIndex[]): Promise<FileToIndex[]> {
  if (previous.length === 0) return [];
  const stale = await ctx.store.staleExtractions([...new Set(previous.map((f) => f.sha))]);
  const out: FileToIndex[] = [];
  for (const f of previous) {
    if (!stale.delete(f.sha)) continue; // each blob once
    out.push(f);
  }
  return out;
}

/** Reads, diffs and parses a run of commits (no store write): the part that runs ahead of the
 * store. `parsed` holds the `${sha}\0${language}` keys of blobs parsed by earlier batches of this
 * run: their commits are stored before these, so they count as cached. Keys of the blobs this batch
 * parses are added to it. */
async function prepareBatch(ctx: HistoryContext, items: BatchItem[], parsed: Set<string>, diffed?: DiffedBatch): Promise<PreparedCommit[]> {
  const { deltas, cached, stale } = diffed ?? await diffBatch(ctx, items);
  const all = deltas.flatMap((d) => d.files);
  // Bodies are embedded in the workers, so no blob bytes come back to this thread (#9).
  const outcomes = await ctx.indexer.extractFiles(ctx.repo, [...all, ...stale], {
    isCached: (sha, language) => cached.has(`${sha}\0${language}`) || parsed.has(`${sha}\0${language}`),
    embedBodies: true,
  });
  if (stale.length > 0) {
    // Stored before this batch's commits, whose entity changes compare with them. (Outcomes come
    // in completion order; the commits below pick theirs by path and blob.)
    const keys = new Set(stale.map((f) => `${f.path}\0${f.sha}`));
    await ctx.store.storeExtractions(outcomes.flatMap((o) => (o.status === 'parsed' && keys.has(`${o.path}\0${o.sha}`) ? [parsedInput(o)] : [])));
  }
  const byFile = new Map<string, ExtractOutcome>();
  for (const o of outcomes) {
    byFile.set(`${o.path}\0${o.sha}`, o);
    // Only parsed blobs are stored; a skipped one (timeout, crash) must be tried again.
    if (o.status === 'parsed') parsed.add(`${o.sha}\0${o.language}`);
  }
  return items.map((it, k) => {
    const { deleted, files } = deltas[k]!;
    const mine = files.map((f) => byFile.get(`${f.path}\0${f.sha}`)!);
    return prepared(it.info, it.baseSha, deleted, mine);
  });
}

/** The store's input for a parsed file (its extraction and body embeddings). */
function parsedInput(o: Extract<ExtractOutcome, { status: 'parsed' }>): Extract<FileDeltaInput, { status: 'parsed' }> {
  return { path: o.path, status: 'parsed', blobSha: o.sha, language: o.language, extraction: o.result, bodies: o.bodies ?? [] };
}

/** A commit's delta rows and counts from its extraction outcomes. */
function prepared(info: CommitInfo, baseSha: string | null, deleted: string[], outcomes: ExtractOutcome[]): PreparedCommit {
  const delta: FileDeltaInput[] = deleted.map((path) => ({ path, status: 'deleted' as const }));
  for (const o of outcomes) {
    if (o.status === 'parsed') delta.push(parsedInput(o));
    else if (o.status === 'cached') delta.push({ path: o.path, status: 'cached', blobSha: o.sha, language: o.language });
    else delta.push({ path: o.path, status: 'skipped', blobSha: o.sha, language: o.language, reason: o.reason, detail: o.detail });
  }
  delta.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const counts: CommitCounts = { files: delta.length, parsed: 0, parsedByLanguage: {}, syntaxErrorFiles: {}, skipped: {} };
  for (const o of outcomes) {
    if (o.status === 'parsed') {
      counts.parsed++;
      counts.parsedByLanguage[o.language] = (counts.parsedByLanguage[o.language] ?? 0) + 1;
      if (o.result.errorCount > 0) counts.syntaxErrorFiles[o.language] = (counts.syntaxErrorFiles[o.language] ?? 0) + 1;
    } else if (o.status === 'skipped') {
      counts.skipped[o.reason] = (counts.skipped[o.reason] ?? 0) + 1;
    }
  }
  return { info, baseSha, delta, counts };
}

/** The store's input for a prepared commit. */
function commitInput(p: PreparedCommit): CommitInput {
  const { info } = p;
  return {
    commit: {
      sha: info.sha, parents: info.parents, tree: info.tree, message: info.message,
      author: { name: info.author.name, email: info.author.email, date: info.author.date },
      committer: { name: info.committer.name, email: info.committer.email, date: info.committer.date },
    },
    baseSha: p.baseSha,
    files: p.delta,
  };
}

/** Stores a prepared commit in one transaction. */
async function writeOne(ctx: HistoryContext, repoId: number, p: PreparedCommit): Promise<CommitCounts> {
  await ctx.store.storeCommit(repoId, commitInput(p));
  return p.counts;
}

/** How long one transaction of several commits may run (HistoryStore.storeCommits): commits are
 * written several per transaction (#9), but the embedded database serves one transaction at a
 * time, so a query of `serve` waits for the one in flight. */
const GROUP_BUDGET_MS = 200;

async function storeOne(ctx: HistoryContext, repoId: number, info: CommitInfo, baseSha: string | null): Promise<CommitCounts> {
  const [p] = await prepareBatch(ctx, [{ info, baseSha }], new Set());
  return writeOne(ctx, repoId, p!);
}

/** Writes the parsed outcomes of a first extraction to the store in batches while the workers keep
 * parsing: one batch is written while the next fills (#9). `add` waits only when a full batch is
 * ready and the previous one is still being written, which holds the extraction back instead of
 * piling results up in memory. The embeddings of written outcomes are dropped. Outcomes need
 * `bodies` (extractFiles with `embedBodies`). */
export class ExtractionWriter {
  private batch: Array<Extract<FileDeltaInput, { status: 'parsed' }>> = [];
  private outcomes: Array<{ bodies?: unknown }> = [];
  private entities = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly seen = new Set<string>();

  /** @param store the store, or its opening: outcomes wait for it while the workers go on parsing.
   * @param batchEntities entities per write transaction. @default 20_000 */
  constructor(private readonly store: HistoryStore | Promise<HistoryStore>, private readonly batchEntities = 20_000) {
    // A failed opening is surfaced by the next cut() or flush(), not as an unhandled rejection.
    if (store instanceof Promise) store.catch(() => {});
  }

  async add(o: ExtractOutcome): Promise<void> {
    if (o.status !== 'parsed' || o.bodies === undefined) return;
    const key = `${o.sha}\0${o.language}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.batch.push(parsedInput(o));
    this.outcomes.push(o);
    this.entities += o.result.entities.length + 1;
    if (this.entities >= this.batchEntities) await this.cut();
  }

  /** Writes what is left and waits for every write. */
  async flush(): Promise<void> {
    await this.cut();
    await this.writing;
  }

  private async cut(): Promise<void> {
    await this.writing;
    const batch = this.batch;
    const outcomes = this.outcomes;
    this.batch = [];
    this.outcomes = [];
    this.entities = 0;
    if (batch.length === 0) return;
    const write = Promise.resolve(this.store).then((store) => store.storeExtractions(batch)).then(() => {
      for (const o of outcomes) delete o.bodies;
    });
    write.catch(() => {}); // surfaced by the next cut() or flush()
    this.writing = write;
  }
}

/** Indexes the last N commits of every branch (or all), refs first. Idempotent and resumable. */
export async function indexHistory(opts: IndexHistoryOptions): Promise<IndexHistoryResult> {
  const { repo, history } = opts;
  if (history !== 'all' && (!Number.isInteger(history) || history < 1)) {
    throw new RangeError(`history must be a positive integer or 'all', got ${String(history)}`);
  }
  const repoId = await repoIdOf(opts);
  const ctx = { ...opts, repoId };
  // Before the refs move: the tips recorded so far are stored commits, and the commits this run
  // stores then compare with their parents' files extracted by the current rules.
  const refreshed = opts.refreshTips === undefined ? 0 : await refreshStale(ctx, opts.refreshTips);
  const refMoves = await recordRefs(ctx);
  const only = opts.refs && opts.moved ? [...opts.refs, ...refMoves.filter((m) => m.newSha !== null).map((m) => m.name)] : opts.refs;
  const { selected, stored, infos } = await unstored(ctx, await tips(repo, only), history);
  // First parents outside the selection may be stored by an earlier run: deltas can start there.
  const outside = [...new Set(infos.flatMap((c) => (c.parents[0] !== undefined && !selected.has(c.parents[0]) ? [c.parents[0]] : [])))];
  for (const s of await storedOf(ctx, repoId, outside)) stored.add(s);

  const indexed = await storeInOrder(ctx, parentsFirst(infos), stored, opts);
  return { repoId, indexed, alreadyIndexed: selected.size - infos.length, refMoves, refreshed };
}

/**
 * Extracts again, by this build's rules, the files at up to `maxTips` recorded tips of the
 * repository (HistoryStore.hotRefs) that only an older extractor version extracted, and stores
 * them (HistoryStore.storeRefreshed): from then on every tree naming those blobs reads the new
 * extractions (store/chain.ts treeSql), so search, the graph and diffs at the tips see one set of
 * rules. Commits are not rewritten. Returns how many files it stored; a file that fails to parse
 * now (timeout, size limit) keeps its old extraction and is tried again at the next run.
 */
export async function refreshStale(ctx: HistoryContext & { repoId: number }, maxTips: number): Promise<number> {
  const refs = await ctx.store.hotRefs(ctx.repoId, maxTips);
  if (refs.length === 0) return 0;
  return refreshFiles(ctx, await ctx.store.staleAt(ctx.repoId, refs.map((r) => r.sha)), true);
}

/** A blob an older extractor version extracted (HistoryStore.staleAt, staleStored), with a path. */
export type StaleFile = { path: string; blobSha: string; language: string };

/** Extracts `files` again and stores them (refreshStale); `atTips`: they are at the tips, whose
 * cached images are dropped. Returns how many it stored. */
export async function refreshFiles(ctx: HistoryContext & { repoId: number }, files: readonly StaleFile[], atTips: boolean): Promise<number> {
  let stored = 0;
  for (let i = 0; i < files.length; i += BATCH_FILES) {
    const chunk = files.slice(i, i + BATCH_FILES);
    const wanted = new Set(chunk.map((f) => `${f.blobSha}\0${f.language}`));
    const outcomes = await ctx.indexer.extractFiles(ctx.repo, chunk.map((f) => ({ path: f.path, sha: f.blobSha, mode: '100644', size: null })), { embedBodies: true });
    // A blob the current rules give another language (a new extension mapping) is not the tree's.
    const parsed = outcomes.flatMap((o) => (o.status === 'parsed' && wanted.has(`${o.sha}\0${o.language}`) ? [parsedInput(o)] : []));
    await ctx.store.storeRefreshed(ctx.repoId, parsed, atTips);
    stored += parsed.length;
  }
  return stored;
}

/** Stores `ordered` (parents first; `stored` holds the commits stored before), in batches: see
 * indexHistory. Returns the commits stored, in order. */
async function storeInOrder(
  ctx: HistoryContext & { repoId: number }, ordered: CommitInfo[], stored: Set<string>,
  opts: Pick<IndexHistoryOptions, 'onProgress' | 'transactionBudgetMs'> & { announce?: boolean },
): Promise<string[]> {
  const { repoId, store } = ctx;
  const indexed: string[] = [];
  // A commit's base is decided before it is prepared: its first parent is stored by then when it
  // was stored before this run or comes earlier in `ordered` (parents first).
  const willStore = new Set(stored);
  const bases = ordered.map((info) => {
    const p1 = info.parents[0];
    willStore.add(info.sha);
    return p1 !== undefined && willStore.has(p1) && p1 !== info.sha ? p1 : null;
  });
  // Batches of commits, parents first, in a pipeline: the store writes batch b while the parser
  // threads parse batch b+1 and git diffs batch b+2 (and the store looks up its cached blobs), so
  // the threads go from one batch's files to the next without waiting for git or the store (#9).
  // Diffs run one batch after another (they share the repository's git reader processes, which
  // serve one request stream at a time), and so do parses: a blob first seen in a batch is parsed
  // once, because the next batch's parse starts after it and knows what it parsed.
  const batches: BatchItem[][] = [];
  let files = 0;
  ordered.forEach((info, i) => {
    const last = batches[batches.length - 1];
    // A commit with no stored parent carries its whole tree: it starts a batch of its own.
    if (!last || last.length >= BATCH_COMMITS || files >= BATCH_FILES || bases[i] === null) {
      batches.push([]);
      files = 0;
    }
    batches[batches.length - 1]!.push({ info, baseSha: bases[i]! });
    files += bases[i] === null ? BATCH_FILES : 3;
  });
  const parsed = new Set<string>();
  const ahead: Array<Promise<PreparedCommit[]>> = [];
  let lastDiff: Promise<unknown> = Promise.resolve();
  let lastParse: Promise<unknown> = Promise.resolve();
  const prepare = (b: number): void => {
    if (b >= batches.length) return;
    const d = lastDiff.then(() => diffBatch(ctx, batches[b]!));
    lastDiff = d.catch(() => {});
    const p = Promise.all([d, lastParse]).then(([diffed]) => prepareBatch(ctx, batches[b]!, parsed, diffed));
    p.catch(() => {}); // awaited in order below; a rejection is handled there
    lastParse = p.catch(() => {});
    ahead.push(p);
  };
  prepare(0);
  prepare(1);
  try {
    for (let b = 0; b < batches.length; b++) {
      const batch = await ahead.shift()!;
      prepare(b + 2);
      for (let i = 0; i < batch.length;) {
        // The kill hook must fire right after the k-th commit is stored: a group ends there.
        const max = KILL_AFTER > indexed.length ? KILL_AFTER - indexed.length : batch.length;
        const group = await store.storeCommits(repoId, batch.slice(i).map(commitInput), { budgetMs: opts.transactionBudgetMs ?? GROUP_BUDGET_MS, maxCommits: max, ...(opts.announce === false ? { announce: false } : {}) });
        for (const prepared of batch.slice(i, i + group.length)) {
          stored.add(prepared.info.sha);
          indexed.push(prepared.info.sha);
          opts.onProgress?.({ done: indexed.length, total: ordered.length, sha: prepared.info.sha, ...prepared.counts });
        }
        i += group.length;
        if (KILL_AFTER > 0 && indexed.length === KILL_AFTER) process.kill(process.pid, 'SIGKILL');
      }
    }
  } finally {
    // Work still in flight after a failure must settle before the caller closes the pool and store.
    await Promise.allSettled(ahead);
  }
  return indexed;
}

/**
 * The commits a backfill stores, oldest first: the first-parent history of HEAD behind the indexed
 * window (the commits older than the newest stored commit of that chain; none when none is
 * stored), down to `depth` commits from HEAD, not stored yet. Commits above the newest stored one
 * are new (HEAD moved since the last run) and go to the next indexing run, which announces them.
 * Planned once per backfill: reading the chain and its stored commits took ~0.3 s for express's
 * 3,888, which per 256-commit turn was ~15% of the backfill.
 */
export async function backfillPlan(ctx: HistoryContext, depth: number): Promise<string[]> {
  const head = await ctx.repo.head();
  if (head.sha === null || depth < 1) return [];
  const chain = await ctx.repo.revList({ tips: [head.sha], firstParent: true, maxCount: depth });
  const stored = await storedOf(ctx, await repoIdOf(ctx), chain);
  // rev-list lists newest first: the oldest missing commits are at the end.
  const newest = chain.findIndex((sha) => stored.has(sha));
  return newest < 0 ? [] : chain.slice(newest + 1).filter((sha) => !stored.has(sha)).reverse();
}

/**
 * The commits of every branch's window (what indexHistory selects without `refs`) not stored yet,
 * parents first: what `serve`'s first index, HEAD's window alone, leaves to fill in behind it
 * (storeBackfill, in turns). A clone of zod has 137 remote branches: their windows were 3,942
 * commits, ~176 s before the daemon was ready; HEAD's are 200.
 */
export async function branchesPlan(ctx: HistoryContext, history: number | 'all'): Promise<string[]> {
  const repoId = await repoIdOf(ctx);
  // The branch tips the store recorded (the last indexing run's), not the repository's live ones:
  // a commit pushed since is news for the next indexing run, which announces it; planned here it
  // was stored as old history, unannounced (a standby taking over lost its first commitIndexed).
  const heads = (await ctx.store.refs(repoId)).filter((r) => (r.name.startsWith('refs/heads/') || r.name.startsWith('refs/remotes/')) && !r.name.endsWith('/HEAD'));
  // A recorded tip gone from the repository since (a force push, then gc) has no window to fill.
  const present = await Promise.all(heads.map(async (h) => (await ctx.repo.readObjectHeader(h.sha))?.type === 'commit'));
  const { infos } = await unstored({ ...ctx, repoId }, heads.filter((_, i) => present[i]), history);
  return parentsFirst(infos).map((c) => c.sha);
}

/**
 * Stores consecutive commits of a plan (backfillPlan, branchesPlan), parents first, skipping those
 * stored since it was made (on demand). A commit is a base (its whole tree) unless its first parent
 * is stored or comes before it, else a delta on that parent. Along backfillPlan's first-parent
 * chain that makes every commit after the first a delta, and in the end the oldest commit of the
 * window too (a stored base is re-attached to its parent, store/README.md), so the function
 * history of an entity runs down to where it was really added. The commits are not announced
 * (`storeCommits` `announce: false`): they were there before. Returns the commits stored, in order.
 */
export async function storeBackfill(ctx: HistoryContext, shas: string[], onProgress?: (p: HistoryProgress) => void): Promise<string[]> {
  const repoId = await repoIdOf(ctx);
  const stored = await storedOf(ctx, repoId, shas);
  const todo = shas.filter((sha) => !stored.has(sha));
  if (todo.length === 0) return [];
  const infos = await commitInfos(ctx.repo, todo);
  // First parents outside `shas`: past the plan's depth, or stored by an earlier turn.
  const planned = new Set(shas);
  const outside = infos.flatMap((c) => (c.parents[0] !== undefined && !planned.has(c.parents[0]) ? [c.parents[0]] : []));
  for (const sha of await storedOf(ctx, repoId, outside)) stored.add(sha);
  return storeInOrder({ ...ctx, repoId }, parentsFirst(infos), stored, { announce: false, ...(onProgress ? { onProgress } : {}) });
}

/** The windows of `heads` (`selected`), which of them the store holds, and the commit information
 * of the others. */
async function unstored(ctx: HistoryContext & { repoId: number }, heads: Array<{ sha: string }>, history: number | 'all'): Promise<{ selected: Set<string>; stored: Set<string>; infos: CommitInfo[] }> {
  const selected = await windows(ctx.repo, heads, history);
  const stored = await storedOf(ctx, ctx.repoId, [...selected]);
  const infos = await commitInfos(ctx.repo, [...selected].filter((sha) => !stored.has(sha)));
  return { selected, stored, infos };
}

/** The commit information of `shas`, asked of git 1,000 at a time. */
async function commitInfos(repo: GitRepo, shas: readonly string[]): Promise<CommitInfo[]> {
  const infos: CommitInfo[] = [];
  for (let i = 0; i < shas.length; i += 1000) infos.push(...await repo.commitInfo(shas.slice(i, i + 1000)));
  return infos;
}

/** Which of `shas` the store holds, asked 5,000 at a time. */
async function storedOf(ctx: HistoryContext, repoId: number, shas: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < shas.length; i += 5000) for (const s of await ctx.store.indexedCommits(repoId, shas.slice(i, i + 5000))) out.add(s);
  return out;
}

/** Indexes one commit on demand (e.g. for `diff` of an unindexed revision); returns its sha. Its
 * delta is against its first parent when that is stored, else it is stored as a base. */
export async function indexCommit(ctx: HistoryContext, rev: string): Promise<string> {
  const repoId = await repoIdOf(ctx);
  const sha = await ctx.repo.resolveCommit(rev);
  if ((await ctx.store.indexedCommits(repoId, [sha])).has(sha)) return sha;
  const [info] = await ctx.repo.commitInfo([sha]);
  const p1 = info!.parents[0];
  const baseSha = p1 !== undefined && (await ctx.store.indexedCommits(repoId, [p1])).has(p1) ? p1 : null;
  await storeOne({ ...ctx, repoId }, repoId, info!, baseSha);
  // Indexed for a query, not brought by a ref move: not a `commitIndexed` event.
  await ctx.store.markAnnounced(repoId, sha);
  return sha;
}

export interface OpenHistoryOptions {
  dataDir?: string;
  databaseUrl?: string;
  /** Where the database reports what happens to it (the embedded database's process starting,
   * stopping while idle, failing). */
  log?: Logger;
  /** Embedded store held by a running daemon: use its database through its socket (`OpenDatabaseOptions.attach`). */
  attach?: boolean;
  /** `OpenDatabaseOptions.pgliteSettings`. */
  pgliteSettings?: Readonly<Record<string, string>>;
  /** `OpenDatabaseOptions.pgliteMaxMemoryBytes`. */
  pgliteMaxMemoryBytes?: number;
  /** `OpenDatabaseOptions.pgliteIdleStopMs`. */
  pgliteIdleStopMs?: number | null;
  /** `OpenDatabaseOptions.onLocked`. */
  onLocked?: () => void;
  /** Overrides of the search engine's limits (HistoryStore). */
  searchLimits?: Partial<SearchLimits>;
}

/** Opens and migrates the database and wraps it in a store (for CLI commands). */
export async function openHistoryStore(opts: OpenHistoryOptions): Promise<{ db: Db; store: HistoryStore }> {
  const db = await openDatabase({
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
    ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.attach !== undefined ? { attach: opts.attach } : {}),
    ...(opts.log !== undefined ? { log: opts.log } : {}),
    ...(opts.onLocked !== undefined ? { onLocked: opts.onLocked } : {}),
    ...(opts.pgliteSettings !== undefined ? { pgliteSettings: opts.pgliteSettings } : {}),
    ...(opts.pgliteMaxMemoryBytes !== undefined ? { pgliteMaxMemoryBytes: opts.pgliteMaxMemoryBytes } : {}),
    ...(opts.pgliteIdleStopMs !== undefined ? { pgliteIdleStopMs: opts.pgliteIdleStopMs } : {}),
    pgliteTemplateMigrations: DEFAULT_MIGRATIONS_DIR,
  });
  try {
    await migrate(db, DEFAULT_MIGRATIONS_DIR);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { db, store: new HistoryStore(db, opts.searchLimits) };
}

/** What `codegraph index <repo> --history N|all` runs: open everything, index, close. */
export async function runHistoryIndex(opts: OpenHistoryOptions & {
  repo: GitRepo; indexer: Indexer; history: number | 'all'; onProgress?: (p: HistoryProgress) => void;
}): Promise<IndexHistoryResult> {
  const { db, store } = await openHistoryStore(opts);
  try {
    // Never write on top of a damaged store (STORE_CORRUPT; store/verify.ts).
    await verifyStore(db, opts.databaseUrl !== undefined ? describeTarget(opts.databaseUrl) : opts.dataDir ?? '');
    return await indexHistory({ repo: opts.repo, store, indexer: opts.indexer, history: opts.history, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  } finally {
    await db.close();
  }
}
