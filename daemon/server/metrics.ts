// Prometheus metrics, served at /metrics. The indexer side imports the metric objects from here
// and updates them; the server owns only the GraphQL and subscription ones.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SKIP_REASONS } from '../../indexer/types.ts';
import { embeddedMemoryBytes, embeddedResidentBytes, embeddedStarts } from '../../store/db.ts';

export const registry = new Registry();
// prom-client's default names already start with process_ or nodejs_: the prefix gives
// codegraph_process_resident_memory_bytes and codegraph_nodejs_eventloop_lag_p99_seconds.
collectDefaultMetrics({ register: registry, prefix: 'codegraph_' });

/** The embedded database's WASM heap (store/pglite-process.ts): part of its process's resident
 * memory that grows with the largest work PostgreSQL did and never shrinks while the process runs
 * (cap: `pgliteMaxMemory`; all of it is given back when the process stops while idle). */
export const pgliteMemory = new Gauge({
  name: 'codegraph_pglite_wasm_memory_bytes', help: 'Bytes of the embedded database\'s WASM heap (never shrinks while its process runs); 0 while it is stopped and with a PostgreSQL server',
  registers: [registry], collect() { this.set(embeddedMemoryBytes()); },
});
/** The embedded database runs in a child process: its memory is not in codegraph_process_resident_memory_bytes. */
export const pgliteResident = new Gauge({
  name: 'codegraph_pglite_resident_memory_bytes', help: 'Resident bytes of the embedded database\'s process; 0 while it is stopped (pgliteIdleStopMs) and with a PostgreSQL server',
  registers: [registry], collect() { this.set(embeddedResidentBytes()); },
});
export const pgliteStarts = new Gauge({
  name: 'codegraph_pglite_starts', help: 'Times the embedded database\'s process started (it stops while idle and starts on the next connection)',
  registers: [registry], collect() { this.set(embeddedStarts()); },
});
/** Seconds between a ref moving and its commit being indexed (set per repository). */
export const indexLagSeconds = new Gauge({
  name: 'codegraph_index_lag_seconds', help: 'Seconds from a ref update to its commit being indexed', labelNames: ['repository'], registers: [registry],
});
/** Commits waiting to be indexed. */
export const queueDepth = new Gauge({
  name: 'codegraph_queue_depth', help: 'Commits waiting to be indexed', labelNames: ['repository'], registers: [registry],
});
/** Re-embedding with a configured provider (store/reembed.ts): extractions walked of all stored. */
export const embeddingProgress = new Gauge({
  name: 'codegraph_embedding_extractions', help: 'Extractions whose bodies the configured embedding provider has embedded (state="done") and all stored extractions (state="total")', labelNames: ['model', 'state'], registers: [registry],
});
export const commitsIndexed = new Counter({
  name: 'codegraph_commits_indexed_total', help: 'Commits indexed', labelNames: ['repository'], registers: [registry],
});
export const filesIndexed = new Counter({
  name: 'codegraph_files_indexed_total', help: 'Files parsed and stored', labelNames: ['repository', 'language'], registers: [registry],
});
/** Every skip by reason; reasons are pre-registered at 0 so dashboards see the series. */
export const filesSkipped = new Counter({
  name: 'codegraph_files_skipped_total', help: 'Files not parsed, by reason', labelNames: ['reason'], registers: [registry],
});
for (const reason of SKIP_REASONS) filesSkipped.inc({ reason }, 0);
/** Calls of a repository's tree by outcome (`resolved`, or why unresolved: local, builtin, external,
 * ambiguous, none), as of the commit whose call resolution was computed last (GraphQL
 * `Commit.callResolution`). Issue #10: unresolved calls are counted, never dropped silently. */
export const callsGauge = new Gauge({
  name: 'codegraph_calls', help: 'Calls of the tree by resolution outcome (last commit computed)', labelNames: ['repository', 'outcome'], registers: [registry],
});
/** Files parsed with tree-sitter ERROR/MISSING nodes (still indexed). */
export const parseErrors = new Counter({
  name: 'codegraph_parse_errors_total', help: 'Files parsed with syntax errors (still indexed)', labelNames: ['language'], registers: [registry],
});
/** `git fetch` failures of `POST /hooks/git` (the repository's remote-tracking refs are stale). */
export const gitFetchFailures = new Counter({
  name: 'codegraph_git_fetch_failures_total', help: 'Webhook git fetches that failed', labelNames: ['repository'], registers: [registry],
});
export const graphqlDuration = new Histogram({
  name: 'codegraph_graphql_request_duration_seconds',
  help: 'GraphQL HTTP request / WebSocket operation latency',
  labelNames: ['transport', 'status'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
export const activeSubscriptions = new Gauge({
  name: 'codegraph_active_subscriptions', help: 'Open GraphQL subscriptions', labelNames: ['topic'], registers: [registry],
});
export const activeSockets = new Gauge({
  name: 'codegraph_websocket_connections', help: 'Open graphql-ws connections', registers: [registry],
});
/** Requests refused before GraphQL ran: unauthenticated, forbidden, rate_limited, too_large, bad_origin. */
export const rejections = new Counter({
  name: 'codegraph_http_rejections_total', help: 'Requests refused by the server', labelNames: ['reason'], registers: [registry],
});
