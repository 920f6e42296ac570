// Indexing speed against Universal Ctags on the same tree in the same run (ratios, because absolute
// times on shared machines drift). Corpus: HEAD of `big` (bench/corpus.ts, >= 500k lines of TypeScript).
//
// Figures (one JSON line each):
// - `index.full`: `Indexer.extractFiles` over every file of HEAD (worker pool, `threads` = all cores,
//   entities AND references), in a child process, against `ctags -R` over the checked-out tree.
//   Both run under /usr/bin/time: `wallRatio` = our wall / ctags' wall (process start to exit, so
//   our Node start-up counts), `rssRatio` = our peak RSS / ctags' peak RSS (the pool's worker
//   threads live in our process, so their heaps count). `innerSeconds` is our time from
//   `GitRepo.open` to `Indexer.close`.
// - `index.extract`: `extract()` alone, in this process, one thread, files already in memory, against
//   `ctags -L <same files>` (which also reads them from disk): `linesPerSecondRatio` = ours / ctags'.
// - `index.floor`: what tree-sitter itself costs on the same files, one thread: parse only, and parse
//   + the tags.scm query with every match read (no entity building). `parseOnlyWallRatio2` and
//   `parseQueryWallRatio2` are those seconds split perfectly over 2 threads, over ctags' wall time:
//   the best `index.full` wallRatio a 2-core machine could reach with this parser and query.
//
//   npm run bench -- index
//   CODEGRAPH_BENCH_THREADS=1 npm run bench -- index    # pool size (default: all cores)
//
// maxFileBytes is raised so both tools process the very same files (the default 2 MiB limit would
// skip a 3 MB generated file ctags does read); skips are reported anyway.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Language, Parser, Query } from 'web-tree-sitter';
import { extract } from '../indexer/extract.ts';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { LANGUAGE_SPECS, detectLanguage, grammarPath, querySource } from '../indexer/languages/index.ts';
import type { LanguageId } from '../indexer/types.ts';
import { ensureCorpus, sourceFiles } from './corpus.ts';

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
const CTAGS = '/usr/bin/ctags';
const TIME = '/usr/bin/time';
/** Large enough for every file of the corpus. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export const name = 'index';

interface Timed { stdout: string; wallSeconds: number; maxRssKb: number; cpuSeconds: number }

/** Runs a command under GNU time; wall clock and peak RSS come from wait4(2) of the process. */
async function timed(cmd: string, args: string[], cwd: string): Promise<Timed> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-'));
  const out = path.join(dir, 'time');
  try {
    const { stdout } = await run(TIME, ['-f', '%e %M %U %S', '-o', out, cmd, ...args], { cwd, maxBuffer: 1 << 28 });
    const [wall, rss, user, sys] = fs.readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { stdout, wallSeconds: wall ?? NaN, maxRssKb: rss ?? NaN, cpuSeconds: (user ?? NaN) + (sys ?? NaN) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Counts ctags' JSON tags and their kinds. */
function countTags(file: string): { tags: number } {
  let tags = 0;
  const text = fs.readFileSync(file, 'utf8');
  for (let i = text.indexOf('"_type": "tag"'); i !== -1; i = text.indexOf('"_type": "tag"', i + 1)) tags++;
  return { tags };
}

interface ChildResult {
  innerSeconds: number;
  threads: number;
  files: number;
  parsed: number;
  skipped: Record<string, number>;
  lines: number;
  bytes: number;
  entities: number;
  references: number;
}

/** The child side of `index.full`: index HEAD of the repository at `repoPath`, print one JSON line. */
async function child(repoPath: string): Promise<void> {
  const started = performance.now();
  const repo = await GitRepo.open(repoPath);
  const threads = process.env.CODEGRAPH_BENCH_THREADS ? Number(process.env.CODEGRAPH_BENCH_THREADS) : undefined;
  const ix = new Indexer(threads === undefined ? { maxFileBytes: MAX_FILE_BYTES } : { maxFileBytes: MAX_FILE_BYTES, threads });
  const head = await repo.resolveCommit('HEAD');
  const tree = await repo.lsTree(head);
  const outcomes = await ix.extractFiles(repo, tree);
  await ix.close();
  await repo.close();
  const innerSeconds = (performance.now() - started) / 1000;
  const r: ChildResult = { innerSeconds, threads: ix.threads, files: outcomes.length, parsed: 0, skipped: {}, lines: 0, bytes: 0, entities: 0, references: 0 };
  for (const o of outcomes) {
    if (o.status === 'parsed') {
      r.parsed++;
      r.lines += o.result.lines;
      r.bytes += o.result.bytes;
      r.entities += o.result.entities.length;
      r.references += o.result.references.length;
    } else if (o.status === 'skipped') {
      r.skipped[o.reason] = (r.skipped[o.reason] ?? 0) + 1;
    }
  }
  console.log(JSON.stringify(r));
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

async function full(corpusPath: string, lines: number): Promise<Record<string, unknown>> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-'));
  try {
    const tagsFile = path.join(tmp, 'tags.json');
    const load = os.loadavg()[0] ?? 0;
    process.stderr.write('[index] ctags -R\n');
    const ctags = await timed(CTAGS, ['-R', '--output-format=json', '--fields=+nKlz', '-o', tagsFile, '.'], corpusPath);
    const ctagsTags = countTags(tagsFile).tags;
    process.stderr.write(`[index] ctags: ${ctags.wallSeconds} s, ${ctags.maxRssKb} KB; CodeGraph Indexer\n`);
    // Run from this checkout, not the corpus: `--import tsx` resolves from the working directory,
    // and a corpus outside it (CODEGRAPH_BENCH_CACHE) has no node_modules.
    const ours = await timed(process.execPath, [...process.execArgv, SELF, '--child', corpusPath], path.dirname(path.dirname(SELF)));
    const r = JSON.parse(ours.stdout.trim().split('\n').pop()!) as ChildResult;
    process.stderr.write(`[index] ours: ${ours.wallSeconds} s, ${ours.maxRssKb} KB\n`);
    return {
      figure: 'index.full',
      corpus: 'big',
      corpusLines: lines,
      threads: r.threads,
      cores: os.availableParallelism(),
      files: r.files,
      parsed: r.parsed,
      skipped: r.skipped,
      lines: r.lines,
      entities: r.entities,
      references: r.references,
      wallSeconds: ours.wallSeconds,
      innerSeconds: round(r.innerSeconds, 2),
      cpuSeconds: round(ours.cpuSeconds, 2),
      // CPU seconds per wall second: near `threads` on an idle machine. On a shared machine other
      // processes take cores from our pool but not from single-threaded ctags; read wallRatio with it.
      parallelism: round(ours.cpuSeconds / ours.wallSeconds, 2),
      loadAverage1m: round(load, 2),
      ctagsCpuSeconds: round(ctags.cpuSeconds, 2),
      ctagsWallSeconds: ctags.wallSeconds,
      wallRatio: round(ours.wallSeconds / ctags.wallSeconds),
      cpuRatio: round(ours.cpuSeconds / ctags.cpuSeconds),
      linesPerSecond: Math.round(r.lines / ours.wallSeconds),
      ctagsLinesPerSecond: Math.round(lines / ctags.wallSeconds),
      peakRssMb: round(ours.maxRssKb / 1024, 1),
      ctagsPeakRssMb: round(ctags.maxRssKb / 1024, 1),
      rssRatio: round(ours.maxRssKb / ctags.maxRssKb, 2),
      ctagsTags,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}


async function extractOnly(corpusPath: string): Promise<Record<string, unknown>> {
  const files = sourceFiles(corpusPath);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-'));
  try {
    const list = path.join(tmp, 'files');
    fs.writeFileSync(list, files.join('\n') + '\n');
    process.stderr.write(`[index] ctags -L (${files.length} files)\n`);
    const ctags = await timed(CTAGS, ['-L', list, '--output-format=json', '--fields=+nKlz', '-o', path.join(tmp, 'tags.json')], corpusPath);

    const contents = files.map((f) => ({ file: f, language: detectLanguage(f)!, bytes: fs.readFileSync(f) }));
    // Warm-up: grammar and query loading is a one-time cost per worker, not per file.
    for (const l of new Set(contents.map((c) => c.language))) await extract(l, new Uint8Array(0));
    process.stderr.write('[index] extract() in-process, one thread\n');
    let lines = 0;
    let entities = 0;
    let references = 0;
    let failed = 0;
    const perFile: Array<{ file: string; seconds: number }> = [];
    const started = performance.now();
    for (const c of contents) {
      const t0 = performance.now();
      try {
        const r = await extract(c.language, c.bytes, { timeoutMs: 60_000 });
        perFile.push({ file: path.relative(corpusPath, c.file), seconds: (performance.now() - t0) / 1000 });
        lines += r.lines;
        entities += r.entities.length;
        references += r.references.length;
      } catch {
        failed++;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const totalLines = contents.reduce((s, c) => {
      let n = 0;
      for (let i = 0; i < c.bytes.length; i++) if (c.bytes[i] === 10) n++;
      return s + n;
    }, 0);
    const ours = lines / seconds;
    const theirs = totalLines / ctags.wallSeconds;
    return {
      figure: 'index.extract',
      corpus: 'big',
      files: files.length,
      failed,
      lines,
      entities,
      references,
      seconds: round(seconds, 2),
      ctagsSeconds: ctags.wallSeconds,
      linesPerSecond: Math.round(ours),
      ctagsLinesPerSecond: Math.round(theirs),
      linesPerSecondRatio: round(ours / theirs),
      // The few files that dominate: with N workers, one file of S seconds bounds the pool's wall time.
      slowest: perFile.sort((a, b) => b.seconds - a.seconds).slice(0, 3).map((f) => `${f.file} ${round(f.seconds, 2)}s`),
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** tree-sitter alone over the files `extractOnly` timed: parse, then parse + query (matches read). */
async function floor(corpusPath: string, ctagsSeconds: number): Promise<Record<string, unknown>> {
  const files = sourceFiles(corpusPath).map((f) => ({ language: detectLanguage(f)!, text: fs.readFileSync(f, 'utf8') }));
  await Parser.init();
  const loaded = new Map<LanguageId, { parser: Parser; query: Query }>();
  for (const id of new Set(files.map((f) => f.language))) {
    const language = await Language.load(grammarPath(LANGUAGE_SPECS[id]));
    const parser = new Parser();
    parser.setLanguage(language);
    loaded.set(id, { parser, query: new Query(language, querySource(LANGUAGE_SPECS[id])) });
  }
  let parseMs = 0;
  let queryMs = 0;
  let captures = 0;
  for (const f of files) {
    const { parser, query } = loaded.get(f.language)!;
    const t0 = performance.now();
    parser.reset();
    const tree = parser.parse(f.text)!;
    const t1 = performance.now();
    // Per top-level node, as extract() runs it.
    const cursor = tree.walk();
    if (cursor.gotoFirstChild()) {
      do {
        for (const m of query.matches(cursor.currentNode)) for (const c of m.captures) captures += c.node.endIndex > c.node.startIndex ? 1 : 0;
      } while (cursor.gotoNextSibling());
    }
    cursor.delete();
    const t2 = performance.now();
    tree.delete();
    parseMs += t1 - t0;
    queryMs += t2 - t1;
  }
  const cores = 2;
  return {
    figure: 'index.floor',
    corpus: 'big',
    files: files.length,
    captures,
    parseSeconds: round(parseMs / 1000, 2),
    querySeconds: round(queryMs / 1000, 2),
    ctagsSeconds,
    parseOnlyWallRatio2: round(parseMs / 1000 / cores / ctagsSeconds),
    parseQueryWallRatio2: round((parseMs + queryMs) / 1000 / cores / ctagsSeconds),
  };
}

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const corpus = await ensureCorpus('big');
  const f = await full(corpus.path, corpus.lines);
  const x = await extractOnly(corpus.path);
  const fl = await floor(corpus.path, f.ctagsWallSeconds as number);
  // How much the worker pool gains over one in-process thread on the same lines (ideal: `threads`).
  f.poolSpeedup = round(((f.lines as number) / (f.innerSeconds as number)) / ((x.lines as number) / (x.seconds as number)), 2);
  return [f, x, fl];
}

if (process.argv[2] === '--child' && process.argv[3]) {
  await child(process.argv[3]);
} else if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  for (const row of await measure()) console.log(JSON.stringify({ bench: name, ...row }));
}
