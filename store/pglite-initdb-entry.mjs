// From the sources (tests), the initdb child has no TypeScript loader: register tsx first, as
// pglite-process-entry.mjs does for the database process. The build runs pglite-initdb.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./pglite-initdb.ts');
