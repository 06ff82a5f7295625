import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../lake/duckdb.ts';
import { createLakeActivities } from '../../../activities/lake.ts';
import { applySchedules, listSchedules, pauseSchedule, triggerSchedule } from '../../../infra/temporal/schedules.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { loadSnapshot, snapshotFiles } from '../../../lake/manifest.ts';
import type { Storage } from '../../../lake/storage/storage.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { LAKE_TABLES, SEARCH_ATTRIBUTES, WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { compactionSweepWorkflow, compactPartitionWorkflow, vacuumWorkflow } from '../../../workflows/index.ts';
import { batchSchedules } from '../../../workflows/schedules.ts';
import { activityAttempts, localTemporal, recordHistory, startTestWorker } from '../../support/temporal.ts';
import { T0, makeTicks, tempStorage } from '../../unit/lake/fixtures.ts';

const HOUR_US = 3_600_000_000;
const range = (start: number, end: number): SourceRange => ({
  topic: 'ticks.raw',
  partition: 0,
  startOffset: String(start),
  endOffset: String(end),
});

let env: TestWorkflowEnvironment;
let storage: Storage;
const duckdb = new DuckDb({ threads: 1 });
let cleanup: () => Promise<void>;
let stopWorker: () => Promise<void>;
const taskQueue = `lake-test-${randomUUID()}`;

/** `files` sink-sized files of 300 ticks in the hour starting at `startUs`, offsets continuing from `offset0`. */
async function seedHour(lake: LakeWriter, startUs: number, files: number, offset0: number): Promise<number> {
  let offset = offset0;
  for (let i = 0; i < files; i++) {
    const ticks = makeTicks(300, { startUs, spanUs: HOUR_US - 1, seq0: offset });
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(offset, offset + 299)));
    offset += 300;
  }
  return offset;
}

beforeAll(async () => {
  env = await localTemporal();
  const t = await tempStorage();
  storage = t.storage;
  cleanup = t.cleanup;
  const lake = new LakeWriter(storage);
  // Two closed hours with small files, and one with a single file (not worth a rewrite).
  let offset = await seedHour(lake, T0, 4, 0);
  offset = await seedHour(lake, T0 + HOUR_US, 3, offset);
  await seedHour(lake, T0 + 2 * HOUR_US, 1, offset);
  stopWorker = await startTestWorker(
    env,
    taskQueue,
    createLakeActivities({ storage, duckdb, targetBytes: 8 * 1024 * 1024, heartbeatMs: 500 }),
  );
});

afterAll(async () => {
  await duckdb.close();
  await stopWorker?.();
  await env?.teardown();
  await cleanup?.();
});

