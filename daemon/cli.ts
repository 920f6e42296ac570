// The `codegraph` command line. Each subcommand lives in daemon/commands/<name>.ts and exports
// `run(argv): Promise<number>` (the exit code) plus a one-line `summary` for `--help`.
// Exit codes are shared by every subcommand; see ExitCode.
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

export const ExitCode = {
  OK: 0,
  /** Something failed while running (I/O, database, git). */
  FAILURE: 1,
  /** The command line itself is wrong: unknown command or flag, missing argument. */
  USAGE: 2,
  /** The repository path is not a git repository. */
  NOT_A_REPOSITORY: 3,
  /** A revision does not exist in the repository. */
  UNKNOWN_REVISION: 4,
  /** The configuration is invalid. */
  CONFIG: 5,
  /** Another process holds the data directory. */
  LOCKED: 6,
  /** The store failed its start-up integrity check (STORE_CORRUPT): delete it and index again. */
  STORE_CORRUPT: 7,
} as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'CliError';
  }
}

/** Parses a positive integer flag value; a usage error (exit 2) otherwise. */
export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`, ExitCode.USAGE);
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
export function storeLocation(repoPath: string, flags: { data?: string | undefined; 'database-url'?: string | undefined }): { dataDir?: string; databaseUrl?: string } {
  const databaseUrl = flags['database-url'] ?? process.env.CODEGRAPH_DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '') return { databaseUrl };
  return { dataDir: flags.data ?? process.env.CODEGRAPH_DATA_DIR ?? path.join(repoPath, '.codegraph') };
}

/** Maps the store's open errors to exit codes. */
export function openError(err: unknown): never {
  if ((err as { code?: unknown }).code === 'LOCKED') throw new CliError((err as Error).message, ExitCode.LOCKED);
  if ((err as { code?: unknown }).code === 'STORE_CORRUPT') throw new CliError((err as Error).message, ExitCode.STORE_CORRUPT);
  throw err;
}

interface CommandModule {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  diff: () => import('./commands/diff.ts'),
  extract: () => import('./commands/extract.ts'),
  history: () => import('./commands/history.ts'),
  index: () => import('./commands/index.ts'),
  serve: () => import('./commands/serve.ts'),
};

/** Subcommand names, sorted. Add a command by adding an entry to COMMANDS. */
export function commandNames(): string[] {
  return Object.keys(COMMANDS).sort();
}

async function help(): Promise<string> {
  const lines = ['usage: codegraph <command> [options]', '', 'commands:'];
  for (const name of commandNames()) {
    const mod = await COMMANDS[name]!();
    lines.push(`  ${name.padEnd(10)} ${mod.summary}`);
  }
  lines.push('', 'Run `codegraph <command> --help` for the options of a command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write((await help()) + '\n');
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`codegraph: unknown command '${name}'. Run \`codegraph --help\` for the list of commands.\n`);
    return ExitCode.USAGE;
  }
  try {
    const mod = await load();
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`codegraph ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      process.stderr.write(`codegraph ${name}: ${message}\n`);
      return ExitCode.USAGE;
    }
    if (code === 'NOT_A_REPOSITORY') {
      process.stderr.write(`codegraph ${name}: ${message}\n`);
      return ExitCode.NOT_A_REPOSITORY;
    }
    if (code === 'UNKNOWN_REVISION') {
      process.stderr.write(`codegraph ${name}: ${message}\n`);
      return ExitCode.UNKNOWN_REVISION;
    }
    process.stderr.write(`codegraph ${name}: ${err instanceof Error && err.stack ? err.stack : message}\n`);
    return ExitCode.FAILURE;
  }
}
