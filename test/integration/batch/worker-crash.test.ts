import type { ChildProcess } from 'node:child_process';
import { startWorkerProcess, type RunningWorker } from '../../support/worker-child.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigqueryClient } from '../../../infra/clients.ts';
import { closeDuckDb } from '../../../lake/duckdb.ts';
import type { SourceRange } from '../../../lake/layout.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { Warehouse } from '../../../warehouse/warehouse.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { warehouseLoadWorkflow } from '../../../workflows/index.ts';
import { testStackConfig } from '../../support/stack.ts';
import { localTemporal } from '../../support/temporal.ts';
import {
  dropWarehouseAndLake,
  lakeDaySum,
  ledgerOutcomes,
  uniqueDataset,
  warehouseDaySum,
} from '../../support/warehouse.ts';
import { makeTicks } from '../../unit/lake/fixtures.ts';

/**
 * A worker SIGKILLed in the middle of a load (at its `after-replace` failpoint: the day is replaced in BigQuery, the
 * ledger row not yet written): the activity's heartbeat times out, the retry runs on a second worker, and the day
 * ends loaded once. The workers are the production worker (test/support/worker-process.ts) in child processes.
 */
const HOUR_US = 3_600_000_000;
const DAY = '2026-11-20';
const dayUs = (day: string) => Date.parse(`${day}T00:00:00Z`) * 1000;
const config = testStackConfig();
const dataset = uniqueDataset('it_crash');
const prefix = `it-crash-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}/`;
const taskQueue = `crash-${randomUUID()}`;
const storage = new S3Storage(config.s3, { prefix });
const wh = new Warehouse({
  bigquery: bigqueryClient(config),
  storage,
  projectId: config.bigquery.projectId,
  dataset,
  location: config.bigquery.location,
  concurrency: 2,
});
let env: TestWorkflowEnvironment;
const children: ChildProcess[] = [];

/** The production worker in a child process, on this file's Temporal, task queue, dataset and lake. */
function startWorker(failpoint?: string): Promise<RunningWorker> {
  return startWorkerProcess(
    {
      TICKLAKE_TEMPORAL_ADDRESS: env.address,
      TICKLAKE_TEMPORAL_TASK_QUEUE: taskQueue,
      TICKLAKE_BIGQUERY_DATASET: dataset,
      TICKLAKE_S3_LAKE_PREFIX: prefix,
      TICKLAKE_COMPACTION_DUCKDB_THREADS: '1',
    },
    children,
    failpoint,
  );
}

beforeAll(async () => {
  env = await localTemporal();
  const lake = new LakeWriter(storage);
  let offset = 0;
  for (const hour of [9, 10, 11]) {
    const ticks = makeTicks(200, { startUs: dayUs(DAY) + hour * HOUR_US, spanUs: HOUR_US - 1, seq0: offset });
    const range: SourceRange = {
      topic: 'ticks.raw',
      partition: 0,
      startOffset: String(offset),
      endOffset: String(offset + ticks.length - 1),
    };
    offset += ticks.length;
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range));
  }
  await wh.apply();
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await env?.teardown();
  await dropWarehouseAndLake(bigqueryClient(config), dataset, storage);
  storage.client.destroy();
  await closeDuckDb();
});

describe('a worker SIGKILLed mid-load', () => {
  it('the load resumes on another worker after the heartbeat timeout; the day is loaded once', async () => {
    const first = await startWorker('load-after-replace:1');
    const handle = await env.client.workflow.start(warehouseLoadWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.warehouseLoad('ticks', DAY),
      // The production heartbeat timeout is 2 minutes; 8 s is past the worker's 5 s heartbeat period.
      args: [
        { table: 'ticks', day: DAY, tuning: { heartbeatTimeoutMs: 8_000, retryInitialMs: 200, retryMaximumMs: 1000 } },
      ],
    });
    const died = await first.exit;
    expect(died.signal, first.stderr()).toBe('SIGKILL');
    expect(first.stderr()).toContain('failpoint load-after-replace#1: SIGKILL');
    // It died between the replace and the ledger: the day's rows are in, the ledger does not know.
    const want = await lakeDaySum(storage, rawTable, DAY);
    expect((await warehouseDaySum(wh, 'ticks', DAY)).rows).toBe(want.rows);
    expect(await ledgerOutcomes(wh, 'ticks', DAY)).toEqual([]);

    const second = await startWorker();
    expect(await handle.result()).toMatchObject({ status: 'loaded', day: DAY, files: 3, rows: want.rows });
    const history = await handle.fetchHistory();
    const attempts = history.events
      ?.filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(attempts).toEqual([2]); // the first attempt timed out on its heartbeat; the retry ran on the second worker
    expect(await ledgerOutcomes(wh, 'ticks', DAY)).toEqual(['loaded']);
    const got = await warehouseDaySum(wh, 'ticks', DAY);
    expect({ rows: got.rows, keys: got.keys }).toEqual({ rows: want.rows, keys: want.keys });
    expect(got.total).toBeCloseTo(want.total, 6);

    second.child.kill('SIGTERM');
    expect((await second.exit).code, second.stderr()).toBe(0);
  });
});
