// Runs the shipped bin (bin/codegraph.js) as a user would, for the CLI's end-to-end tests. The
// environment is the test's own, minus the two variables that would point the CLI at a database or
// data directory other than the one each test passes.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/codegraph.js', import.meta.url));

export interface CliResult { code: number; stdout: string; stderr: string }

/** `codegraph <args>`; resolves with the exit code (never rejects on a non-zero exit). */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, CODEGRAPH_DATABASE_URL: '', CODEGRAPH_DATA_DIR: '', ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Runs `script` as an ES module in a new Node process, through tsx (so it can import the
 * sources): a second process on the same store. Resolves with its exit code and output. */
export function runScript(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}
