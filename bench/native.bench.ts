// The native tree-sitter Node addon (`tree-sitter`, node-gyp) against the web-tree-sitter wasm
// runtime the indexer uses, on the same files, one thread, to decide which one to keep.
// Grammars: the same packages in both (their linux-x64 prebuilds for native, their `.wasm` for
// web-tree-sitter), chosen by `indexer/languages` exactly as the indexer chooses them (`.tsx` gets
// the tsx grammar); queries: the project's own `tags.scm`.
//
// Figures (one JSON line each, per sample; ratios are native / wasm, so > 1 means native is faster
// or, for memory, bigger):
// - `native.parse`: parse only (tree read at its root, then freed).
// - `native.query`: parse + the project's query run the way `indexer/extract.ts` runs it (once per
//   top-level node) with every match materialised (each capture's name, node type, start/end index,
//   start row and text read). `parsePhaseRatio` and `queryPhaseRatio` split the time of the two
//   phases, `matchesCallRatio` / `materialiseRatio` split the query phase into the `query.matches()`
//   calls and the reading of their captures (speed ratios: wasm seconds / native seconds).
//   `sameResults` says both found the same matches, captures and captured text.
// Each (engine, figure, sample) runs in its own child process under /usr/bin/time, so `peakRssMb` is
// that run's own peak; `rounds` child runs per engine alternate which engine goes first, and every
// field of an engine comes from its fastest run. Files are read and decoded before the clock starts;
// grammar and query loading and a short warm-up are not timed. The timed loop yields to the event
// loop between files, as the indexer's worker does between tasks.
// Memory: `rssGrowthMb` = peak RSS - RSS just before the timed loop. `heapExternalGrowthMb`
// (heapUsed + external after a forced GC, end - start) and `peakHeapExternalMb` (sampled after each
// file, minus start) see wasm's linear memory (V8 counts it as external) but NOT the native addon's
// malloc'd trees, so compare engines by RSS. That blindness is also why native trees pile up: they
// are freed by N-API finalizers, after a GC that only JS allocations trigger and an event-loop turn.
// Wasm trees are freed by `delete()`, as the indexer does. Neither engine gets a progress callback
// (the indexer's per-file deadline).
//
// Samples: `typescript` = the `.ts`/`.tsx` files of HEAD of `big` (bench/corpus.ts, >= 500k lines);
// `python` = /usr/lib/python3.11 (a different grammar, to see whether the conclusion holds;
// `files: 0` and `missing` when absent).
//
//   npm run bench -- native
//   CODEGRAPH_BENCH_ROUNDS=1 npm run bench -- native    # child runs per engine and figure (default 2)
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type NativeParser from 'tree-sitter';
import type { Tree as WasmTree } from 'web-tree-sitter';
import { LANGUAGE_SPECS, detectLanguage, grammarPath, querySource } from '../indexer/languages/index.ts';
import type { LanguageId } from '../indexer/types.ts';
import { countLines, ensureCorpus, sourceFiles } from './corpus.ts';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const TIME = '/usr/bin/time';
const PYTHON_ROOT = '/usr/lib/python3.11';
/** Bounds the Python sample (it is a check of the TypeScript conclusion, not a second corpus). */
const MAX_PYTHON_LINES = 400_000;
/** Child runs per engine and figure; each figure keeps the fastest (`CODEGRAPH_BENCH_ROUNDS`). @default 2 */
const ROUNDS = Math.max(1, Number(process.env.CODEGRAPH_BENCH_ROUNDS ?? 2) || 1);
/** Files parsed (and queried) untimed before the clock starts: JIT and wasm tier-up. */
const WARMUP_FILES = 30;

export const name = 'native';

type Engine = 'native' | 'wasm';
type Mode = 'parse' | 'query';
const ENGINES: readonly Engine[] = ['wasm', 'native'];
const MODES: readonly Mode[] = ['parse', 'query'];

/** The native binding of each grammar: package, and the export holding the language when the
 * package ships several (tree-sitter-typescript: `typescript`, `tsx`). Same packages as the wasm. */
const NATIVE_GRAMMARS: Record<LanguageId, [pkg: string, key?: string]> = {
  typescript: ['tree-sitter-typescript', 'typescript'],
  tsx: ['tree-sitter-typescript', 'tsx'],
  javascript: ['tree-sitter-javascript'],
  python: ['tree-sitter-python'],
  rust: ['tree-sitter-rust'],
  go: ['tree-sitter-go'],
  java: ['tree-sitter-java'],
  cpp: ['tree-sitter-cpp'],
};

