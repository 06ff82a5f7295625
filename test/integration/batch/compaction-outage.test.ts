import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakeActivities } from '../../../activities/lake.ts';
import type { CompactionFailpoint } from '../../../lake/compaction.ts';
import { DuckDb } from '../../../lake/duckdb.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { compactPartitionWorkflow } from '../../../workflows/index.ts';
import { expectConsistentLake } from '../../support/lake-checks.ts';
import { privateS3, waitFor, type PrivateServer } from '../../support/servers.ts';
import { activityAttempts, localTemporal, startTestWorker } from '../../support/temporal.ts';
import { makeTicks } from '../../unit/lake/fixtures.ts';

/**
 * S3 unavailable in the middle of a partition's compaction: the activity fails, is retried with backoff while S3 is
 * down, and the workflow completes once it is back, with one compaction committed, each id once, and every file the
 * manifest names stored. The S3 server is this file's own (the shared stack's is never stopped), killed at a
 * compaction failpoint.
 */
const HOUR_US = 3_600_000_000;
const T_DAY = Date.UTC(2026, 10, 20) * 1000;
const tuning = { retryInitialMs: 200, retryMaximumMs: 1000 };

let env: TestWorkflowEnvironment;
let s3: PrivateServer;
let storage: S3Storage;
let stopWorker: (() => Promise<void>) | undefined;
const duckdb = new DuckDb({ threads: 1 });
let onFailpoint: ((point: CompactionFailpoint) => Promise<void>) | undefined;
const taskQueue = `compaction-outage-${randomUUID()}`;
let offset = 0;

/** Four files of 250 ticks in the hour, the third a replay of the first: 750 distinct ids. */
async function seedHour(hour: number): Promise<number> {
  const lake = new LakeWriter(storage);
  const first = offset;
  for (let i = 0; i < 4; i++) {
    const seq0 = i === 2 ? first : offset;
    const ticks = makeTicks(250, { startUs: T_DAY + hour * HOUR_US, spanUs: HOUR_US - 1, seq0 });
    const range: SourceRange = {
      topic: 'ticks.raw',
      partition: 0,
      startOffset: String(offset),
      endOffset: String(offset + 249),
    };
    offset += 250;
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range));
  }
  return 750;
}

/** Resolves once the workflow's compaction activity has failed at least `failures` times. */
async function activityFailed(workflowId: string, failures: number): Promise<void> {
  const handle = env.client.workflow.getHandle(workflowId);
  let seen = 'no run yet';
  await waitFor(
    `${failures} failed attempts of ${workflowId}`,
    async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      seen = JSON.stringify(pending.map((a) => ({ attempt: a.attempt, failure: a.lastFailure?.message })));
      return pending.some((a) => (a.attempt ?? 0) > failures && a.lastFailure);
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; pending: ${seen}`);
  });
}

async function compactThroughOutage(hour: number, point: CompactionFailpoint) {
  const partition = partitionOf(T_DAY + hour * HOUR_US);
  const distinct = await seedHour(hour);
  let killed = false;
  onFailpoint = async (at) => {
    if (at !== point || killed) return;
    killed = true;
    await s3.kill();
  };
  const workflowId = WORKFLOW_IDS.compactPartition('raw', partition);
  const handle = await env.client.workflow.start(compactPartitionWorkflow, {
    taskQueue,
    workflowId,
    args: [{ table: 'raw', partition, tuning }],
  });
  await activityFailed(workflowId, 2);
  expect(killed).toBe(true);
  await s3.start();
  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'committed', filesIn: 4, rowsIn: 1000, rowsOut: distinct });
  expect((await activityAttempts(handle)).at(-1)).toBeGreaterThan(2);
  return outcome;
}

beforeAll(async () => {
  const [priv, temporal] = await Promise.all([privateS3(), localTemporal()]);
  s3 = priv.server;
  env = temporal;
  storage = new S3Storage(priv.config.s3, { prefix: 'lake/' });
  stopWorker = await startTestWorker(
    env,
    taskQueue,
    createLakeActivities({
      storage,
      duckdb,
      targetBytes: 8 * 1024 * 1024,
      heartbeatMs: 300,
      failpoint: async (point) => onFailpoint?.(point),
    }),
  );
}, 60_000);

afterAll(async () => {
  onFailpoint = undefined;
  await stopWorker?.();
  await env?.teardown();
  storage?.client.destroy();
  await s3?.close();
  await duckdb.close();
});

describe('compaction through an S3 outage', () => {
  it('S3 down after the inputs were fetched: the upload fails, retried until S3 is back, one compaction', async () => {
    const outcome = await compactThroughOutage(9, 'after-fetch');
    expect(outcome.resumed).toBeUndefined(); // nothing was uploaded, so there was no checkpoint to resume from
    const lake = await expectConsistentLake(storage, rawTable);
    expect(lake.ids).toHaveLength(750);
    expect(new Set(lake.ids).size).toBe(750);
    expect(lake.replaceCommits).toBe(1);
  });

  it('S3 down with every output uploaded: the retry resumes from the heartbeat, commits once', async () => {
    const outcome = await compactThroughOutage(10, 'before-commit');
    // The last heartbeat before the failed commit carried the checkpoint; the retry checked it against S3 and only
    // committed.
    expect(outcome.resumed).toBe(true);
    const lake = await expectConsistentLake(storage, rawTable);
    expect(lake.ids).toHaveLength(1500);
    expect(new Set(lake.ids).size).toBe(1500);
    expect(lake.replaceCommits).toBe(2);
  });
});
