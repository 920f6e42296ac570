// Worker threads do not inherit the main thread's tsx loader, so each worker registers it before
// loading the TypeScript worker module.
import { register } from 'tsx/esm/api';

register();
const mod = await import('./worker.ts');
export default mod.default;
