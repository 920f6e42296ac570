// `codegraph serve` configuration: one place that reads and validates it.
// Precedence (lowest first): defaults < TOML file (`--config`) < CODEGRAPH_* environment < CLI flags.
// Every problem is reported at start with the setting's name and where the bad value came from.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { CliError, sizeBytes } from './cli.ts';
import { DEFAULT_EXCLUDES } from '../indexer/index.ts';

const hex64 = /^[0-9a-f]{64}$/;

const repoSchema = z.object({
  /** Path to the repository (working tree, bare repository or worktree). Relative to the config file. */
  path: z.string({ error: 'must be a path string' }).min(1, 'must not be empty'),
  /** Name used in GraphQL. @default the directory name without `.git` */
  name: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1 to 100 characters of A-Z a-z 0-9 . _ -').optional(),
  /** Git remote to `git fetch` when `POST /hooks/git` is called. @default none (webhooks do not fetch this repo) */
  remote: z.string().regex(/^[A-Za-z0-9._/-]{1,100}$/, 'must be a configured git remote name such as origin').optional(),
}).strict();

const tokenSchema = z.object({
  /** Label for logs and metrics. */
  name: z.string().min(1, 'must not be empty'),
  /** sha256 of the token, lowercase hex: `printf %s "$TOKEN" | sha256sum`. */
  sha256: z.string().regex(hex64, 'must be 64 lowercase hex characters: the sha256 of the token (printf %s "$TOKEN" | sha256sum), never the token itself'),
  /** `read`: queries and subscriptions; `metrics`: /metrics only. @default ["read"] */
  scopes: z.array(z.enum(['read', 'metrics'])).default(['read']),
}).strict();

const jwtSchema = z.object({
  /** HS256 shared secret (at least 32 bytes). */
  secret: z.string().min(32, 'must be at least 32 characters (HS256 needs 256 bits of key)').optional(),
  /** PEM file with an SPKI public key (RS256/ES256/EdDSA). Relative to the config file. */
  publicKeyFile: z.string().min(1).optional(),
  /** JWKS JSON file. Relative to the config file. */
  jwksFile: z.string().min(1).optional(),
  /** Required `iss`. @default not checked */
  issuer: z.string().optional(),
  /** Required `aud`. @default not checked */
  audience: z.string().optional(),
  /** Scope (in `scope` or `scp`) that grants read access. @default "codegraph:read" */
  readScope: z.string().default('codegraph:read'),
}).strict().refine((j) => [j.secret, j.publicKeyFile, j.jwksFile].filter((x) => x !== undefined).length === 1, {
  message: 'set exactly one of auth.jwt.secret, auth.jwt.publicKeyFile, auth.jwt.jwksFile',
});

const limitsSchema = z.object({
  /** Deepest field nesting in an operation (introspection fields excluded). @default 12 */
  maxDepth: z.int().min(1).max(100).default(12),
  /** Estimated cost: each field 1, multiplied by `first` / `depth` of enclosing lists. @default 20_000 */
  maxCost: z.int().min(1).default(20_000),
  /** Aliases per operation document. @default 15 */
  maxAliases: z.int().min(0).default(15),
  /** Lexical tokens per document. @default 1_000 */
  maxTokens: z.int().min(10).default(1_000),
  /** HTTP request body size; over it: 413. @default 1_048_576 */
  maxBodyBytes: z.int().min(1024).default(1_048_576),
  /** WebSocket message size (ws defaults to 100 MiB). @default 1_048_576 */
  wsMaxPayloadBytes: z.int().min(1024).default(1_048_576),
  /** Token bucket refill per client (token or IP), requests per second. @default 20 */
  ratePerSecond: z.number().positive().default(20),
  /** Token bucket size. @default 60 */
  rateBurst: z.int().min(1).default(60),
  /** graphql-ws: close with 4408 when `connection_init` has not arrived by then. @default 3_000 */
  wsInitTimeoutMs: z.int().min(100).default(3_000),
  /** Subscriptions per WebSocket connection. @default 50 */
  maxSubscriptionsPerSocket: z.int().min(1).default(50),
  /** Graceful shutdown waits this long for in-flight requests. @default 10_000 */
  shutdownTimeoutMs: z.int().min(0).default(10_000),
  /** Deadline of one query operation; over it the work is cancelled (database statements too) and
   * the error has `extensions.code` DEADLINE_EXCEEDED. Subscriptions are not limited. @default 10_000 */
  requestTimeoutMs: z.int({ error: 'must be an integer number of milliseconds' })
    .min(100, 'must be at least 100 ms').max(600_000, 'must be at most 600000 ms (10 minutes)').default(10_000),
  /** Most entities one `callers`, `callees` or `impacted` field returns; beyond it the walk stops,
   * nearest first, and the field says `truncated: true`. @default 1_000 */
  maxResults: z.int({ error: 'must be a positive integer' }).min(1, 'must be a positive integer').max(100_000, 'must be at most 100000').default(1_000),
  /** Commits one GraphQL operation may index on demand when it names a commit outside the indexed
   * window (each is stored like `codegraph diff` does); 0 turns on-demand indexing off. Over it:
   * `extensions.code` NOT_INDEXED. @default 2 */
  onDemandCommits: z.int({ error: 'must be an integer from 0 to 100' }).min(0, 'must be an integer from 0 to 100').max(100, 'must be an integer from 0 to 100').default(2),
}).strict();