describe('compaction sweep on Temporal', () => {
  it('compacts each closed partition with small files in a child named after it, then finds nothing to do', async () => {
    const client = env.client;
    const sweepId = WORKFLOW_IDS.compactionSweep(randomUUID());
    const first = await client.workflow.execute(compactionSweepWorkflow, {
      taskQueue,
      workflowId: sweepId,
      args: [{ tables: ['raw'] }],
    });
    await recordHistory(env, 'compaction-sweep', sweepId);
    expect(first).toEqual({ compacted: 2, unchanged: 0, failed: [], skippedRunning: 0 });

    const p0 = partitionOf(T0);
    const p1 = partitionOf(T0 + HOUR_US);
    for (const [partition, filesIn] of [
      [p0, 4],
      [p1, 3],
    ] as const) {
      const workflowId = WORKFLOW_IDS.compactPartition('raw', partition);
      expect(workflowId).toBe(`compact/raw/${partition.slice(3, 13)}/${partition.slice(-2)}`);
      const handle = client.workflow.getHandle(workflowId);
      if (partition === p0) await recordHistory(env, 'compact-partition', workflowId);
      expect(await handle.result()).toMatchObject({
        status: 'committed',
        filesIn,
        filesOut: 1,
        rowsOut: filesIn * 300,
      });
      const d = await handle.describe();
      expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.table)).toBe('raw');
      expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.partition)).toBe(partition);
      expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('committed');
      expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.date)?.toISOString()).toBe(
        `${partition.slice(3, 13)}T00:00:00.000Z`,
      );
    }
    const files = await snapshotFiles(storage, (await loadSnapshot(storage, 'raw'))!);
    expect(files).toHaveLength(3); // one per compacted hour, plus the untouched single file

    const second = await client.workflow.execute(compactionSweepWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.compactionSweep(randomUUID()),
      args: [{ tables: ['raw'] }],
    });
    expect(second).toEqual({ compacted: 0, unchanged: 0, failed: [], skippedRunning: 0 });
  });

  it('fails a partition on input that will never pass at once, without retrying, and says why', async () => {
    const handle = await env.client.workflow.start(compactPartitionWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.compactPartition('nope', 'dt=2024-03-01/hour=10'),
      args: [{ table: 'nope', partition: 'dt=2024-03-01/hour=10' }],
    });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('INPUT_INVALID');
    expect((cause as ApplicationFailure).message).toMatch(/unknown lake table "nope"/);
    // One attempt: the activity's failure was non-retryable.
    expect(await activityAttempts(handle)).toEqual([1]);
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('failed');
    await recordHistory(env, 'compact-partition-failed', handle.workflowId);
  });

  it('vacuums: expires snapshots past the grace and removes the files compaction replaced', async () => {
    const before = await snapshotFiles(storage, (await loadSnapshot(storage, 'raw'))!);
    const vacuumId = WORKFLOW_IDS.vacuum(randomUUID());
    const out = await env.client.workflow.execute(vacuumWorkflow, {
      taskQueue,
      workflowId: vacuumId,
      args: [{ tables: ['raw'], keepLast: 1, graceHours: 0 }],
    });
    await recordHistory(env, 'vacuum', vacuumId);
    expect(out).toHaveLength(1);
    expect(out[0]!.expiredSnapshots).toBeGreaterThan(0);
    // The 7 files the sweep replaced, plus the part manifests and day lists only expired snapshots referenced.
    expect(out[0]!.removedObjects).toBeGreaterThanOrEqual(7);
    const after = await snapshotFiles(storage, (await loadSnapshot(storage, 'raw'))!);
    expect(after.map((f) => f.path).sort()).toEqual(before.map((f) => f.path).sort());
    for (const f of after) expect(await storage.head(f.path)).not.toBeNull();
  });
});

describe('batch schedules', () => {
  it('apply creates every declared schedule, is idempotent, keeps a pause, and removes retired ticklake-* ones', async () => {
    const client = env.client;
    const first = await applySchedules(client, taskQueue);
    expect(first.map((c) => [c.id, c.action])).toEqual(batchSchedules().map((d) => [d.id, 'created']));

    await pauseSchedule(client, 'compaction-sweep');
    await client.schedule.create({
      scheduleId: 'ticklake-retired',
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: 'vacuumWorkflow', args: [{}], taskQueue },
    });
    await client.schedule.create({
      scheduleId: 'someone-elses',
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: 'vacuumWorkflow', args: [{}], taskQueue },
    });
    const second = await applySchedules(client, taskQueue);
    expect(second).toEqual([
      ...batchSchedules().map((d) => ({ id: d.id, action: 'updated' })),
      { id: 'ticklake-retired', action: 'deleted' },
    ]);
    const listed = await listSchedules(client);
    expect(listed.map((s) => [s.id, s.paused])).toEqual([
      ['ticklake-anomaly-scoring', false],
      ['ticklake-compaction-sweep', true],
      ['ticklake-daily-report', false],
      ['ticklake-model-training', false],
      ['ticklake-reconciliation', false],
      ['ticklake-vacuum', false],
      ['ticklake-warehouse-load', false],
    ]);
    expect(listed.every((s) => s.nextRun !== null)).toBe(true);
    await expect(client.schedule.getHandle('someone-elses').describe()).resolves.toBeDefined();
  });

  it('trigger starts a run of the schedule’s workflow now', async () => {
    await triggerSchedule(env.client, 'vacuum');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const d = await env.client.schedule.getHandle('ticklake-vacuum').describe();
      if (d.info.recentActions.length > 0) {
        const run = d.info.recentActions[0]!.action;
        const handle = env.client.workflow.getHandle(run.workflow.workflowId, run.workflow.firstExecutionRunId);
        expect(run.workflow.workflowId).toMatch(/^vacuum\/scheduled/);
        expect((await handle.result()) as unknown[]).toHaveLength(LAKE_TABLES.length); // every lake table
        break;
      }
      if (Date.now() > deadline) throw new Error('the triggered run never started');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it('names the schedules it knows when given another', async () => {
    await expect(pauseSchedule(env.client, 'compaction')).rejects.toThrow(
      /no schedule "compaction"; known: ticklake-compaction-sweep/,
    );
  });
});
