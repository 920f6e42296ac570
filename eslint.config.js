// Lint config: typescript-eslint's recommended rules plus the few this project relies on.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Every import restriction, once: what may be imported from outside a folder, and why. */
const SURFACES = {
  store: { regex: '(^|/)store/(?!(index|db)\\.ts$)', message: 'store/ is imported through store/index.ts (HistoryStore, migrate) or store/db.ts (the Db API); everything else is internal (store/README.md).' },
  indexerGit: { regex: '(^|/)indexer/git/(?!index\\.ts$)', message: 'indexer/git/ is imported through indexer/git/index.ts only (indexer/git/README.md).' },
  indexer: { regex: '(^|/)indexer/(?!(index|types)\\.ts$|git/)', message: 'indexer/ is imported through indexer/index.ts, or indexer/types.ts for data types.' },
  indexerTypesOnly: { regex: '(^|/)indexer/(?!types\\.ts$)', message: 'resolvers/ imports only indexer/types.ts (types).' },
  errors: { regex: '(^|/)errors/(?!index\\.ts$)', message: 'errors/ is imported through errors/index.ts (errors/README.md).' },
  resolvers: { regex: '(^|/)resolvers/(?!(index|context|errors)\\.ts$)', message: 'resolvers/ is imported through resolvers/index.ts, context.ts (interfaces) or errors.ts (coded GraphQL errors).' },
  schema: { regex: '(^|/)schema/(?!index\\.ts$)', message: 'schema/ is imported through schema/index.ts.' },
  server: { regex: '(^|/)server/(?!(index|metrics|pubsub|sdnotify)\\.ts$)', message: 'daemon/server/ is imported through index.ts, metrics.ts, pubsub.ts or sdnotify.ts (daemon/server/README.md).' },
  resolversOutward: { regex: '(^|/)(store|daemon)/', message: 'resolvers/ never imports store/ or daemon/: the server injects the backend (resolvers/README.md).' },
  coreOutward: { regex: '(^|/)(daemon|resolvers)/', message: 'store/, indexer/, errors/ and schema/ never import daemon/ or resolvers/ (dependencies point one way).' },
  storeFromBelow: { regex: '^(\\.\\./)+store/', message: 'only store/ and its callers import store/.' },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.codegraph/**', 'test/fixtures/**', 'bench/.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Public surfaces (CONVENTIONS.md "Small, explicit public surfaces"; issue #8): each folder is
  // imported through the files its README names, and dependencies point one way. Import strings are
  // matched as written: an import inside a folder (`./x.ts`) never names the folder, so only imports
  // from outside are restricted. test/ and bench/ are exempt: they test and measure internals.
  // ESLint does not merge one rule's options across config blocks (the last block wins), so each
  // block lists every restriction that applies to its files, drawn from the one table below.
  restrict({ files: ['**/*.ts'], ignores: ['test/**', 'bench/**'] }, ['store', 'indexerGit', 'indexer', 'errors', 'resolvers', 'schema']),
  restrict({ files: ['daemon/*.ts', 'daemon/commands/**/*.ts'] }, ['store', 'indexerGit', 'indexer', 'errors', 'resolvers', 'server']),
  // Dependencies point one way: resolvers -> store/indexer APIs through injected interfaces.
  restrict({ files: ['resolvers/**/*.ts'] }, ['resolversOutward', 'indexerTypesOnly', 'errors']),
  restrict({ files: ['store/**/*.ts', 'indexer/**/*.ts', 'errors/**/*.ts', 'schema/**/*.ts'] }, ['coreOutward', 'storeFromBelow', 'indexerGit', 'errors']),
);

/** @param {{ files: string[], ignores?: string[] }} where @param {Array<keyof typeof SURFACES>} names */
function restrict(where, names) {
  return { ...where, rules: { 'no-restricted-imports': ['error', { patterns: names.map((n) => SURFACES[n]) }] } };
}
