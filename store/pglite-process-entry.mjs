// The child process runs the sources (tests, a checkout without a build) through tsx: registered
// here before the TypeScript module loads (same as indexer/worker-entry.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./pglite-process.ts');
