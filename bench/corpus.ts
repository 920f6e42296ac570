// Real test corpora for the benchmarks, built from published npm packages only (the npm registry is
// the one host benchmarks may reach) and cached under bench/.cache/ (gitignored).
//
//   const { path, commits, lines } = await ensureCorpus('history');
//
// - `history`: one git commit per published version of @tanstack/query-core 5.x (alpha, beta, rc and
//   stable releases, 355 versions), each commit holding that version's shipped `src/` tree and
//   `package.json`. Successive releases of a real project give real churn: files added, renamed,
//   rewritten, entities moving between files.
// - `big`: one commit whose tree holds the `src/` folders of several large TypeScript packages,
//   one sub-folder per package, over 500k lines of TypeScript in all.
//
// Determinism: package versions are pinned (`big`) or selected by a semver range plus a registry
// publish-time cutoff (`history`), so later publications cannot change the corpus; commits use a
// fixed identity, fixed messages and dates taken from the registry, so the commit ids are the same on
// every machine (the manifest records HEAD). Tarballs come through npm's own client (`npm pack`), which
// verifies each against the registry's integrity hash.
//
// Commit order and dates: the registry's `time` map for these packages (as served to this project)
// does not follow semver order, e.g. 5.25.0 is stamped after 5.56.2, so commits follow semver
// order. The author date is the registry's publish time of the version; the committer date is that
// time clamped to be strictly increasing along the history, so date-ordered walks equal topological
// ones.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gitEnv as isolatedGitEnv } from '../indexer/git/exec.ts';
import { detectLanguage } from '../indexer/languages/index.ts';

const run = promisify(execFile);

export type CorpusName = 'history' | 'big';
export const CORPUS_NAMES: readonly CorpusName[] = ['history', 'big'];

export interface Corpus {
  name: CorpusName;
  /** Working tree of a non-bare git repository; HEAD is checked out on branch `main`. */
  path: string;
  /** Number of commits on `main`. */
  commits: number;
  /** Lines of source at HEAD, over the files `detectLanguage` recognises. */
  lines: number;
  /** Source files at HEAD recognised by `detectLanguage`. */
  files: number;
  /** Lines per language at HEAD. */
  linesByLanguage: Record<string, number>;
  /** HEAD commit id, identical on every machine that builds the corpus. */
  head: string;
  /** The package versions the corpus holds, in commit order. */
  packages: Array<{ name: string; version: string }>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Cache root. @default bench/.cache */
export const CACHE_DIR = process.env.CODEGRAPH_BENCH_CACHE ?? path.join(HERE, '.cache');
const TARBALLS = path.join(CACHE_DIR, 'tarballs');
const CORPORA = path.join(CACHE_DIR, 'corpora');

/** Bump when a corpus definition changes, so cached corpora are rebuilt. */
const CORPUS_FORMAT = 1;

/** `big`: pinned latest releases (as of this file) of packages that ship their TypeScript sources. */
const BIG_PACKAGES: ReadonlyArray<{ name: string; version: string }> = [
  { name: 'effect', version: '4.1.0' },
  { name: 'zod', version: '4.6.7' },
  { name: '@reduxjs/toolkit', version: '2.14.0' },
  { name: '@effect/platform', version: '0.97.2' },
  { name: 'rxjs', version: '7.8.2' },
  { name: '@trpc/server', version: '11.25.2' },
  { name: '@tanstack/query-core', version: '5.108.0' },
];

/** `history`: all versions of one package in a semver range, published no later than the cutoff. */
const HISTORY = {
  name: '@tanstack/query-core',
  major: 5,
  /** Highest version included: the newest release when the corpus was defined. */
  maxVersion: '5.108.0',
  /** Registry publish-time cutoff (ISO); versions stamped later are ignored. */
  cutoff: '2026-11-17T13:45:29Z',
} as const;

const IDENTITY = { name: 'CodeGraph Bench', email: 'bench@codegraph.invalid' } as const;

function log(msg: string): void {
  process.stderr.write(`[corpus] ${msg}\n`);
}

function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...isolatedGitEnv(),
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: IDENTITY.name,
    GIT_AUTHOR_EMAIL: IDENTITY.email,
    GIT_COMMITTER_NAME: IDENTITY.name,
    GIT_COMMITTER_EMAIL: IDENTITY.email,
    ...extra,
  };
}

async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env: gitEnv(env), maxBuffer: 1 << 28 });
  return stdout;
}

// ---------------------------------------------------------------------------------------------
// Versions

interface SemVer { major: number; minor: number; patch: number; pre: Array<string | number> }

export function parseSemver(v: string): SemVer | null {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$/.exec(v);
  if (!m) return null;
  const pre = m[4] ? m[4].split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [];
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre };
}

/** semver 2.0 precedence (build metadata ignored). */
export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.major !== y.major) return x.major - y.major;
  if (x.minor !== y.minor) return x.minor - y.minor;
  if (x.patch !== y.patch) return x.patch - y.patch;
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p - q;
    if (typeof p === 'number') return -1;
    if (typeof q === 'number') return 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

