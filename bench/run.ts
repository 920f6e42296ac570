// `npm run bench [-- name ...]`: runs every bench module (bench/*.bench.ts, in file-name order, or
// only the named ones) and prints one JSON line per figure on stdout; progress goes to stderr.
// The module convention is in bench/README.md.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchModule {
  /** Short name, the `bench` field of each figure unless the figure sets its own. */
  name: string;
  /** Runs the measurement; each element becomes one JSON line. A long bench may also pass figures
   * to `emit` as it measures them: they are printed at once, so a run stopped midway keeps them. */
  measure(emit?: (row: Record<string, unknown>) => void): Promise<Array<Record<string, unknown>>>;
  /** Run only when named on the command line (e.g. `peers`: installs packages, takes minutes). */
  optIn?: boolean;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.ts';

function isBenchModule(m: unknown): m is BenchModule {
  const x = m as Partial<BenchModule> | null;
  return x !== null && typeof x === 'object' && typeof x.name === 'string' && typeof x.measure === 'function';
}

const wanted = process.argv.slice(2);
const files = fs.readdirSync(HERE).filter((f) => f.endsWith(SUFFIX)).sort();
const unknown = wanted.filter((w) => !files.includes(`${w}${SUFFIX}`));
if (unknown.length > 0) {
  process.stderr.write(`unknown bench ${unknown.join(', ')}; available: ${files.map((f) => f.slice(0, -SUFFIX.length)).join(', ')}\n`);
  process.exit(2);
}

let failed = false;
for (const file of files) {
  const short = file.slice(0, -SUFFIX.length);
  if (wanted.length > 0 && !wanted.includes(short)) continue;
  // Opt-in modules say so in their source (`export const optIn = true`); checked before importing.
  if (wanted.length === 0 && /^export const optIn = true;$/m.test(fs.readFileSync(path.join(HERE, file), 'utf8'))) {
    process.stderr.write(`[bench] ${short}: opt-in, skipped (run \`npm run bench -- ${short}\`)\n`);
    continue;
  }
  const started = performance.now();
  process.stderr.write(`[bench] ${short}\n`);
  try {
    // A module without `measure` is a script that prints its own lines when imported.
    const mod: unknown = await import(pathToFileURL(path.join(HERE, file)).href);
    if (isBenchModule(mod)) {
      const print = (row: Record<string, unknown>): void => console.log(JSON.stringify({ bench: mod.name, ...row }));
      for (const row of await mod.measure(print)) print(row);
    }
  } catch (err) {
    failed = true;
    const e = err as Error;
    console.log(JSON.stringify({ bench: short, error: e.message }));
    process.stderr.write(`${e.stack ?? e.message}\n`);
  }
  process.stderr.write(`[bench] ${short} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
process.exitCode = failed ? 1 : 0;
