// The `codegraph` command line. Each subcommand lives in daemon/commands/<name>.ts and exports
// `run(argv): Promise<number>` (the exit code) plus a one-line `summary` for `--help`.
// Exit codes are shared by every subcommand; see ExitCode.

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
