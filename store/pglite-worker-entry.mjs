// Worker threads do not inherit the main thread's tsx loader, so the worker registers it before
// loading the TypeScript module (same as indexer/worker-entry.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./pglite-worker.ts');