/** The embedding provider of VECTOR and HYBRID search (store/embedders/README.md). Another provider
 * than `builtin` embeds every stored body in the background; until it is done, searches use the
 * built-in vectors. Config file only (`[embedder]`). @default { provider = "builtin" } */
const embedderSchema = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('builtin') }).strict(),
  z.object({
    provider: z.literal('onnx'),
    /** Path of the .onnx model file. */
    model: z.string().min(1),
    /** Path of the model's tokenizer.json. */
    tokenizer: z.string().min(1),
    dims: z.int().min(1),
    maxTokens: z.int().min(2).optional(),
    batchSize: z.int().min(1).optional(),
    threads: z.int().min(1).optional(),
  }).strict(),
  z.object({
    provider: z.literal('http'),
    baseUrl: z.string().min(1),
    model: z.string().min(1),
    dims: z.int().min(1),
    apiKey: z.string().min(1).optional(),
    batchSize: z.int().min(1).optional(),
    timeoutMs: z.int().min(1).optional(),
    retries: z.int().min(0).optional(),
  }).strict(),
]);

const NO_REPOS = 'list at least one repository: [[repos]] path = "..." in the config file, CODEGRAPH_REPOS or --repo';

const configSchema = z.object({
  repos: z.array(repoSchema, { error: NO_REPOS }).min(1, NO_REPOS),
  /** Address to listen on. Anything but loopback requires auth. @default "127.0.0.1" */
  host: z.string().min(1).default('127.0.0.1'),
  /** TCP port; 0 picks a free one. @default 4000 */
  port: z.int({ error: 'must be an integer from 0 to 65535' }).min(0, 'must be an integer from 0 to 65535').max(65535, 'must be an integer from 0 to 65535').default(4000),
  /** Where indexes live. @default `$STATE_DIRECTORY` under systemd, else `.codegraph/` inside the first repository */
  dataDir: z.string().min(1).optional(),
  /** PostgreSQL URL for the history store. @default none (embedded store in dataDir) */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  /** Commits of history indexed per ref at start. @default 200 */
  history: z.int({ error: 'must be a positive integer' }).min(1, 'must be a positive integer').default(200),
  /** After the initial index, the first-parent history of HEAD is filled in behind it, in the
   * background, down to this many commits from HEAD, so function histories reach where an entity
   * was really added; 0 turns it off. @default 10_000 */
  backfill: z.int({ error: 'must be a non-negative integer' }).min(0, 'must be a non-negative integer').default(10_000),
  /** Parser worker threads. @default os.availableParallelism() (the indexer's default) */
  threads: z.int({ error: 'must be a positive integer' }).min(1, 'must be a positive integer').max(256).optional(),
  /** Idle parser worker threads exit after this many ms; 0 keeps them. @default PoolOptions.idleTimeoutMs (indexer/pool.ts) */
  workerIdleMs: z.int({ error: 'must be a non-negative integer (ms)' }).min(0, 'must be a non-negative integer (ms)').optional(),
  /** PostgreSQL `shared_buffers` of the embedded database (held in memory for the daemon's life).
   * @default PGLITE_SETTINGS.shared_buffers (store/db.ts) */
  pgliteSharedBuffers: z.string().regex(/^[1-9][0-9]*(kB|MB|GB)$/, 'must be a PostgreSQL size such as 32MB').optional(),
  /** Cap on the embedded database's WASM heap, which grows and never shrinks (at the cap a statement
   * needing more fails with `out of memory`). At least 128MB. @default none (PGlite's own 2GB) */
  pgliteMaxMemory: z.string().regex(/^[1-9][0-9]*(MB|GB)$/, 'must be a size such as 512MB')
    .refine((v) => !(sizeBytes(v) < 128 * 1024 * 1024), 'must be at least 128MB (PGlite\'s initial heap)').optional(),
  /** The embedded database's process stops after this many ms without work, giving all its memory
   * back, and starts again on the next query (about a second); 0 keeps it running. @default 60_000 */
  pgliteIdleStopMs: z.int({ error: 'must be a non-negative integer (ms)' }).min(0, 'must be a non-negative integer (ms)').default(60_000),
  /** Distinct tip commits per repository whose graph and vectors are held in the hot working set
   * (HEAD, then local branches, then remote-tracking branches, newest first); queries at other refs
   * are answered by the history store. Each tip costs memory. @default 16 */
  hotTips: z.int({ error: 'must be an integer from 1 to 1000' }).min(1, 'must be an integer from 1 to 1000').max(1000, 'must be an integer from 1 to 1000').default(16), // = DEFAULT_HOT_TIPS (store/hot), which config may not import
  /** Files larger than this are skipped (and counted as `too_large`). @default 2_097_152 */
  maxFileBytes: z.int({ error: 'must be a positive integer (bytes)' }).min(1, 'must be a positive integer (bytes)').default(2_097_152),
  /** Globs of paths not parsed (counted as `excluded`); setting it replaces the defaults.
   * @default DEFAULT_EXCLUDES from indexer/indexer.ts (node_modules/, vendor/, third_party/, dist/, build/, *.min.js, ...) */
  exclude: z.array(z.string().min(1)).default([...DEFAULT_EXCLUDES]),
  /** Ref polling interval, in addition to file-system events. @default 2_000 */
  pollIntervalMs: z.int({ error: 'must be an integer number of milliseconds' }).min(100, 'must be at least 100 ms').default(2_000),
  /** Shared secret for `POST /hooks/git` (GitHub `X-Hub-Signature-256` or bearer). @default none (webhook disabled) */
  webhookSecret: z.string().min(16, 'must be at least 16 characters').optional(),
  auth: z.object({
    tokens: z.array(tokenSchema).default([]),
    jwt: jwtSchema.optional(),
  }).strict().default({ tokens: [] }),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
  embedder: embedderSchema.default({ provider: 'builtin' }),
}).strict();

