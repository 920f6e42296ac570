// Worker threads do not inherit the main thread's tsx loader, so when CodeGraph runs from its
// TypeScript sources (tests, CODEGRAPH_FROM_SOURCE=1) each worker registers it before loading the
// worker module. The build (dist/) loads the compiled worker.js instead (indexer/pool.ts).
import { register } from 'tsx/esm/api';

register();
const mod = await import('./worker.ts');
export default mod.default;
