#!/usr/bin/env node
// `prepare` (run by `npm ci` and `npm install`): builds dist/ with `npm run build`. TypeScript is a
// dev dependency, so a production install builds first and prunes after:
//   npm ci && npm prune --omit=dev
// `npm ci --omit=dev` alone cannot build; it stops here with that advice instead of "tsc: not found".
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

try {
  createRequire(import.meta.url).resolve('typescript');
} catch {
  process.stderr.write('codegraph: cannot build dist/: TypeScript is not installed (a dev dependency). ' +
    'For a production install run `npm ci && npm prune --omit=dev`.\n');
  process.exit(1);
}
const r = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(r.status ?? 1);