/** What one run saw; `checksum` folds every capture's type, offsets and text. */
interface Tally {
  parseMs: number;
  queryMs: number;
  /** The part of `queryMs` spent inside `query.matches()`; the rest reads the captures. */
  matchesCallMs: number;
  matches: number;
  captures: number;
  textChars: number;
  checksum: number;
}

interface EngineImpl {
  load(id: LanguageId): Promise<void>;
  /** Parses `source` (and runs the query when `query`), adding to `t`, and frees the tree. */
  run(id: LanguageId, source: string, query: boolean, t: Tally): void;
}

interface Capture { name: string; node: { type: string; startIndex: number; endIndex: number; startPosition: { row: number }; text: string } }

/** Reads what the extractor reads of every capture. */
function materialise(matches: Array<{ captures: Capture[] }>, t: Tally): void {
  for (const m of matches) {
    t.matches++;
    for (const c of m.captures) {
      t.captures++;
      const n = c.node;
      const text = n.text;
      t.textChars += text.length;
      t.checksum = (t.checksum * 31 + c.name.length + n.type.length + n.startIndex + n.endIndex + n.startPosition.row + text.length) % 1_000_000_007;
    }
  }
}

async function nativeEngine(): Promise<EngineImpl> {
  const Parser = require('tree-sitter') as typeof NativeParser;
  const loaded = new Map<LanguageId, { parser: NativeParser; query: NativeParser.Query }>();
  return {
    async load(id) {
      const [pkg, key] = NATIVE_GRAMMARS[id];
      const mod = require(pkg) as Record<string, NativeParser.Language> & NativeParser.Language;
      const language = key ? mod[key]! : mod;
      const parser = new Parser();
      parser.setLanguage(language);
      loaded.set(id, { parser, query: new Parser.Query(language, querySource(LANGUAGE_SPECS[id])) });
    },
    run(id, source, query, t) {
      const { parser, query: q } = loaded.get(id)!;
      const t0 = performance.now();
      // The default 32 KiB input buffer re-slices the rest of the string for every chunk: size it from
      // the input (shared CONVENTIONS.md: "size the buffer from the input").
      const tree = parser.parse(source, null, { bufferSize: source.length + 1 });
      const root = tree.rootNode;
      t.checksum = (t.checksum + root.childCount) % 1_000_000_007;
      const t1 = performance.now();
      t.parseMs += t1 - t0;
      if (!query) return;
      const cursor = tree.walk();
      if (cursor.gotoFirstChild()) {
        do {
          const m0 = performance.now();
          const found = q.matches(cursor.currentNode);
          t.matchesCallMs += performance.now() - m0;
          materialise(found, t);
        } while (cursor.gotoNextSibling());
      }
      t.queryMs += performance.now() - t1;
    },
  };
}

async function wasmEngine(): Promise<EngineImpl> {
  const { Language, Parser, Query } = await import('web-tree-sitter');
  await Parser.init();
  const loaded = new Map<LanguageId, { parser: InstanceType<typeof Parser>; query: InstanceType<typeof Query> }>();
  return {
    async load(id) {
      const spec = LANGUAGE_SPECS[id];
      const language = await Language.load(grammarPath(spec));
      const parser = new Parser();
      parser.setLanguage(language);
      loaded.set(id, { parser, query: new Query(language, querySource(spec)) });
    },
    run(id, source, query, t) {
      const { parser, query: q } = loaded.get(id)!;
      const t0 = performance.now();
      parser.reset();
      const tree: WasmTree = parser.parse(source)!;
      try {
        t.checksum = (t.checksum + tree.rootNode.childCount) % 1_000_000_007;
        const t1 = performance.now();
        t.parseMs += t1 - t0;
        if (!query) return;
        const cursor = tree.walk();
        try {
          if (cursor.gotoFirstChild()) {
            do {
              const m0 = performance.now();
              const found = q.matches(cursor.currentNode);
              t.matchesCallMs += performance.now() - m0;
              materialise(found, t);
            } while (cursor.gotoNextSibling());
          }
        } finally {
          cursor.delete();
        }
        t.queryMs += performance.now() - t1;
      } finally {
        tree.delete();
      }
    },
  };
}

interface ChildResult extends Tally {
  engine: Engine;
  version: string;
  files: number;
  lines: number;
  bytes: number;
  cpuSeconds: number;
  startRssMb: number;
  heapExternalGrowthMb: number;
  peakHeapExternalMb: number;
}

