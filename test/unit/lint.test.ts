import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The layer rules in eslint.config.js must bite: a deliberately misplaced import in a pure module or a workflow
 * fails lint. Each case lints a real file's path with one extra import line prepended.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, importLine: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${importLine}\nvoid x;\n`, { filePath: `${root}${file}` });
  return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

describe('layer lint rules', () => {
  // The first lint builds the type-aware program for the whole project (tens of seconds on a busy 2-core machine,
  // beside the other test files): paid here once, so each case's own time limit means something.
  beforeAll(() => restricted('core/validate.ts', ''), 180_000);

  it.each([
    ['core/validate.ts', "import x from 'node:fs';"],
    ['core/validate.ts', "import x from 'node:crypto';"],
    ['core/validate.ts', "import x from 'prom-client';"],
    ['core/validate.ts', "import x from '@duckdb/node-api';"],
    ['core/schemas/tick.ts', "import x from 'ws';"],
    ['core/alerts/engine.ts', "import x from 'yaml';"],
    ['core/alerts/rules.ts', "import x from '../../infra/alerts/rules-file.ts';"],
    ['core/validate.ts', "import x from '../infra/logger.ts';"],
    ['core/validate.ts', "import x from '../lake/tables.ts';"],
    ['core/schemas/tick.ts', "import x from '../../streaming/topics.ts';"],
    ['lake/tables.ts', "import x from '../streaming/topics.ts';"],
    ['lake/layout.ts', "import x from 'node:path';"],
    ['lake/order.ts', "import x from './storage/s3.ts';"],
    ['lake/manifest/plan.ts', "import x from '../storage/fs.ts';"],
    ['lake/manifest/format.ts', "import x from './store.ts';"],
    ['workflows/health-check.ts', "import x from 'kafkajs';"],
    ['workflows/health-check.ts', "import x from '../lake/reader.ts';"],
    ['workflows/health-check.ts', "import x from '../activities/health.ts';"],
  ])('%s may not %s', async (file, line) => {
    expect(await restricted(file, line)).not.toEqual([]);
  });

  it.each([
    ['core/validate.ts', "import x from './schemas/tick.ts';"],
    ['lake/order.ts', "import type x from './columns.ts';"],
    ['workflows/health-check.ts', "import type x from '../activities/health.ts';"],
    ['workflows/health-check.ts', "import x from '@temporalio/workflow';"],
    ['streaming/producer.ts', "import x from 'node:fs';"],
  ])('%s may %s', async (file, line) => {
    expect(await restricted(file, line)).toEqual([]);
  });
});
