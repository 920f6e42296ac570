// `codegraph index <repo> [--rev REV] [--data DIR]`: extract every file of the tree at REV and
// print counts per language and kind, and skipped files by reason.
import { GitRepo } from '../../indexer/git/index.ts';
import { Indexer, Summarizer } from '../../indexer/index.ts';
import type { ExtractSummary } from '../../indexer/index.ts';
import { CliError, ExitCode, STORE_OPTIONS, parseCommand, positiveInt, storeLocation } from '../cli.ts';
import { ExtractionWriter, indexHistory, openHistoryStore } from '../history.ts';
import { DEFAULT_HOT_TIPS, type HistoryStore } from '../../store/index.ts';
import type { Db } from '../../store/db.ts';
import { progress } from '../progress.ts';


const USAGE = `usage: codegraph index <repo> [--rev REV] [--json] [--threads N] [--max-file-bytes N] [--parse-timeout MS] [--exclude GLOB]...

  --rev REV            commit to index (default HEAD)
  --json               print the summary as JSON
  --threads N          worker threads (default: number of cores)
  --max-file-bytes N   skip files larger than N bytes (default 2097152)
  --parse-timeout MS   per-file parse budget (default 10000)
  --exclude GLOB       skip paths matching GLOB (repeatable; replaces the default vendored/generated globs)
  --history N|all      also store the last N commits of every branch (or all) in the history store
                       (default 200 when a store is given by a flag or the environment)
  --data DIR           history store directory (env CODEGRAPH_DATA_DIR; default .codegraph/ in the repository)
  --database-url URL   PostgreSQL history store instead of the embedded one (env CODEGRAPH_DATABASE_URL)`;

/** Trees up to this many bytes of blobs are parsed while the store opens (see run). */
const OVERLAP_OPEN_MAX_TREE_BYTES = 16 * 1024 * 1024;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, {
    rev: { type: 'string', default: 'HEAD' },
    json: { type: 'boolean', default: false },
    threads: { type: 'string' },
    'max-file-bytes': { type: 'string' },
    'parse-timeout': { type: 'string' },
    exclude: { type: 'string', multiple: true },
    history: { type: 'string' },
    ...STORE_OPTIONS,
  });
  if (parsed === null) return ExitCode.OK;
  const { values, positionals } = parsed;
  const [repoPath, ...extra] = positionals;
  if (repoPath === undefined || extra.length > 0) throw new CliError('USAGE', `expected exactly one repository path.\n${USAGE}`);

  // The store is used when asked for by a flag or, like diff and history, by CODEGRAPH_DATA_DIR /
  // CODEGRAPH_DATABASE_URL; flags are validated before anything runs.
  const wantsStore = values.history !== undefined || values.data !== undefined || values['database-url'] !== undefined
    || Boolean(process.env.CODEGRAPH_DATA_DIR) || Boolean(process.env.CODEGRAPH_DATABASE_URL);
  const history = values.history === undefined ? 200 : values.history === 'all' ? 'all' as const : positiveInt(values.history, '--history');
  const repo = await GitRepo.open(repoPath);
  let indexer: Indexer | null = null;
  let opening: Promise<{ db: Db; store: HistoryStore }> | null = null;
  try {
    const sha = await repo.resolveCommit(values.rev);
    const started = Date.now();
    const files = await repo.lsTree(sha);
    // Take the data directory's lock before parsing anything: a locked directory exits 6 at once
    // (LockError) instead of after extracting the whole tree (#8 item 10). For a small tree the
    // database then starts (about a second) while the tree is parsed, and the first writes wait
    // for it (#9: --history runs). A large tree is parsed only once the database has started:
    // starting it beside the parser threads took the peak of indexing a 709k-line tree from
    // 559-578 to 609-655 MB, for 0.2-0.6 s.
    if (wantsStore) {
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      opening = openHistoryStore({ ...storeLocation(repo.path, values), onLocked: locked });
      const treeBytes = files.reduce((n, f) => n + (f.size ?? 0), 0);
      // Attached to a running daemon's store, or on a server, there is no lock: the open is quick.
      if (treeBytes > OVERLAP_OPEN_MAX_TREE_BYTES) await opening;
      else await Promise.race([lockTaken, opening]);
    }
    indexer = new Indexer({
      ...(values.threads !== undefined ? { threads: positiveInt(values.threads, '--threads') } : {}),
      ...(values['max-file-bytes'] !== undefined ? { maxFileBytes: positiveInt(values['max-file-bytes'], '--max-file-bytes') } : {}),
      ...(values['parse-timeout'] !== undefined ? { parseTimeoutMs: positiveInt(values['parse-timeout'], '--parse-timeout') } : {}),
      ...(values.exclude !== undefined ? { exclude: values.exclude } : {}),
    });
    const bar = progress();
    // With a store, the tree's extractions are written while the workers parse (ExtractionWriter),
    // so the history run below finds REV's blobs cached instead of parsing them a second time (#9).
    const writer = opening ? new ExtractionWriter(opening.then((o) => o.store)) : null;
    // Outcomes are summarised and written as they come, not kept: a whole tree's extractions held
    // to the end made up much of this command's peak memory (#9).
    const summarizer = new Summarizer();
    await indexer.extractFiles(repo, files, {
      collect: false,
      onProgress: (d, t) => bar.update(d, t),
      onOutcome: (o) => {
        summarizer.add(o);
        return writer?.add(o);
      },
      ...(writer ? { embedBodies: true } : {}),
    });
    await writer?.flush();
    const opened = await opening;
    bar.finish();
    const s = summarizer.summary;
    let stored: { indexed: number; alreadyIndexed: number } | null = null;
    if (opened !== null) {
      const hbar = progress();
      const r = await indexHistory({ repo, store: opened.store, indexer, history, refreshTips: DEFAULT_HOT_TIPS, onProgress: (p) => hbar.update(p.done, p.total) });
      hbar.finish();
      stored = { indexed: r.indexed.length, alreadyIndexed: r.alreadyIndexed };
    }
    const seconds = (Date.now() - started) / 1000;
    if (values.json) {
      process.stdout.write(JSON.stringify({ repository: repo.path, commit: sha, seconds, ...s, ...(stored ? { history: stored } : {}) }) + '\n');
    } else {
      process.stdout.write(renderSummary(repo.path, sha, s, seconds));
      if (stored) process.stdout.write(`  history store: ${stored.indexed} commits indexed, ${stored.alreadyIndexed} already stored\n`);
    }
    return ExitCode.OK;
  } finally {
    // Opened or failing, the store is settled before the process exits.
    await (await opening?.catch(() => null))?.db.close();
    await indexer?.close();
    await repo.close();
  }
}

