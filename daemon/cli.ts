// The `codegraph` command line. Each subcommand lives in daemon/commands/<name>.ts and exports
// `run(argv): Promise<number>` (the exit code); its one-line summary for `--help` lives here, in
// COMMANDS, so `codegraph --help` loads no command module (serve's alone takes ~1 s to import; #9).
// Exit codes are shared by every subcommand: any error with a code gets the exit code of its row in
// errors/codes.ts (a LockError exits 6, a GitError UNKNOWN_REVISION exits 4, ...).
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { CodedError, ExitCode, exitCodeOf, isKnownCode, type ExitCodeValue } from '../errors/index.ts';

export { ExitCode };

export type CliErrorCode = 'USAGE' | 'CONFIG' | 'UNKNOWN_ENTITY' | 'AMBIGUOUS_ENTITY';

/** A command-line problem; its exit code comes from the code (errors/codes.ts). */
export class CliError<D extends Record<string, unknown> = Record<string, unknown>> extends CodedError<CliErrorCode, D> {
  override name = 'CliError';

  get exitCode(): ExitCodeValue {
    return exitCodeOf(this);
  }
}

/** Parses a positive integer flag value; a usage error (exit 2) otherwise. */
export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError('USAGE', `${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** `--data DIR` and `--database-url URL`, for the commands that open the history store. */
export const STORE_OPTIONS = { data: { type: 'string' }, 'database-url': { type: 'string' } } as const;

type CommandConfig<O extends NonNullable<ParseArgsConfig['options']>> = { args: string[]; allowPositionals: true; options: O & typeof HELP_OPTION };

/** parseArgs with positionals and `-h/--help` for a subcommand: prints `usage` and returns null
 * when help was asked for. */
export function parseCommand<const O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[], usage: string, options: O,
): ReturnType<typeof parseArgs<CommandConfig<O>>> | null {
  const parsed = parseArgs<CommandConfig<O>>({ args: argv, allowPositionals: true, options: { ...options, ...HELP_OPTION } });
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    return null;
  }
  return parsed;
}

/** Where the store lives: flag > environment > default (<repo>/.codegraph), like daemon/config.ts. */
/** Bytes of a size written `<n>kB`, `<n>MB` or `<n>GB` (PostgreSQL's units: 1024-based). */
export function sizeBytes(v: string): number {
  const m = /^([1-9][0-9]*)(kB|MB|GB)$/.exec(v);
  if (m === null) return NaN;
  return Number(m[1]) * { kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as 'kB' | 'MB' | 'GB'];
}

/** The embedded database's memory settings from the environment (the same variables as `serve`'s
 * `pgliteSharedBuffers` and `pgliteMaxMemory`), for the CLI commands that open the store. */
function pgliteEnv(): { pgliteSettings?: Record<string, string>; pgliteMaxMemoryBytes?: number } {
  const out: { pgliteSettings?: Record<string, string>; pgliteMaxMemoryBytes?: number } = {};
  const shared = process.env.CODEGRAPH_PGLITE_SHARED_BUFFERS;
  if (shared !== undefined && shared !== '') {
    if (!/^[1-9][0-9]*(kB|MB|GB)$/.test(shared)) throw new CliError('CONFIG', `CODEGRAPH_PGLITE_SHARED_BUFFERS must be a PostgreSQL size such as 32MB, got ${JSON.stringify(shared)}`);
    out.pgliteSettings = { shared_buffers: shared };
  }
  const max = process.env.CODEGRAPH_PGLITE_MAX_MEMORY;
  if (max !== undefined && max !== '') {
    const bytes = sizeBytes(max);
    if (!(bytes >= 128 * 1024 * 1024) || /kB$/.test(max)) throw new CliError('CONFIG', `CODEGRAPH_PGLITE_MAX_MEMORY must be a size of at least 128MB such as 512MB, got ${JSON.stringify(max)}`);
    out.pgliteMaxMemoryBytes = bytes;
  }
  return out;
}

export function storeLocation(repoPath: string, flags: { data?: string | undefined; 'database-url'?: string | undefined }): {
  dataDir?: string; databaseUrl?: string; attach?: boolean; pgliteSettings?: Record<string, string>; pgliteMaxMemoryBytes?: number;
} {
  const databaseUrl = flags['database-url'] ?? process.env.CODEGRAPH_DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '') return { databaseUrl };
  // attach: beside a running `codegraph serve` on this data directory, use its database through
  // its socket (one session, so still one writer) instead of failing with LOCKED (#9).
  return { dataDir: flags.data ?? process.env.CODEGRAPH_DATA_DIR ?? path.join(repoPath, '.codegraph'), attach: true, ...pgliteEnv() };
}

interface CommandModule {
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  callees: { summary: 'what an entity calls, transitively (indexes the revision on demand)', load: async () => (await import('./commands/callers.ts')).callees },
  callers: { summary: 'who calls an entity, transitively (indexes the revision on demand)', load: async () => (await import('./commands/callers.ts')).callers },
  diff: { summary: 'entity-level diff between two commits (indexes them on demand)', load: () => import('./commands/diff.ts') },
  extract: { summary: 'print the entities and references of source files', load: () => import('./commands/extract.ts') },
  history: { summary: 'commits that changed a function or class, across renames and moves', load: () => import('./commands/history.ts') },
  index: { summary: 'index a repository: extract the code graph of a commit (and its history)', load: () => import('./commands/index.ts') },
  search: { summary: 'find entities by keywords, typo-tolerant name, regex or similarity', load: () => import('./commands/search.ts') },
  serve: { summary: 'serve the code graph of repositories over GraphQL, indexing new commits live', load: () => import('./commands/serve.ts') },
};

/** Subcommand names, sorted. Add a command by adding an entry to COMMANDS. */
export function commandNames(): string[] {
  return Object.keys(COMMANDS).sort();
}

function help(): string {
  const lines = ['usage: codegraph <command> [options]', '', 'commands:'];
  for (const name of commandNames()) lines.push(`  ${name.padEnd(10)} ${COMMANDS[name]!.summary}`);
  lines.push('', 'Run `codegraph <command> --help` for the options of a command.');
  return lines.join('\n');
}

/**
 * A closed output pipe (`codegraph extract a.go --json | head -c 100`) ends the command quietly with
 * exit 0, as SIGPIPE ends a C tool, instead of Node's unhandled 'error' stack trace (#11 item 10).
 */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(ExitCode.OK);
      throw err;
    });
  }
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`codegraph: unknown command '${name}'. Run \`codegraph --help\` for the list of commands.\n`);
    return ExitCode.USAGE;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest);
  } catch (err) {
    // An expected error (its code is in errors/codes.ts) is one line for the user; anything else is
    // a bug or an environment failure, and its stack helps.
    const message = err instanceof Error ? err.message : String(err);
    const expected = err instanceof CodedError || isKnownCode(err);
    process.stderr.write(`codegraph ${name}: ${!expected && err instanceof Error && err.stack ? err.stack : message}\n`);
    return exitCodeOf(err);
  }
}
