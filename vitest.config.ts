import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` runs against the real local stack, which
// test/integration/global-setup.ts starts on test ports (and stops, also on failure).
export default defineConfig({
  test: {
    // Quiet by default: tests assert on behaviour, and failures print their own context.
    env: {
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      TICKLAKE_LOG_LEVEL: 'error',
    },
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // One stack, shared: files run one after another so they don't fight over the 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
