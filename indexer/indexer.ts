// Turns a list of files at a commit into extraction outcomes: classify each path (skips with a
// reason), leave out blobs the caller already has (content addressing), read the rest through the
// repository's one cat-file process, and parse them in the worker pool with bounded concurrency.
import picomatch from 'picomatch';
import { detectLanguage } from './languages/index.ts';
import { ExtractorPool } from './pool.ts';
import type { GitRepo } from './git/index.ts';
import type { FileExtraction, LanguageId, SkipReason } from './types.ts';
import { SKIP_REASONS } from './types.ts';

/** Paths skipped as generated or vendored unless `exclude` is given. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '**/node_modules/**', '**/vendor/**', '**/third_party/**', '**/dist/**', '**/build/**',
  '**/*.min.js', '**/*.min.mjs', '**/*-min.js', '**/*.bundle.js', '**/*.pb.go', '**/*_pb2.py', '**/*.generated.*',
];

export interface IndexerOptions {
  /** Worker threads. @default os.availableParallelism() */
  threads?: number;
  /** Files larger than this are skipped as `too_large`. @default 2_097_152 (2 MiB) */
  maxFileBytes?: number;
  /** Globs (picomatch, matched against the repository path) skipped as `excluded`. @default DEFAULT_EXCLUDES */
  exclude?: readonly string[];
  /** Budget for parse + query + extraction of one file, in ms. @default 10_000 */
  parseTimeoutMs?: number;
  /** Idle worker threads exit after this many ms (0: never). @default see PoolOptions.idleTimeoutMs */
  workerIdleMs?: number;
}

export interface FileToIndex {
  path: string;
  sha: string;
  mode?: string;
  size?: number | null;
  skip?: 'symlink' | 'submodule' | 'unsafe_path';
}

export type ExtractOutcome =
  | { path: string; sha: string; language: LanguageId; status: 'parsed'; result: FileExtraction; content?: Uint8Array; bodies?: Array<[string, Uint8Array]> }
  | { path: string; sha: string; language: LanguageId; status: 'cached' }
  | { path: string; sha: string; language: LanguageId | null; status: 'skipped'; reason: SkipReason; detail: string };

export interface ExtractFilesOptions {
  /** True when the store already holds the extraction of (blob, language) at EXTRACTOR_VERSION. */
  isCached?: (sha: string, language: LanguageId) => boolean;
  onProgress?: (done: number, total: number) => void;
  /** Called for each outcome as it is ready, in completion order. */
  onOutcome?: (outcome: ExtractOutcome) => void | Promise<void>;
  /** Attach the blob bytes to parsed outcomes (`content`), so a caller that stores them need not
   * read the blob from git a second time. @default false */
  keepContent?: boolean;
  /** Embed entity bodies in the workers (`bodies` on parsed outcomes: [body hash, stored embedding
   * (indexer/embed.ts toStoredEmbedding)]), for the history store. @default false */
  embedBodies?: boolean;
  /** Return every outcome (the resolved array). False returns an empty array and keeps nothing, for
   * a caller that consumes outcomes in `onOutcome`: a whole tree's extractions held until the end
   * were the largest part of `codegraph index`'s peak memory (#9). @default true */
  collect?: boolean;
}

export type Classification = { language: LanguageId } | { language: LanguageId | null; skip: SkipReason; detail: string };

const NUL_SCAN_BYTES = 8192;

export class Indexer {
  readonly maxFileBytes: number;
  readonly parseTimeoutMs: number;
  readonly exclude: readonly string[];
  private readonly isExcluded: (path: string) => boolean;
  private readonly pool: ExtractorPool;

