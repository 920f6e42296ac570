#!/usr/bin/env node
// The `codegraph` command. It runs the compiled build in dist/ (`npm ci` builds it through the
// `prepare` script; `npm run build` rebuilds it), so starting needs no TypeScript loader (#9).
// A checkout whose sources are newer than its build (or that has no build) runs the sources through
// tsx instead, when tsx is installed, so a developer never runs stale code; CODEGRAPH_FROM_SOURCE=1
// forces that.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The folders whose files make up the build (tsconfig.build.json `include` plus the copied assets). */
const SOURCES = ['errors', 'daemon', 'indexer', 'store', 'resolvers', 'schema', 'web', 'mcp', 'migrations'];

/** Newest modification time (ms) of any file under the source folders; a few ms for ~200 files. */
function newestSource() {
  let newest = 0;
  for (const dir of SOURCES) {
    let entries;
    try {
      entries = fs.readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isFile()) continue;
      const m = fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs;
      if (m > newest) newest = m;
    }
  }
  return newest;
}

function builtAt() {
  try {
    return fs.statSync(path.join(ROOT, 'dist', 'BUILD')).mtimeMs;
  } catch {
    return null;
  }
}

async function loadMain() {
  const built = process.env.CODEGRAPH_FROM_SOURCE === '1' ? null : builtAt();
  if (built !== null && built >= newestSource()) return (await import(pathToFileURL(path.join(ROOT, 'dist/daemon/cli.js')).href)).main;
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    const why = built === null ? 'has no build (dist/)' : 'has sources newer than its build (dist/)';
    process.stderr.write(`codegraph: this installation ${why}; run \`npm run build\` in ${ROOT}.\n`);
    process.exit(1);
  }
  register();
  return (await import(pathToFileURL(path.join(ROOT, 'daemon/cli.ts')).href)).main;
}

const main = await loadMain();
process.exitCode = await main(process.argv.slice(2));
