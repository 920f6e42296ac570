// Recall of Universal Ctags' definitions found by our extractor, per language, on real third-party
// code (method and kind table: bench/recall-lib.ts). One JSON line per language.
//
//   node --import tsx bench/recall.ts [language ...]      # or as part of `npm run bench`
//
// Sources (Debian packages are installed with apt; a language whose sources are missing reports
// `files: 0` and `missing` naming the package):
//   typescript  the `big` corpus (bench/corpus.ts: effect, zod, rxjs, ... sources from npm)
//   javascript  .js files in this repository's node_modules
//   python      /usr/lib/python3.11 (python3.11-minimal, libpython3.11-stdlib)
//   rust        rust-src (/usr/lib/rustlib/src/rust/library) and librust-*-dev crates (/usr/share/cargo/registry)
//   go          golang-1.19-src (/usr/share/go-1.19/src) and golang-*-dev (/usr/share/gocode/src)
//   java        openjdk-17-source (lib/src.zip, java.base and java.desktop unpacked into bench/.cache/java-src)
//   cpp         libstdc++-12-dev headers (/usr/include/c++/12) and RocksDB's C++ sources shipped in
//               node_modules/@nxtedition/rocksdb/deps (.cc/.h)
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CACHE_DIR, ensureCorpus } from './corpus.ts';
import { RECALL_LANGUAGES, measureRecall } from './recall-lib.ts';
import type { RecallLanguage } from './recall-lib.ts';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(HERE);

/** Sample bounds per language: a couple of minutes for all seven on 2 cores. */
const MAX_FILES = 400;
const MAX_LINES = 200_000;

const JAVA_SRC_ZIPS = ['/usr/lib/jvm/openjdk-17/lib/src.zip', '/usr/lib/jvm/java-17-openjdk-amd64/lib/src.zip'];
/** The JDK modules unpacked for the Java sample. */
const JAVA_MODULES = ['java.base', 'java.desktop', 'java.net.http', 'java.sql'];

async function javaRoots(): Promise<string[]> {
  const dest = path.join(CACHE_DIR, 'java-src');
  const done = path.join(dest, '.complete');
  if (fs.existsSync(done)) return [dest];
  const zip = JAVA_SRC_ZIPS.find((z) => fs.existsSync(z));
  if (!zip) return [];
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  process.stderr.write(`[recall] unpacking ${JAVA_MODULES.join(', ')} from ${zip}\n`);
  await run('unzip', ['-q', '-o', zip, ...JAVA_MODULES.map((m) => `${m}/*`), '-d', dest], { maxBuffer: 1 << 26 });
  fs.writeFileSync(done, '');
  return [dest];
}

interface Source { roots: string[]; missing: string }

async function sources(language: RecallLanguage): Promise<Source> {
  switch (language) {
    case 'typescript': return { roots: [(await ensureCorpus('big')).path], missing: 'the big corpus (bench/corpus.ts)' };
    case 'javascript': return { roots: [path.join(REPO, 'node_modules')], missing: 'npm ci' };
    case 'python': return { roots: ['/usr/lib/python3.11'], missing: 'apt-get install libpython3.11-stdlib' };
    case 'rust': return { roots: ['/usr/lib/rustlib/src/rust/library', '/usr/share/cargo/registry'], missing: 'apt-get install rust-src' };
    case 'go': return { roots: ['/usr/share/go-1.19/src', '/usr/share/gocode/src'], missing: 'apt-get install golang-1.19-src' };
    case 'java': return { roots: await javaRoots(), missing: 'apt-get install openjdk-17-source unzip' };
    case 'cpp': return { roots: ['/usr/include/c++/12', path.join(REPO, 'node_modules/@nxtedition/rocksdb/deps')], missing: 'apt-get install libstdc++-12-dev' };
  }
}

export const name = 'recall';

export async function measure(languages: readonly RecallLanguage[] = RECALL_LANGUAGES): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const language of languages) {
    const started = performance.now();
    const src = await sources(language);
    const result = await measureRecall({ language, roots: src.roots, maxFiles: MAX_FILES, maxLines: MAX_LINES });
    const common = src.roots.length === 1 ? src.roots[0] : undefined;
    const row: Record<string, unknown> = {
      ...result,
      roots: src.roots.map((r) => path.relative(REPO, r).startsWith('..') ? r : path.relative(REPO, r)),
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    };
    if (common) row.topMisses = result.topMisses.map((m) => (m.startsWith(common) ? m.slice(common.length + 1) : m));
    if (result.files === 0) row.missing = src.missing;
    out.push(row);
    process.stderr.write(`[recall] ${language}: ${result.found}/${result.ctagsDefs} = ${result.recall}\n`);
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const asked = process.argv.slice(2);
  for (const l of asked) {
    if (!(RECALL_LANGUAGES as readonly string[]).includes(l)) throw new Error(`unknown language "${l}"; expected one of ${RECALL_LANGUAGES.join(', ')}`);
  }
  const rows = await measure(asked.length > 0 ? (asked as RecallLanguage[]) : RECALL_LANGUAGES);
  for (const r of rows) console.log(JSON.stringify(r));
}
