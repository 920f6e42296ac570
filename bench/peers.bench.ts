// CodeGraph against the tools users compare it with, on the same tree in the same run (#9). Opt-in:
// it installs two npm packages and takes minutes, so `npm run bench` alone skips it:
//
//   npm run bench -- peers
//
// Peers, installed into bench/.cache/peers (never as dependencies of this project), pinned:
// `@optave/codegraph@3.11.2 build --no-ast --no-complexity --no-dataflow --no-cfg` and
// `@colbymchenry/codegraph@1.6.1 init -y` (telemetry off: CODEGRAPH_TELEMETRY=0), both tree-sitter
// extraction into a SQLite graph; and Universal Ctags (`ctags -R`). Each tool gets its own copy of
// the tree (the npm peers write `.codegraph/` into it).
//
// Figures (one JSON line each; ratios are ours / the peer's, measured in this run):
// - `peers.index` per peer: `codegraph index <big> --data DIR` (the shipped bin, compiled build)
//   vs the peer on HEAD of `big` (bench/corpus.ts): wall and peak RSS (GNU time) and their ratios;
//   our line also has lines/s and the store's bytes per line of source. Ours and @optave (the
//   fastest) alternate CODEGRAPH_BENCH_PEER_ROUNDS times (default 3): medians, and the median of
//   the rounds' ratios with its range.
// - `peers.history`: `codegraph index <history> --history all --data DIR` over the 355 commits of
//   `history`: commits/s, against `git log -p --first-parent` (reading every diff) as the floor.
// - `peers.startup`: `codegraph --help` vs `git --version` and `node -e 0`, median of 15 runs each.
//   With CODEGRAPH_BENCH_HISTORY_REPO=<a git clone>, a second `peers.history` line measures the same
//   on that clone (all its branches; it is only read), against `git log -p --all`.
// CODEGRAPH_BENCH_PEERS=history (or index, startup; comma-separated) measures only those figures.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CACHE_DIR, ensureCorpus } from './corpus.ts';
import { treeRss } from './stats.ts';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The command as npm installs it: bin/codegraph, which starts bin/codegraph.js with glibc's malloc
 * capped at two arenas (#9). */
const BIN = path.join(ROOT, 'bin/codegraph');
const PEERS_DIR = path.join(CACHE_DIR, 'peers');
const PEERS = { optave: { pkg: '@optave/codegraph', version: '3.11.2' }, colbymchenry: { pkg: '@colbymchenry/codegraph', version: '1.6.1' } } as const;
const TIME = '/usr/bin/time';

export const name = 'peers';
/** run.ts runs this module only when it is named (`npm run bench -- peers`). */
export const optIn = true;

interface Timed { wallSeconds: number; maxRssKb: number; treePeakRssMb: number; cpuSeconds: number; stdout: string }

/** Runs a command under GNU time: wall clock, CPU, peak RSS of the process tree's largest member
 * and the largest sampled sum over the tree. */
async function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-peers-time-'));
  const out = path.join(dir, 'time');
  try {
    // time's %M is the largest single process; the tools that run helper processes (our embedded
    // database) are also measured by the sum over the process tree, sampled every 100 ms.
    const running = run(TIME, ['-f', '%e %M %U %S', '-o', out, cmd, ...args], { cwd, env, maxBuffer: 1 << 28 });
    let treePeak = 0;
    const sampler = setInterval(() => {
      if (running.child.pid !== undefined) treePeak = Math.max(treePeak, treeRss(running.child.pid));
    }, 100);
    let stdout: string;
    try {
      ({ stdout } = await running);
    } finally {
      clearInterval(sampler);
    }
    const [wall, rss, user, sys] = fs.readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { wallSeconds: wall ?? NaN, maxRssKb: rss ?? NaN, treePeakRssMb: Math.round(treePeak / 1024 / 1024), cpuSeconds: (user ?? NaN) + (sys ?? NaN), stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Installs the pinned peers into bench/.cache/peers once; returns their CLI entry files. */
async function ensurePeers(): Promise<Record<keyof typeof PEERS, string>> {
  const installed = (pkg: string): string | null => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return null;
    }
  };
  if (Object.values(PEERS).some((p) => installed(p.pkg) !== p.version)) {
    fs.mkdirSync(PEERS_DIR, { recursive: true });
    fs.writeFileSync(path.join(PEERS_DIR, 'package.json'), `${JSON.stringify({ name: 'codegraph-bench-peers', private: true })}\n`);
    process.stderr.write('[peers] npm install (bench/.cache/peers)\n');
    await run('npm', ['install', '--no-audit', '--no-fund', '--save-exact', ...Object.values(PEERS).map((p) => `${p.pkg}@${p.version}`)], { cwd: PEERS_DIR, maxBuffer: 1 << 26 });
  }
  const binOf = (pkg: string): string => {
    const dir = path.join(PEERS_DIR, 'node_modules', pkg);
    const bin = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
    return path.join(dir, Object.values(bin)[0]!);
  };
  return { optave: binOf(PEERS.optave.pkg), colbymchenry: binOf(PEERS.colbymchenry.pkg) };
}

/** A private copy of the corpus (with its .git) for one tool. */
function copyTree(from: string, tmp: string, label: string): string {
  const to = path.join(tmp, label);
  fs.cpSync(from, to, { recursive: true });
  return to;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return n;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CODEGRAPH_BENCH_PEER_ROUNDS: how many times ours and the fastest peer (@optave) each index the
 * tree, alternating (default 3); the other peers run once. On a shared 2-core machine one run
 * of either drifts by 20-30% (13.5-17.6 s for ours, 7.4-9.9 s for @optave in one session), so the
 * ratio is the median of the rounds' ratios, with their range. */
function peerRounds(): number {
  const raw = process.env.CODEGRAPH_BENCH_PEER_ROUNDS;
  if (raw === undefined || raw === '') return 3;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`CODEGRAPH_BENCH_PEER_ROUNDS: expected an integer from 1 to 20, got ${JSON.stringify(raw)}`);
  return n;
}

/** The median of each figure over several runs of one tool. */
function medianRun(runs: Timed[]): { wallSeconds: number; cpuSeconds: number; treePeakRssMb: number; maxRssKb: number } {
  return {
    wallSeconds: median(runs.map((r) => r.wallSeconds)), cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    treePeakRssMb: median(runs.map((r) => r.treePeakRssMb)), maxRssKb: median(runs.map((r) => r.maxRssKb)),
  };
}

async function indexFigures(bins: Record<keyof typeof PEERS, string>, tmp: string, emit: (row: Record<string, unknown>) => void): Promise<void> {
  const big = await ensureCorpus('big');
  const load = os.loadavg()[0] ?? 0;
  /** One timed run of a tool on its own fresh copy of the tree. */
  const once = async (label: string, dir: string, cmd: string, args: (tree: string) => string[], env?: NodeJS.ProcessEnv): Promise<Timed> => {
    process.stderr.write(`[peers] ${label}\n`);
    const tree = copyTree(big.path, tmp, dir);
    try {
      return await timed(cmd, args(tree), tree, env);
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  };
  const data = path.join(tmp, 'ours-data');
  const optaveLabel = `${PEERS.optave.pkg}@${PEERS.optave.version} build --no-ast --no-complexity --no-dataflow --no-cfg`;
  const rounds = peerRounds();
  const ours: Timed[] = [];
  const optave: Timed[] = [];
  let storeBytes = 0;
  for (let r = 0; r < rounds; r++) {
    fs.rmSync(data, { recursive: true, force: true });
    ours.push(await once('codegraph index --data', 'ours', BIN, (tree) => ['index', tree, '--data', data]));
    storeBytes = dirBytes(data);
    fs.rmSync(data, { recursive: true, force: true });
    optave.push(await once(optaveLabel, 'optave', process.execPath, (tree) => [bins.optave, 'build', tree, '--no-ast', '--no-complexity', '--no-dataflow', '--no-cfg']));
  }
  const o = medianRun(ours);
  const range = (xs: number[], digits = 2): [number, number] => [round(Math.min(...xs), digits), round(Math.max(...xs), digits)];
  emit({
    figure: 'peers.index', tool: 'codegraph index --data', corpus: 'big', lines: big.lines, files: big.files, rounds,
    wallSeconds: o.wallSeconds, wallSecondsRange: range(ours.map((t) => t.wallSeconds)), cpuSeconds: round(o.cpuSeconds, 2),
    peakRssMb: o.treePeakRssMb, peakRssMbRange: range(ours.map((t) => t.treePeakRssMb), 0), largestProcessPeakRssMb: round(o.maxRssKb / 1024, 1),
    linesPerSecond: Math.round(big.lines / o.wallSeconds), storeBytes, storeBytesPerLine: round(storeBytes / big.lines, 1),
    loadAverage1m: round(load, 2),
  });
  /** A peer's line: its median run, and ours against it (the median of paired ratios when paired). */
  const peerRow = (label: string, runs: Timed[], paired: boolean, peerLoad: number): Record<string, unknown> => {
    const p = medianRun(runs);
    const ratios = paired ? runs.map((t, i) => ours[i]!.wallSeconds / t.wallSeconds) : [o.wallSeconds / p.wallSeconds];
    return {
      figure: 'peers.index', tool: label, corpus: 'big', rounds: runs.length, wallSeconds: p.wallSeconds, cpuSeconds: round(p.cpuSeconds, 2),
      peakRssMb: p.treePeakRssMb, largestProcessPeakRssMb: round(p.maxRssKb / 1024, 1),
      wallRatio: round(median(ratios)), ...(paired ? { wallRatioRange: range(ratios, 3) } : {}),
      cpuRatio: round(o.cpuSeconds / p.cpuSeconds), rssRatio: round(o.treePeakRssMb / p.treePeakRssMb, 2), loadAverage1m: round(peerLoad, 2),
    };
  };
  emit(peerRow(optaveLabel, optave, true, os.loadavg()[0] ?? 0));
  const colbyLoad = os.loadavg()[0] ?? 0;
  const colby = await once(`${PEERS.colbymchenry.pkg}@${PEERS.colbymchenry.version} init -y`, 'colbymchenry', process.execPath,
    (tree) => [bins.colbymchenry, 'init', '-y', tree], { ...process.env, CODEGRAPH_TELEMETRY: '0' });
  emit(peerRow(`${PEERS.colbymchenry.pkg}@${PEERS.colbymchenry.version} init -y`, [colby], false, colbyLoad));
  const ctagsLoad = os.loadavg()[0] ?? 0;
  const ctags = await once('ctags -R', 'ctags', 'ctags', () => ['-R', '-o', path.join(tmp, 'tags'), '.']);
  emit(peerRow('ctags -R', [ctags], false, ctagsLoad));
}

async function historyFigure(tmp: string): Promise<Record<string, unknown>> {
  const hist = await ensureCorpus('history');
  const load = os.loadavg()[0] ?? 0;
  process.stderr.write('[peers] codegraph index --history all\n');
  const tree = copyTree(hist.path, tmp, 'history');
  const ours = await timed(BIN, ['index', tree, '--history', 'all', '--data', path.join(tmp, 'history-data')], tree);
  const git = await timed('git', ['log', '-p', '--first-parent', '--no-color', '--output=/dev/null'], tree);
  return historyRow('history', hist.commits, ours, git, load);
}

/** A `peers.history` line: our `index --history all` against a `git log -p` over the same commits. */
function historyRow(corpus: string, commits: number, ours: Timed, git: Timed, load: number): Record<string, unknown> {
  return {
    figure: 'peers.history', corpus, commits, wallSeconds: ours.wallSeconds, peakRssMb: ours.treePeakRssMb, largestProcessPeakRssMb: round(ours.maxRssKb / 1024, 1),
    commitsPerSecond: round(commits / ours.wallSeconds, 1), gitLogPatchSeconds: git.wallSeconds,
    cpuSeconds: round(ours.cpuSeconds, 2), wallRatio: round(ours.wallSeconds / Math.max(git.wallSeconds, 0.01)), loadAverage1m: round(load, 2),
  };
}

/** `peers.history` on a real clone (CODEGRAPH_BENCH_HISTORY_REPO, read only), such as a clone of
 * expressjs/express, the 6k-commit project #9 names: the npm-built corpus has 355 commits, so its
 * figure carries the process start and the store's first open (~4 s here) over few commits. */
async function repoHistoryFigure(repoPath: string, tmp: string): Promise<Record<string, unknown>> {
  const load = os.loadavg()[0] ?? 0;
  process.stderr.write(`[peers] codegraph index ${repoPath} --history all\n`);
  const ours = await timed(BIN, ['index', repoPath, '--history', 'all', '--json', '--data', path.join(tmp, 'repo-history-data')], repoPath);
  const stored = (JSON.parse(ours.stdout) as { history: { indexed: number; alreadyIndexed: number } }).history;
  const commits = stored.indexed + stored.alreadyIndexed;
  const git = await timed('git', ['log', '-p', '--all', '--no-color', '--output=/dev/null'], repoPath);
  return historyRow(path.basename(repoPath), commits, ours, git, load);
}

function startupFigure(): Record<string, unknown> {
  const wall = (cmd: string, args: string[]): number => {
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const r = spawnSync(cmd, args, { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${String(r.status)}`);
      times.push((performance.now() - t0) / 1000);
    }
    return median(times);
  };
  const ours = wall(BIN, ['--help']);
  const git = wall('git', ['--version']);
  const node = wall(process.execPath, ['-e', '0']);
  return {
    figure: 'peers.startup', command: 'codegraph --help', seconds: round(ours), gitVersionSeconds: round(git), nodeSeconds: round(node),
    ratioToGit: round(ours / git, 1), ratioToNode: round(ours / node, 2),
  };
}

/** CODEGRAPH_BENCH_PEERS=startup,index,history: the figures to measure (all by default), so one
 * figure can be re-measured alone on a shared machine. */
function wantedFigures(): Set<string> {
  const all = ['startup', 'index', 'history'];
  const raw = process.env.CODEGRAPH_BENCH_PEERS;
  if (raw === undefined || raw === '') return new Set(all);
  const asked = raw.split(',').map((x) => x.trim());
  const bad = asked.filter((x) => !all.includes(x));
  if (bad.length > 0) throw new Error(`CODEGRAPH_BENCH_PEERS: unknown figure ${bad.join(', ')}; use a comma-separated list of ${all.join(', ')}`);
  return new Set(asked);
}

export async function measure(emit: (row: Record<string, unknown>) => void = () => {}): Promise<Array<Record<string, unknown>>> {
  const wanted = wantedFigures();
  // Corpora first: building `history` (minutes) must not run between two timed tools.
  await ensureCorpus('big');
  await ensureCorpus('history');
  // The bin runs the compiled build; build it so the figures are those of what `npm ci` ships.
  process.stderr.write('[peers] npm run build\n');
  await run('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 1 << 26 });
  const bins = await ensurePeers();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-peers-'));
  // Each figure is printed as soon as it is measured: a run stopped midway (the machine is shared,
  // the whole bench takes many minutes) keeps what it measured.
  try {
    if (wanted.has('startup')) emit(startupFigure());
    if (wanted.has('index')) await indexFigures(bins, tmp, emit);
    if (wanted.has('history')) {
      emit(await historyFigure(tmp));
      const repo = process.env.CODEGRAPH_BENCH_HISTORY_REPO;
      if (repo) emit(await repoHistoryFigure(path.resolve(repo), tmp));
    }
    return [];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
