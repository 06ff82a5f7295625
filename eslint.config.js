import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Libraries and built-ins that do I/O or hold process state: none of them in pure code or workflows. */
const IO_LIBRARIES = [
  'node:*',
  'fs',
  'fs/*',
  'os',
  'path',
  'crypto',
  'net',
  'http',
  'https',
  'child_process',
  'worker_threads',
  'kafkajs',
  '@aws-sdk/*',
  '@google-cloud/*',
  '@temporalio/*',
  '@duckdb/*',
  'prom-client',
  'ws',
  'yaml',
  'csv-parse',
  'csv-parse/*',
  'parquet-wasm',
  'parquet-wasm/*',
];

/** Pure modules outside core/ (the lint rules below hold them; test/unit/lint.test.ts proves the rules bite). */
const LAKE_PURE_MODULES = [
  'lake/layout.ts',
  'lake/tables.ts',
  'lake/order.ts',
  'lake/manifest/format.ts',
  'lake/manifest/plan.ts',
];
/** Workflows may use the workflow SDK and nothing else that does I/O. */
const WORKFLOW_BANNED = [
  ...IO_LIBRARIES.filter((p) => p !== '@temporalio/*'),
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

/** Folders that hold edges (I/O, processes, orchestration): pure modules import none of them. */
const EDGE_FOLDERS = [
  '**/streaming/**',
  '**/infra/**',
  '**/cli/**',
  '**/activities/**',
  '**/workflows/**',
  '**/warehouse/**',
];
/** The lake's modules that do I/O. */
const LAKE_IO_MODULES = [
  '**/storage/**',
  '**/writer.ts',
  '**/reader.ts',
  '**/compaction.ts',
  '**/duckdb*',
  '**/ranged-object.ts',
  '**/store.ts',
  '**/commit.ts',
  '**/maintenance.ts',
  '**/slot.ts',
];
const NO_IO = { group: IO_LIBRARIES, message: 'pure modules do no I/O; pass what they need in' };

/** One no-restricted-imports rule (the typescript-eslint one, which can allow type-only imports). */
const restrict = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/', 'reports/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Workflows run in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries, no lake code.
    // Activities are imported as types only (proxyActivities<typeof activities>).
    files: ['workflows/**/*.ts'],
    rules: restrict(
      { group: WORKFLOW_BANNED, message: 'workflows orchestrate activities; I/O belongs in activities/' },
      {
        group: ['**/lake/**', ...EDGE_FOLDERS.filter((f) => !f.includes('activities'))],
        message: 'workflows import no edge code',
      },
      { group: ['**/activities/**'], allowTypeImports: true, message: 'import activities as types only' },
    ),
  },
  {
    // The lake's pure parts (layout, table definitions, row order, manifest format and offset planning): both
    // layers call them, so they import no I/O library, no edge folder, and none of the lake's I/O modules.
    files: LAKE_PURE_MODULES,
    rules: restrict(
      NO_IO,
      { group: EDGE_FOLDERS, message: 'pure modules import no edge folder' },
      {
        group: LAKE_IO_MODULES,
        allowTypeImports: true,
        message: "the lake's pure modules import only its other pure modules (types aside)",
      },
    ),
  },
  {
    // The pure core: schemas, validation, dedupe, enrichment, bars, the per-partition pipeline, config schema.
    // Edges (config loading, logger, metrics registry, the shipped CSV's read) live in infra/.
    files: ['core/**/*.ts'],
    rules: restrict(NO_IO, {
      group: ['**/lake/**', ...EDGE_FOLDERS],
      message: 'the core imports nothing outside core/',
    }),
  },
  {
    // Scoring evaluates stored coefficients itself (microseconds per bar); only training fits with ml-regression.
    files: ['core/models/score.ts', 'core/models/features.ts'],
    rules: restrict(
      NO_IO,
      { group: ['**/lake/**', ...EDGE_FOLDERS], message: 'the core imports nothing outside core/' },
      {
        group: ['ml-regression', 'ml-regression*', '**/models/fit.ts'],
        message: 'scoring does not call ml-regression',
      },
    ),
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
);
