// `codegraph serve <repo...>`: index the repositories' history, watch their refs, and serve the code
// graph over GraphQL (HTTP, SSE, WebSocket). Runs until SIGTERM/SIGINT, then shuts down gracefully
// (the commit being indexed finishes or rolls back; it is one transaction) and exits 0.
import { pino, type Logger } from 'pino';
import { ExitCode } from '../cli.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { notifyReady, notifyStopping, startWatchdog } from '../server/sdnotify.ts';
import { startService, type Service } from '../service.ts';


const USAGE = `usage: codegraph serve <repo...> [--host H] [--port N] [--data DIR] [--database-url URL] [--config FILE] [--history N]
                       [--backfill N] [--threads N] [--max-file-bytes N] [--exclude GLOB]... [--poll-interval-ms MS]

  --host H             address to listen on (default 127.0.0.1; anything else needs auth)
  --port N             TCP port, 0 = any free one (default 4000)
  --data DIR           embedded store directory (default .codegraph/ in the first repository)
  --database-url URL   PostgreSQL (with pgvector) instead of the embedded store; several
                       instances may share one: one indexes each repository, all serve
  --config FILE        TOML config file (flags > CODEGRAPH_* environment > file > defaults)
  --history N          commits indexed per branch (default 200): HEAD's before the daemon is ready,
                       the other branches' (local and remote-tracking) in the background after it
  --backfill N         then, in the background, the first-parent history of HEAD down to N commits
                       (default 10000; 0 = off)`;

/**
 * The daemon's log on stderr: JSON lines (one object per line, for journald, log shippers and
 * scripts), or, on a terminal, readable lines (`07:41:02 INFO: ref moved {...}`) through
 * pino-pretty in this thread (no transport worker). `CODEGRAPH_LOG_FORMAT` = `json` | `pretty`
 * overrides the choice.
 */
export async function makeLogger(format: string | undefined, level: string): Promise<Logger> {
  if (format !== undefined && format !== 'json' && format !== 'pretty') {
    throw new ConfigError([`CODEGRAPH_LOG_FORMAT (environment): must be json or pretty, got '${format}'`]);
  }
  if ((format ?? (process.stderr.isTTY ? 'pretty' : 'json')) === 'json') return pino({ level }, pino.destination(2));
  const { default: pretty } = await import('pino-pretty');
  return pino({ level }, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', singleLine: true }));
}

/** Our positionals and `--data` become loadConfig's `--repo` and `--data-dir`. */
export function toConfigArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      for (const p of argv.slice(i + 1)) out.push('--repo', p);
      break;
    }
    if (a === '--data') {
      if (i + 1 < argv.length) out.push(`--data-dir=${argv[++i]!}`);
      else out.push('--data-dir');
    } else if (a.startsWith('--data=')) out.push(`--data-dir=${a.slice('--data='.length)}`);
    else if (!a.startsWith('-')) out.push('--repo', a);
    else {
      out.push(a);
      // Flags with a separate value: copy the value as is (it may not start with '-').
      if (!a.includes('=') && i + 1 < argv.length) out.push(argv[++i]!);
    }
  }
  return out;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return ExitCode.OK;
  }
  const config = loadConfig({ argv: toConfigArgv(argv) });
  const logger = await makeLogger(process.env.CODEGRAPH_LOG_FORMAT, process.env.CODEGRAPH_LOG_LEVEL ?? 'info');
  let stopWatchdog = () => undefined as void;
  // Set once startService resolves; the readiness callback may run before that.
  let service: Service | undefined = undefined;
  // A LockError (another process holds the data directory) exits 6 through errors/codes.ts.
  const s = await startService({
    config, logger,
    onInitialIndexDone: () => {
      logger.info('initial index done; ready');
      void notifyReady('serving');
      stopWatchdog = startWatchdog(() => service?.ready().catch(() => false) ?? false);
    },
  });
  service = s;
  // Machine-readable first line on stdout: tests and scripts read the URL from it.
  process.stdout.write(JSON.stringify({ url: s.server.url, port: s.server.port }) + '\n');
  await new Promise<void>((resolve) => {
    let stopping = false;
    // The handlers stay installed: a second signal during shutdown must not kill the process
    // half-way (the commit in flight finishes or rolls back either way, but the exit code would lie).
    const stop = (signal: string) => {
      logger.info({ signal }, stopping ? 'already shutting down' : 'shutting down');
      stopping = true;
      resolve();
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  void notifyStopping();
  stopWatchdog();
  await s.close();
  logger.info('stopped');
  logger.flush();
  return ExitCode.OK;
}
