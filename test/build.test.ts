// The shipped build (#9): `tsc -p tsconfig.build.json` plus bin/build-assets.mjs give a dist/ that
// bin/codegraph.js runs with no TypeScript loader. The test builds into a temp install whose
// node_modules holds every dependency except tsx (so any run-time use of tsx fails), then indexes a
// real repository into the embedded store: that needs the compiled workers, the tree-sitter queries,
// the SQL migrations, all found from dist/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function run(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: { ...process.env, CODEGRAPH_DATABASE_URL: '', CODEGRAPH_FROM_SOURCE: '' }, timeout: 600_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const temps: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

after(async () => {
  await cleanupAll();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

test('the build runs without tsx: --help, and an index with workers, queries and migrations from dist/', { timeout: 900_000 }, async () => {
  const install = tempDir('cg-build-');
  const tsc = await run([path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(install, 'dist'), '--tsBuildInfoFile', path.join(install, 'dist/.tsbuildinfo')]);
  assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
  const assets = await run(['bin/build-assets.mjs', path.join(install, 'dist')]);
  assert.equal(assets.code, 0, assets.stderr);
  cpSync(path.join(ROOT, 'bin'), path.join(install, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(install, 'package.json'));
  mkdirSync(path.join(install, 'node_modules'));
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name === 'tsx' || name === '.bin') continue;
    symlinkSync(path.join(ROOT, 'node_modules', name), path.join(install, 'node_modules', name));
  }
  const bin = path.join(install, 'bin/codegraph.js');

  const help = await run([bin, '--help'], install);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: codegraph <command>/);
  assert.match(help.stdout, /\n {2}serve {6}serve the code graph/);

  const repo = await makeRepo();
  await repo.write('src/a.ts', 'export function a(): number {\n  return b();\n}\nfunction b(): number {\n  return 1;\n}\n');
  await repo.write('py/m.py', 'def f():\n    return g()\n');
  await repo.commit('one');
  const data = tempDir('cg-build-data-');
  const index = await run([bin, 'index', repo.dir, '--data', data, '--threads', '1'], install);
  assert.equal(index.code, 0, index.stderr);
  assert.match(index.stdout, /typescript: 1 files/);
  assert.match(index.stdout, /python: 1 files/);
  assert.match(index.stdout, /history store: 1 commits indexed/);

  // The dashboard and the schema are assets too.
  assert.equal(readFileSync(path.join(install, 'dist/web/index.html'), 'utf8'), readFileSync(path.join(ROOT, 'web/index.html'), 'utf8'));
  assert.ok(readFileSync(path.join(install, 'dist/schema/schema.graphql'), 'utf8').includes('type Query'));
});

test('a checkout without a build and without tsx says how to build', { timeout: 60_000 }, async () => {
  const install = tempDir('cg-nobuild-');
  cpSync(path.join(ROOT, 'bin'), path.join(install, 'bin'), { recursive: true });
  const r = await run([path.join(install, 'bin/codegraph.js'), '--help'], install);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has no build \(dist\/\); run `npm run build`/);
});
