import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../support/temporal.ts';

// Histories recorded from real runs (test/integration/batch/lake-workflows.test.ts, reconcile/reconciliation.test.ts,
// with TICKLAKE_RECORD_HISTORIES=1).
// Replaying them against today's workflow code fails on any change that would break a run already in flight:
// a reordered activity, a new timer, a different child id. Such a change needs patched() first.
const dir = new URL('../../fixtures/histories/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('workflow determinism', () => {
  it('has recorded histories to replay', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'compaction-sweep.json',
        'compact-partition.json',
        'compact-partition-failed.json',
        'vacuum.json',
        'warehouse-load-sweep.json',
        'warehouse-load.json',
        'warehouse-load-failed.json',
        'backfill.json',
        'daily-report.json',
        'reconciliation.json',
        'model-training.json',
        'anomaly-scoring.json',
        // A sweep started by the build before issue 12 (four tables, no input): it must finish on this one.
        'warehouse-load-sweep-before-issue-12.json',
      ]),
    );
  });

  it.each(files)('replays %s against the current workflow code', { timeout: 60_000 }, async (file) => {
    // The CLI's JSON as is: the SDK converts it (historyFromJSON) inside its own module graph.
    const history: unknown = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    await expect(Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history)).resolves.toBeUndefined();
  });
});
