// Lint config: typescript-eslint's recommended rules plus the few this project relies on.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    files: ['**/*.ts'],
    ignores: ['test/**', 'bench/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)store/(?!(index|db)\\.ts$)', message: 'store/ is imported through store/index.ts (HistoryStore, migrate) or store/db.ts (the Db API); everything else is internal (store/README.md).' },
        { regex: '(^|/)indexer/git/(?!index\\.ts$)', message: 'indexer/git/ is imported through indexer/git/index.ts only (indexer/git/README.md).' },
        { regex: '(^|/)indexer/(?!(index|types)\\.ts$|git/)', message: 'indexer/ is imported through indexer/index.ts, or indexer/types.ts for data types.' },
        { regex: '(^|/)errors/(?!index\\.ts$)', message: 'errors/ is imported through errors/index.ts (errors/README.md).' },
        { regex: '(^|/)resolvers/(?!(index|context|errors)\\.ts$)', message: 'resolvers/ is imported through resolvers/index.ts, context.ts (interfaces) or errors.ts (coded GraphQL errors).' },
        { regex: '(^|/)schema/(?!index\\.ts$)', message: 'schema/ is imported through schema/index.ts.' },
      ] }],
    },
  },
  {
    files: ['daemon/*.ts', 'daemon/commands/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)store/(?!(index|db)\\.ts$)', message: 'store/ is imported through store/index.ts or store/db.ts (store/README.md).' },
        { regex: '(^|/)indexer/git/(?!index\\.ts$)', message: 'indexer/git/ is imported through indexer/git/index.ts only.' },
        { regex: '(^|/)indexer/(?!(index|types)\\.ts$|git/)', message: 'indexer/ is imported through indexer/index.ts or indexer/types.ts.' },
        { regex: '(^|/)errors/(?!index\\.ts$)', message: 'errors/ is imported through errors/index.ts.' },
        { regex: '(^|/)resolvers/(?!(index|context|errors)\\.ts$)', message: 'resolvers/ is imported through resolvers/index.ts, context.ts or errors.ts.' },
        { regex: '(^|/)server/(?!(index|metrics|pubsub|sdnotify)\\.ts$)', message: 'daemon/server/ is imported through index.ts, metrics.ts, pubsub.ts or sdnotify.ts (daemon/server/README.md).' },
      ] }],
    },
  },
  {
    // Dependencies point one way: resolvers -> store/indexer APIs through injected interfaces.
    files: ['resolvers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)(store|daemon)/', message: 'resolvers/ never imports store/ or daemon/: the server injects the backend (resolvers/README.md).' },
        { regex: '(^|/)indexer/(?!types\\.ts$)', message: 'resolvers/ imports only indexer/types.ts (types).' },
        { regex: '(^|/)errors/(?!index\\.ts$)', message: 'errors/ is imported through errors/index.ts.' },
      ] }],
    },
  },
  {
    files: ['store/**/*.ts', 'indexer/**/*.ts', 'errors/**/*.ts', 'schema/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)(daemon|resolvers)/', message: 'store/, indexer/, errors/ and schema/ never import daemon/ or resolvers/ (dependencies point one way).' },
        { regex: '^(\\.\\./)+store/', message: 'only store/ and its callers import store/.' },
        { regex: '(^|/)indexer/git/(?!index\\.ts$)', message: 'indexer/git/ is imported through indexer/git/index.ts only.' },
        { regex: '(^|/)errors/(?!index\\.ts$)', message: 'errors/ is imported through errors/index.ts.' },
      ] }],
    },
  },
);