async function npmJson(args: string[]): Promise<unknown> {
  const { stdout } = await run('npm', [...args, '--json'], { maxBuffer: 1 << 28 });
  return JSON.parse(stdout) as unknown;
}

/** Publish times of all versions of a package, from the registry (through the npm client). */
async function publishTimes(pkg: string): Promise<Record<string, string>> {
  const cached = path.join(TARBALLS, `${tarballBase(pkg)}.time.json`);
  if (fs.existsSync(cached)) return JSON.parse(fs.readFileSync(cached, 'utf8')) as Record<string, string>;
  const times = await npmJson(['view', pkg, 'time']) as Record<string, string>;
  fs.mkdirSync(TARBALLS, { recursive: true });
  fs.writeFileSync(cached, JSON.stringify(times));
  return times;
}

// ---------------------------------------------------------------------------------------------
// Tarballs

/** npm pack's file name: `@scope/name` -> `scope-name`. */
function tarballBase(pkg: string): string {
  return pkg.replace(/^@/, '').replace(/\//g, '-');
}

export function tarballPath(pkg: string, version: string): string {
  return path.join(TARBALLS, `${tarballBase(pkg)}-${version}.tgz`);
}

/** Downloads the tarballs that are not cached yet, several specs per `npm pack` call. */
export async function fetchTarballs(specs: ReadonlyArray<{ name: string; version: string }>): Promise<void> {
  fs.mkdirSync(TARBALLS, { recursive: true });
  const missing = specs.filter((s) => !fs.existsSync(tarballPath(s.name, s.version)));
  if (missing.length === 0) return;
  log(`downloading ${missing.length} tarballs with npm pack`);
  const batches: Array<typeof missing> = [];
  for (let i = 0; i < missing.length; i += 25) batches.push(missing.slice(i, i + 25));
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      // A scratch destination per batch, renamed into place once complete: an interrupted run never
      // leaves a truncated tarball in the cache.
      const tmp = fs.mkdtempSync(path.join(TARBALLS, '.tmp-'));
      try {
        await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', tmp, ...batch.map((s) => `${s.name}@${s.version}`)], { maxBuffer: 1 << 26 });
        for (const s of batch) {
          const name = path.basename(tarballPath(s.name, s.version));
          fs.renameSync(path.join(tmp, name), tarballPath(s.name, s.version));
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      done += batch.length;
      log(`  ${done}/${missing.length} tarballs`);
    }
  };
  await Promise.all([worker(), worker()]);
}

/** Extracts `package/src/**` and `package/package.json` of a tarball into `dest`. */
async function extractSources(tgz: string, dest: string): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(CACHE_DIR, '.x-'));
  try {
    await run('tar', ['xzf', tgz, '-C', tmp, '--no-same-owner', '--no-same-permissions']);
    const root = path.join(tmp, 'package');
    if (!fs.existsSync(path.join(root, 'src'))) throw new Error(`${tgz} has no package/src folder; pick another version or package in bench/corpus.ts`);
    fs.mkdirSync(dest, { recursive: true });
    fs.cpSync(path.join(root, 'src'), path.join(dest, 'src'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(dest, 'package.json'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Building

/** Every file under `root` (no .git) that CodeGraph parses, sorted. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(full);
      else if (e.isFile() && detectLanguage(full)) out.push(full);
    }
  }
  return out.sort();
}

export function countSources(root: string): { files: number; lines: number; byLanguage: Record<string, number> } {
  let lines = 0;
  const byLanguage: Record<string, number> = {};
  const files = sourceFiles(root);
  for (const full of files) {
    const lang = detectLanguage(full)!;
    const n = countLines(fs.readFileSync(full));
    lines += n;
    byLanguage[lang] = (byLanguage[lang] ?? 0) + n;
  }
  return { files: files.length, lines, byLanguage };
}

/** Lines as editors count them: newlines, plus one for a last line without a newline. */
export function countLines(buf: Uint8Array): number {
  if (buf.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
  return buf[buf.length - 1] === 10 ? n : n + 1;
}

function clearWorkTree(repo: string): void {
  for (const e of fs.readdirSync(repo)) if (e !== '.git') fs.rmSync(path.join(repo, e), { recursive: true, force: true });
}

/** Strictly increasing committer dates (git's resolution is one second). */
function monotonic(dates: string[]): string[] {
  let prev = 0;
  return dates.map((d) => {
    const t = Math.max(Math.floor(Date.parse(d) / 1000), prev + 1);
    prev = t;
    return `${t} +0000`;
  });
}

export async function initRepo(dir: string): Promise<void> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['config', 'core.autocrlf', 'false']);
  await git(dir, ['config', 'gc.auto', '0']);
}

export async function commitAll(dir: string, message: string, authorDate: string, committerDate: string): Promise<void> {
  await git(dir, ['add', '-A', '.']);
  await git(dir, ['commit', '-q', '--allow-empty', '--no-verify', '-m', message], {
    GIT_AUTHOR_DATE: `${Math.floor(Date.parse(authorDate) / 1000)} +0000`,
    GIT_COMMITTER_DATE: committerDate,
  });
}

async function historyVersions(): Promise<Array<{ name: string; version: string; time: string }>> {
  const times = await publishTimes(HISTORY.name);
  const cutoff = Date.parse(HISTORY.cutoff);
  return Object.keys(times)
    .filter((v) => {
      const s = parseSemver(v);
      return s !== null && s.major === HISTORY.major && compareSemver(v, HISTORY.maxVersion) <= 0 && Date.parse(times[v]!) <= cutoff;
    })
    .sort(compareSemver)
    .map((version) => ({ name: HISTORY.name, version, time: times[version]! }));
}

async function buildHistory(dir: string): Promise<Array<{ name: string; version: string }>> {
  const versions = await historyVersions();
  await fetchTarballs(versions);
  await initRepo(dir);
  const committerDates = monotonic(versions.map((v) => v.time));
  for (let i = 0; i < versions.length; i++) {
    const v = versions[i]!;
    clearWorkTree(dir);
    await extractSources(tarballPath(v.name, v.version), dir);
    await commitAll(dir, `${v.name}@${v.version}`, v.time, committerDates[i]!);
    if ((i + 1) % 25 === 0 || i + 1 === versions.length) log(`  history: ${i + 1}/${versions.length} commits`);
  }
  return versions.map(({ name, version }) => ({ name, version }));
}

async function buildBig(dir: string): Promise<Array<{ name: string; version: string }>> {
  await fetchTarballs(BIG_PACKAGES);
  await initRepo(dir);
  let latest = '';
  for (const p of BIG_PACKAGES) {
    await extractSources(tarballPath(p.name, p.version), path.join(dir, tarballBase(p.name)));
    const t = (await publishTimes(p.name))[p.version] ?? '';
    if (t > latest) latest = t;
  }
  const message = `Sources of ${BIG_PACKAGES.map((p) => `${p.name}@${p.version}`).join(', ')}`;
  await commitAll(dir, message, latest, monotonic([latest])[0]!);
  return [...BIG_PACKAGES];
}

const building = new Map<CorpusName, Promise<Corpus>>();

/** Builds the corpus on first use (a few minutes, downloads through npm) and returns it from the cache
 * afterwards. Progress goes to stderr. */
export function ensureCorpus(name: CorpusName): Promise<Corpus> {
  let p = building.get(name);
  if (!p) {
    p = ensureCorpusUncached(name);
    building.set(name, p);
  }
  return p;
}

async function ensureCorpusUncached(name: CorpusName): Promise<Corpus> {
  if (!CORPUS_NAMES.includes(name)) throw new Error(`unknown corpus "${name}"; expected one of ${CORPUS_NAMES.join(', ')}`);
  const dir = path.join(CORPORA, name);
  const manifestPath = path.join(CORPORA, `${name}.json`);
  if (fs.existsSync(manifestPath)) {
    const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Corpus & { format: number };
    if (m.format === CORPUS_FORMAT && fs.existsSync(path.join(dir, '.git'))) {
      const head = (await git(dir, ['rev-parse', 'HEAD']).catch(() => '')).trim();
      if (head === m.head) return { ...m, path: dir };
    }
    log(`${name}: cached corpus is stale or incomplete, rebuilding`);
  }
  const started = Date.now();
  log(`${name}: building in ${dir}`);
  fs.mkdirSync(CORPORA, { recursive: true });
  fs.rmSync(manifestPath, { force: true });
  const packages = name === 'history' ? await buildHistory(dir) : await buildBig(dir);
  const head = (await git(dir, ['rev-parse', 'HEAD'])).trim();
  const commits = Number((await git(dir, ['rev-list', '--count', 'HEAD'])).trim());
  const count = countSources(dir);
  await git(dir, ['gc', '-q']);
  const corpus: Corpus = { name, path: dir, commits, lines: count.lines, files: count.files, linesByLanguage: count.byLanguage, head, packages };
  // Written last: its presence marks a complete build.
  fs.writeFileSync(manifestPath, JSON.stringify({ format: CORPUS_FORMAT, ...corpus }, null, 1));
  log(`${name}: ${commits} commits, ${count.files} files, ${count.lines} lines at HEAD ${head} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return corpus;
}

// `node --import tsx bench/corpus.ts [history|big ...]` builds the named corpora (all by default) and
// prints their manifests.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = (process.argv.length > 2 ? process.argv.slice(2) : [...CORPUS_NAMES]) as CorpusName[];
  for (const n of names) {
    const c = await ensureCorpus(n);
    const { packages, ...rest } = c;
    console.log(JSON.stringify({ ...rest, packages: packages.length, first: packages[0], last: packages[packages.length - 1] }));
  }
}