const mb = (bytes: number): number => Math.round((bytes / (1024 * 1024)) * 10) / 10;
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

function heapExternal(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** The installed version of `pkg` (web-tree-sitter's `exports` hide its package.json). */
function packageVersion(pkg: string): string {
  for (let dir = path.dirname(require.resolve(pkg)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (json.name === pkg) return json.version ?? 'unknown';
  }
  return 'unknown';
}

/** The child side: one engine, one mode, the files listed in `listFile`; prints one JSON line. */
async function child(engine: Engine, mode: Mode, listFile: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
  const decoder = new TextDecoder();
  const inputs = fs.readFileSync(listFile, 'utf8').split('\n').filter(Boolean).map((file) => {
    const bytes = fs.readFileSync(file);
    return { language: detectLanguage(file)!, source: decoder.decode(bytes), lines: countLines(bytes), bytes: bytes.length };
  });
  const impl = engine === 'native' ? await nativeEngine() : await wasmEngine();
  for (const id of new Set(inputs.map((i) => i.language))) await impl.load(id);
  const query = mode === 'query';
  const warm: Tally = { parseMs: 0, queryMs: 0, matchesCallMs: 0, matches: 0, captures: 0, textChars: 0, checksum: 0 };
  for (const i of inputs.slice(0, WARMUP_FILES)) impl.run(i.language, i.source, query, warm);

  gc();
  const start = heapExternal();
  const startRss = process.memoryUsage().rss;
  let peak = start;
  const t: Tally = { parseMs: 0, queryMs: 0, matchesCallMs: 0, matches: 0, captures: 0, textChars: 0, checksum: 0 };
  const cpu0 = process.cpuUsage();
  for (const i of inputs) {
    impl.run(i.language, i.source, query, t);
    peak = Math.max(peak, heapExternal());
    // One event-loop turn per file, as between the indexer's worker tasks: N-API finalizers (which
    // free native trees after a GC) only run then.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const cpu = process.cpuUsage(cpu0);
  gc();
  const r: ChildResult = {
    ...t,
    engine,
    version: packageVersion(engine === 'native' ? 'tree-sitter' : 'web-tree-sitter'),
    files: inputs.length,
    lines: inputs.reduce((s, i) => s + i.lines, 0),
    bytes: inputs.reduce((s, i) => s + i.bytes, 0),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
    startRssMb: mb(startRss),
    heapExternalGrowthMb: mb(heapExternal() - start),
    peakHeapExternalMb: mb(peak - start),
  };
  console.log(JSON.stringify(r));
}

interface Timed { result: ChildResult; wallSeconds: number; maxRssKb: number }

/** Runs one child under GNU time: peak RSS comes from wait4(2) of that process alone. */
async function timedChild(engine: Engine, mode: Mode, listFile: string, tmp: string): Promise<Timed> {
  const out = path.join(tmp, `time-${engine}-${mode}`);
  const { stdout } = await run(TIME, ['-f', '%e %M', '-o', out, process.execPath, ...process.execArgv, '--expose-gc', SELF, '--child', engine, mode, listFile],
    { maxBuffer: 1 << 24 });
  const [wall, rss] = fs.readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { result: JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult, wallSeconds: wall ?? NaN, maxRssKb: rss ?? NaN };
}

/** The run with the shortest timed loop: on a shared machine the others carry other processes' load. */
function fastest(runs: Timed[]): Timed {
  return runs.reduce((a, b) => (b.result.parseMs + b.result.queryMs < a.result.parseMs + a.result.queryMs ? b : a));
}

interface Sample { sample: string; files: string[]; missing?: string }

async function samples(): Promise<Sample[]> {
  const big = await ensureCorpus('big');
  const ts = sourceFiles(big.path).filter((f) => {
    const l = detectLanguage(f);
    return l === 'typescript' || l === 'tsx';
  });
  const py: string[] = [];
  if (fs.existsSync(PYTHON_ROOT)) {
    let lines = 0;
    for (const f of sourceFiles(PYTHON_ROOT)) {
      if (detectLanguage(f) !== 'python') continue;
      lines += countLines(fs.readFileSync(f));
      if (lines > MAX_PYTHON_LINES) break;
      py.push(f);
    }
  }
  return [
    { sample: 'typescript', files: ts },
    py.length > 0 ? { sample: 'python', files: py } : { sample: 'python', files: [], missing: 'apt-get install libpython3.11-stdlib' },
  ];
}

function figure(mode: Mode, sample: string, wasm: Timed, native: Timed): Record<string, unknown> {
  const w = wasm.result;
  const n = native.result;
  const speed = (r: ChildResult): number => r.lines / ((r.parseMs + r.queryMs) / 1000);
  const row: Record<string, unknown> = {
    figure: `native.${mode}`,
    sample,
    files: n.files,
    lines: n.lines,
    bytes: n.bytes,
    nativeVersion: n.version,
    wasmVersion: w.version,
    loadAverage1m: round(os.loadavg()[0] ?? 0, 2),
    nativeSeconds: round((n.parseMs + n.queryMs) / 1000, 2),
    wasmSeconds: round((w.parseMs + w.queryMs) / 1000, 2),
    // CPU seconds of the timed loop: near the seconds above when the run had a core to itself.
    nativeCpuSeconds: n.cpuSeconds,
    wasmCpuSeconds: w.cpuSeconds,
    nativeLinesPerSecond: Math.round(speed(n)),
    wasmLinesPerSecond: Math.round(speed(w)),
    linesPerSecondRatio: round(speed(n) / speed(w)),
  };
  if (mode === 'query') {
    row.parsePhaseRatio = round(w.parseMs / n.parseMs);
    row.queryPhaseRatio = round(w.queryMs / n.queryMs);
    row.matchesCallRatio = round(w.matchesCallMs / n.matchesCallMs);
    row.materialiseRatio = round((w.queryMs - w.matchesCallMs) / (n.queryMs - n.matchesCallMs));
    row.nativeQueryShare = round(n.queryMs / (n.parseMs + n.queryMs), 2);
    row.wasmQueryShare = round(w.queryMs / (w.parseMs + w.queryMs), 2);
    row.matches = n.matches;
    row.captures = n.captures;
    row.sameResults = n.matches === w.matches && n.captures === w.captures && n.textChars === w.textChars && n.checksum === w.checksum;
    if (!row.sameResults) Object.assign(row, { wasmMatches: w.matches, wasmCaptures: w.captures, nativeTextChars: n.textChars, wasmTextChars: w.textChars });
  }
  const nativePeak = native.maxRssKb / 1024;
  const wasmPeak = wasm.maxRssKb / 1024;
  Object.assign(row, {
    nativePeakRssMb: round(nativePeak, 1),
    wasmPeakRssMb: round(wasmPeak, 1),
    rssRatio: round(nativePeak / wasmPeak, 2),
    nativeRssGrowthMb: round(nativePeak - n.startRssMb, 1),
    wasmRssGrowthMb: round(wasmPeak - w.startRssMb, 1),
    rssGrowthRatio: round((nativePeak - n.startRssMb) / (wasmPeak - w.startRssMb), 2),
    nativeHeapExternalGrowthMb: n.heapExternalGrowthMb,
    wasmHeapExternalGrowthMb: w.heapExternalGrowthMb,
    nativePeakHeapExternalMb: n.peakHeapExternalMb,
    wasmPeakHeapExternalMb: w.peakHeapExternalMb,
  });
  return row;
}

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-bench-'));
  try {
    for (const s of await samples()) {
      if (s.files.length === 0) {
        rows.push({ figure: 'native.parse', sample: s.sample, files: 0, missing: s.missing });
        continue;
      }
      const list = path.join(tmp, `${s.sample}.files`);
      fs.writeFileSync(list, s.files.join('\n') + '\n');
      for (const mode of MODES) {
        const runs: Record<Engine, Timed[]> = { wasm: [], native: [] };
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate which engine goes first, so a burst of load from elsewhere hits both alike.
          for (const engine of round % 2 === 0 ? ENGINES : [...ENGINES].reverse()) {
            process.stderr.write(`[native] ${s.sample} ${mode} ${engine} round ${round + 1}/${ROUNDS} (${s.files.length} files)\n`);
            runs[engine].push(await timedChild(engine, mode, list, tmp));
          }
        }
        rows.push({ ...figure(mode, s.sample, fastest(runs.wasm), fastest(runs.native)), rounds: ROUNDS });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[2] === '--child' && process.argv[5]) {
  await child(process.argv[3] as Engine, process.argv[4] as Mode, process.argv[5]);
} else if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  for (const row of await measure()) console.log(JSON.stringify({ bench: name, ...row }));
}