export type Config = z.infer<typeof configSchema> & { dataDir: string; repos: Array<z.infer<typeof repoSchema> & { name: string }> };
export type ConfigInput = z.input<typeof configSchema>;

export class ConfigError extends CliError<{ problems: string[] }> {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super('CONFIG', `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
}

/** Is `host` a loopback address or `localhost`? */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

export function authConfigured(config: Pick<Config, 'auth'>): boolean {
  return config.auth.tokens.length > 0 || config.auth.jwt !== undefined;
}

const ENV: Record<string, { key: string; kind: 'string' | 'int' | 'list' | 'paths' }> = {
  CODEGRAPH_HOST: { key: 'host', kind: 'string' },
  CODEGRAPH_PORT: { key: 'port', kind: 'int' },
  CODEGRAPH_DATA_DIR: { key: 'dataDir', kind: 'string' },
  CODEGRAPH_DATABASE_URL: { key: 'databaseUrl', kind: 'string' },
  CODEGRAPH_HISTORY: { key: 'history', kind: 'int' },
  CODEGRAPH_BACKFILL: { key: 'backfill', kind: 'int' },
  CODEGRAPH_THREADS: { key: 'threads', kind: 'int' },
  CODEGRAPH_MAX_FILE_BYTES: { key: 'maxFileBytes', kind: 'int' },
  CODEGRAPH_WORKER_IDLE_MS: { key: 'workerIdleMs', kind: 'int' },
  CODEGRAPH_HOT_TIPS: { key: 'hotTips', kind: 'int' },
  CODEGRAPH_PGLITE_SHARED_BUFFERS: { key: 'pgliteSharedBuffers', kind: 'string' },
  CODEGRAPH_PGLITE_MAX_MEMORY: { key: 'pgliteMaxMemory', kind: 'string' },
  CODEGRAPH_PGLITE_IDLE_STOP_MS: { key: 'pgliteIdleStopMs', kind: 'int' },
  CODEGRAPH_EXCLUDE: { key: 'exclude', kind: 'list' },
  CODEGRAPH_POLL_INTERVAL_MS: { key: 'pollIntervalMs', kind: 'int' },
  CODEGRAPH_WEBHOOK_SECRET: { key: 'webhookSecret', kind: 'string' },
  CODEGRAPH_REPOS: { key: 'repos', kind: 'paths' },
  CODEGRAPH_AUTH_TOKEN_SHA256: { key: 'auth.tokens', kind: 'list' },
  CODEGRAPH_JWT_SECRET: { key: 'auth.jwt.secret', kind: 'string' },
  CODEGRAPH_REQUEST_TIMEOUT_MS: { key: 'limits.requestTimeoutMs', kind: 'int' },
};

/** Integers from text stay text when malformed, so the schema reports the value as given. */
function toInt(v: string): number | string {
  return /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let obj = target;
  for (const p of parts.slice(0, -1)) {
    const next = obj[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) obj[p] = {};
    obj = obj[p] as Record<string, unknown>;
  }
  obj[parts[parts.length - 1]!] = value;
}

const serveOptions = {
  config: { type: 'string' },
  repo: { type: 'string', multiple: true },
  host: { type: 'string' },
  port: { type: 'string' },
  data: { type: 'string' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  history: { type: 'string' },
  backfill: { type: 'string' },
  threads: { type: 'string' },
  'max-file-bytes': { type: 'string' },
  exclude: { type: 'string', multiple: true },
  'poll-interval-ms': { type: 'string' },
} as const;

const FLAG_KEYS: Record<string, { key: string; kind: 'string' | 'int' | 'list' | 'paths' }> = {
  repo: { key: 'repos', kind: 'paths' },
  host: { key: 'host', kind: 'string' },
  port: { key: 'port', kind: 'int' },
  data: { key: 'dataDir', kind: 'string' },
  'data-dir': { key: 'dataDir', kind: 'string' },
  'database-url': { key: 'databaseUrl', kind: 'string' },
  history: { key: 'history', kind: 'int' },
  backfill: { key: 'backfill', kind: 'int' },
  threads: { key: 'threads', kind: 'int' },
  'max-file-bytes': { key: 'maxFileBytes', kind: 'int' },
  exclude: { key: 'exclude', kind: 'list' },
  'poll-interval-ms': { key: 'pollIntervalMs', kind: 'int' },
};

export interface LoadConfigOptions {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Reads `--config FILE` (TOML), the CODEGRAPH_* environment and the flags in `argv`, merges them
 * (flags win), validates, and fills defaults. Throws ConfigError listing every problem.
 */
export function loadConfig(opts: LoadConfigOptions): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const { values } = parseArgs({ args: opts.argv, options: serveOptions, strict: true, allowPositionals: false });
  const raw: Record<string, unknown> = {};
  /** Where each top-level-or-nested key's value came from, for messages. */
  const source = new Map<string, string>();
  const problems: string[] = [];
  let baseDir = cwd;

  if (values.config !== undefined) {
    const file = path.resolve(cwd, values.config);
    baseDir = path.dirname(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`cannot read config file ${file}: ${(err as Error).message}. Check the --config path.`]);
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError([`${file} is not valid TOML: ${(err as Error).message.split('\n')[0]}`]);
    }
    for (const [k, v] of Object.entries(parsed)) {
      raw[k] = v;
      source.set(k, path.basename(file));
    }
    if (Array.isArray(raw.repos)) {
      raw.repos = (raw.repos as unknown[]).map((r) =>
        r && typeof r === 'object' && typeof (r as { path?: unknown }).path === 'string'
          ? { ...(r as object), path: path.resolve(baseDir, (r as { path: string }).path) }
          : r);
    }
    // Key files, like repository paths, are relative to the config file (not the daemon's cwd).
    const jwt = (raw.auth as { jwt?: Record<string, unknown> } | undefined)?.jwt;
    if (jwt && typeof jwt === 'object') {
      for (const k of ['publicKeyFile', 'jwksFile']) if (typeof jwt[k] === 'string' && jwt[k] !== '') jwt[k] = path.resolve(baseDir, jwt[k]);
    }
  }

  const apply = (key: string, kind: string, value: string | string[], label: string) => {
    let v: unknown;
    const arr = Array.isArray(value) ? value : [value];
    switch (kind) {
      case 'int': v = toInt(arr[arr.length - 1]!); break;
      case 'list': v = arr.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean); break;
      case 'paths': v = arr.flatMap((x) => (Array.isArray(value) ? [x] : x.split(path.delimiter))).filter(Boolean).map((p) => ({ path: path.resolve(cwd, p) })); break;
      default: v = arr[arr.length - 1];
    }
    if (key === 'auth.tokens') v = (v as string[]).map((h, i) => ({ name: `env-${i + 1}`, sha256: h }));
    setPath(raw, key, v);
    source.set(key.split('.')[0]!, label);
    source.set(key, label);
  };
  for (const [name, spec] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') apply(spec.key, spec.kind, v, name);
  }
  for (const [flag, spec] of Object.entries(FLAG_KEYS)) {
    const v = (values as Record<string, string | string[] | undefined>)[flag];
    if (v !== undefined) apply(spec.key, spec.kind, v, `--${flag}`);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const keyPath = issue.path.map(String).join('.');
      const from = source.get(keyPath) ?? source.get(issue.path.slice(0, 2).map(String).join('.')) ?? source.get(String(issue.path[0] ?? '')) ?? 'config';
      const where = keyPath === '' ? '' : `${keyPath}: `;
      problems.push(`${where}${issue.message} (from ${from})`);
    }
    throw new ConfigError(problems);
  }
  const c = result.data;
  const names = new Set<string>();
  const repos = c.repos.map((r) => ({ ...r, name: r.name ?? path.basename(r.path).replace(/\.git$/, '') }));
  for (const r of repos) {
    if (names.has(r.name)) problems.push(`repos: two repositories are named '${r.name}'; give one of them a distinct name = "..." (from ${source.get('repos') ?? 'config'})`);
    names.add(r.name);
  }
  if (!isLoopback(c.host) && !authConfigured(c)) {
    problems.push(
      `host: refusing to listen on ${c.host} without authentication. Configure [[auth.tokens]] or [auth.jwt] ` +
      `(or CODEGRAPH_AUTH_TOKEN_SHA256 / CODEGRAPH_JWT_SECRET), or bind to 127.0.0.1 (from ${source.get('host') ?? 'config'})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const stateDir = env.STATE_DIRECTORY?.split(':')[0];
  const dataDirFrom = source.get('dataDir') ?? '';
  // Relative paths: from the config file's directory when set there, else from the working directory.
  const dataBase = dataDirFrom.startsWith('--') || dataDirFrom.startsWith('CODEGRAPH_') ? cwd : baseDir;
  const dataDir = c.dataDir !== undefined ? path.resolve(dataBase, c.dataDir) : stateDir ? stateDir : path.join(repos[0]!.path, '.codegraph');
  return { ...c, repos, dataDir };
}