export function renderSummary(repoPath: string, sha: string, s: ExtractSummary, seconds: number): string {
  const out = [`indexed ${repoPath} at ${sha.slice(0, 12)}: ${s.files} files, ${s.parsed} parsed, ${s.cached} cached, ${s.lines} lines in ${seconds.toFixed(1)} s`];
  for (const [lang, l] of Object.entries(s.byLanguage).sort()) {
    const ents = Object.entries(l.entities).sort().map(([k, n]) => `${k} ${n}`).join(', ');
    const refs = Object.entries(l.references).sort().map(([k, n]) => `${k} ${n}`).join(', ');
    out.push(`  ${lang}: ${l.files} files, ${l.lines} lines`, `    entities: ${ents}`, `    references: ${refs || 'none'}`);
  }
  if (s.syntaxErrors > 0) out.push(`  syntax errors: ${s.syntaxErrors} in ${s.filesWithErrors} files (still indexed)`);
  if (s.invalidUtf8Files > 0) out.push(`  invalid UTF-8: ${s.invalidUtf8Files} files (decoded with U+FFFD, still indexed)`);
  const skips = Object.entries(s.skipped).filter(([, n]) => n > 0);
  if (skips.length > 0) {
    out.push(`  skipped: ${skips.map(([r, n]) => `${r} ${n}`).join(', ')}`);
    for (const f of s.skippedFiles.filter((x) => x.reason !== 'unknown_language').slice(0, 20)) out.push(`    ${f.path}: ${f.reason}: ${f.detail}`);
    const more = s.skippedFiles.filter((x) => x.reason !== 'unknown_language').length - 20;
    if (more > 0) out.push(`    ... and ${more} more (--json lists all)`);
  }
  return out.join('\n') + '\n';
}