  constructor(options: IndexerOptions = {}) {
    const maxFileBytes = options.maxFileBytes ?? 2 * 1024 * 1024;
    if (!Number.isInteger(maxFileBytes) || maxFileBytes < 1) throw new RangeError('options.maxFileBytes must be a positive integer (bytes)');
    const parseTimeoutMs = options.parseTimeoutMs ?? 10_000;
    if (!Number.isInteger(parseTimeoutMs) || parseTimeoutMs < 1) throw new RangeError('options.parseTimeoutMs must be a positive integer (milliseconds)');
    const exclude = options.exclude ?? DEFAULT_EXCLUDES;
    if (!Array.isArray(exclude) || exclude.some((g) => typeof g !== 'string' || g === '')) throw new TypeError('options.exclude must be an array of non-empty glob strings');
    this.maxFileBytes = maxFileBytes;
    this.parseTimeoutMs = parseTimeoutMs;
    this.exclude = exclude;
    this.isExcluded = exclude.length === 0 ? () => false : picomatch(exclude as string[], { dot: true });
    this.pool = new ExtractorPool({
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.workerIdleMs === undefined ? {} : { idleTimeoutMs: options.workerIdleMs }),
    });
  }

  get threads(): number {
    return this.pool.threads;
  }

  get poolStats(): ExtractorPool['stats'] {
    return this.pool.stats;
  }

  /** Decides from the path and size alone whether a file is parsed, and in which language. */
  classify(file: FileToIndex): Classification {
    const language = detectLanguage(file.path);
    if (file.skip) return { language, skip: file.skip, detail: skipDetail(file.skip) };
    if (this.isExcluded(file.path)) return { language, skip: 'excluded', detail: 'matches an exclude glob (generated or vendored code); change `exclude` to index it' };
    if (!language) return { language: null, skip: 'unknown_language', detail: 'no parser for this file type' };
    if (file.size != null && file.size > this.maxFileBytes) return { language, skip: 'too_large', detail: tooLarge(file.size, this.maxFileBytes) };
    return { language };
  }

  /** Parses one in-memory file (no git); used by `codegraph extract`. */
  async extractBytes(path: string, content: Uint8Array): Promise<ExtractOutcome> {
    const cls = this.classify({ path, sha: '', size: content.length });
    if ('skip' in cls) return { path, sha: '', language: cls.language, status: 'skipped', reason: cls.skip, detail: cls.detail };
    return this.parse(path, '', cls.language, content);
  }

  async extractFiles(repo: GitRepo, files: readonly FileToIndex[], options: ExtractFilesOptions = {}): Promise<ExtractOutcome[]> {
    const outcomes: ExtractOutcome[] = [];
    const collect = options.collect ?? true;
    let done = 0;
    const total = files.length;
    const emit = async (o: ExtractOutcome): Promise<void> => {
      if (collect) outcomes.push(o);
      done++;
      if (options.onOutcome) await options.onOutcome(o);
      options.onProgress?.(done, total);
    };

    // Classify; group the files that need parsing by (blob, language) so a blob shared by several
    // paths or branches is read and parsed once.
    const work = new Map<string, { sha: string; language: LanguageId; paths: string[] }>();
    for (const file of files) {
      const cls = this.classify(file);
      if ('skip' in cls) {
        await emit({ path: file.path, sha: file.sha, language: cls.language, status: 'skipped', reason: cls.skip, detail: cls.detail });
        continue;
      }
      if (options.isCached?.(file.sha, cls.language)) {
        await emit({ path: file.path, sha: file.sha, language: cls.language, status: 'cached' });
        continue;
      }
      const key = `${file.sha}:${cls.language}`;
      const w = work.get(key);
      if (w) w.paths.push(file.path);
      else work.set(key, { sha: file.sha, language: cls.language, paths: [file.path] });
    }

    const items = [...work.values()];
    const maxInFlight = this.pool.threads * 4;
    const inFlight = new Set<Promise<void>>();
    const finish = async (item: (typeof items)[number], first: ExtractOutcome): Promise<void> => {
      await emit(first);
      for (const p of item.paths.slice(1)) await emit({ ...first, path: p } as ExtractOutcome);
    };
    let i = 0;
    for await (const blob of repo.readBlobs(items.map((it) => it.sha), { window: maxInFlight })) {
      const item = items[i++]!;
      const path = item.paths[0]!;
      if (blob.error) {
        await finish(item, { path, sha: item.sha, language: item.language, status: 'skipped', reason: 'read_error', detail: blob.error.message });
        continue;
      }
      const data = blob.data;
      const task = this.parse(path, item.sha, item.language, data, options.embedBodies === true)
        .then((o) => finish(item, options.keepContent && o.status === 'parsed' ? { ...o, content: data } : o));
      const tracked: Promise<void> = task.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return outcomes;
  }

  private async parse(path: string, sha: string, language: LanguageId, data: Uint8Array, embedBodies = false): Promise<ExtractOutcome> {
    if (data.length > this.maxFileBytes) return { path, sha, language, status: 'skipped', reason: 'too_large', detail: tooLarge(data.length, this.maxFileBytes) };
    const scan = data.subarray(0, NUL_SCAN_BYTES);
    if (scan.indexOf(0) !== -1) return { path, sha, language, status: 'skipped', reason: 'binary', detail: 'NUL byte in the first 8 KiB: binary file' };
    // Copy into a buffer of its own: git's reader hands out slices of shared chunks, and the copy is
    // transferred (not cloned) to the worker.
    const content = new Uint8Array(data);
    const r = await this.pool.run({ language, content, timeoutMs: this.parseTimeoutMs, ...(embedBodies ? { embedBodies } : {}) });
    if (r.ok) return { path, sha, language, status: 'parsed', result: r.result, ...(r.bodies ? { bodies: r.bodies } : {}) };
    return { path, sha, language, status: 'skipped', reason: r.reason, detail: r.detail };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function tooLarge(size: number, limit: number): string {
  return `${size} bytes is over the limit of ${limit} bytes; raise maxFileBytes (--max-file-bytes) to index it`;
}

function skipDetail(reason: 'symlink' | 'submodule' | 'unsafe_path'): string {
  switch (reason) {
    case 'symlink': return 'symbolic link: not followed';
    case 'submodule': return 'submodule (gitlink): index that repository separately';
    case 'unsafe_path': return 'path has a `..`, `.` or `.git` component: not read';
  }
}

export interface ExtractSummary {
  files: number;
  parsed: number;
  cached: number;
  lines: number;
  bytes: number;
  syntaxErrors: number;
  filesWithErrors: number;
  invalidUtf8Files: number;
  byLanguage: Record<string, { files: number; lines: number; entities: Record<string, number>; references: Record<string, number> }>;
  skipped: Record<SkipReason, number>;
  skippedFiles: Array<{ path: string; reason: SkipReason; detail: string }>;
}

/** Counts per language and kind, and skips by reason, for summaries and metrics. */
export function summarize(outcomes: readonly ExtractOutcome[]): ExtractSummary {
  const s = new Summarizer();
  for (const o of outcomes) s.add(o);
  return s.summary;
}

/** The summary built one outcome at a time, so a caller need not keep the outcomes (#9: memory). */
export class Summarizer {
  readonly summary: ExtractSummary = {
    files: 0, parsed: 0, cached: 0, lines: 0, bytes: 0, syntaxErrors: 0, filesWithErrors: 0, invalidUtf8Files: 0, byLanguage: {},
    skipped: Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>, skippedFiles: [],
  };

  add(o: ExtractOutcome): void {
    const s = this.summary;
    s.files++;
    if (o.status === 'skipped') {
      s.skipped[o.reason]++;
      s.skippedFiles.push({ path: o.path, reason: o.reason, detail: o.detail });
      return;
    }
    if (o.status === 'cached') { s.cached++; return; }
    s.parsed++;
    const r = o.result;
    s.lines += r.lines;
    s.bytes += r.bytes;
    s.syntaxErrors += r.errorCount;
    if (r.errorCount > 0) s.filesWithErrors++;
    if (r.invalidUtf8 > 0) s.invalidUtf8Files++;
    // Null-prototype maps: entity kinds include 'constructor'.
    const lang = (s.byLanguage[o.language] ??= { files: 0, lines: 0, entities: Object.create(null) as Record<string, number>, references: Object.create(null) as Record<string, number> });
    lang.files++;
    lang.lines += r.lines;
    for (const e of r.entities) lang.entities[e.kind] = (lang.entities[e.kind] ?? 0) + 1;
    for (const ref of r.references) lang.references[ref.kind] = (lang.references[ref.kind] ?? 0) + 1;
  }
}
