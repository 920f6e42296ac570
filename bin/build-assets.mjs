#!/usr/bin/env node
// Second step of `npm run build` (after `tsc -p tsconfig.build.json`): copies the files the runtime
// reads beside its modules (tree-sitter queries, SQL migrations, the GraphQL schema, the dashboard)
// into dist/ at the same relative paths, so code that finds them with `new URL(..., import.meta.url)`
// works unchanged from the sources and from the build.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The build directory: dist/, or the first argument (test/build.test.ts builds into a temp dir). */
const DIST = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));

/** [folder, file-name test]: every matching file under the folder is copied. */
const ASSETS = [
  ['indexer/languages', (f) => f.endsWith('.scm')],
  ['migrations', (f) => f.endsWith('.sql')],
  ['schema', (f) => f.endsWith('.graphql')],
  ['web', (f) => !f.endsWith('.ts')],
];

let copied = 0;
for (const [dir, wanted] of ASSETS) {
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !wanted(entry.name)) continue;
    const from = path.join(entry.parentPath ?? entry.path, entry.name);
    const to = path.join(DIST, path.relative(ROOT, from));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    copied++;
  }
}
// The build's own marker: bin/codegraph.js compares its time with the sources' to detect a stale build.
fs.writeFileSync(path.join(DIST, 'BUILD'), `${new Date().toISOString()}\n`);
console.log(`build: ${copied} asset files copied to dist/`);
