import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakeActivities } from '../../../activities/lake.ts';
import { createWarehouseActivities } from '../../../activities/warehouse.ts';
import { bigqueryClient } from '../../../infra/clients.ts';
import { closeDuckDb, DuckDb } from '../../../lake/duckdb.ts';
import type { SourceRange } from '../../../lake/layout.ts';
import type { Storage } from '../../../lake/storage/storage.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { Warehouse } from '../../../warehouse/warehouse.ts';
import { SEARCH_ATTRIBUTES, WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { backfillWorkflow, warehouseLoadSweepWorkflow, warehouseLoadWorkflow } from '../../../workflows/index.ts';
import { testStackConfig } from '../../support/stack.ts';
import { activityAttempts, localTemporal, recordHistory, startTestWorker } from '../../support/temporal.ts';
import { overwriteWithTextPrice, uniqueDataset } from '../../support/warehouse.ts';
import { makeTicks, tempStorage } from '../../unit/lake/fixtures.ts';

const HOUR_US = 3_600_000_000;
const DAY1 = '2026-11-20';
const DAY2 = '2026-11-21';
const BAD_DAY = '2026-11-22';
const dayUs = (day: string) => Date.parse(`${day}T00:00:00Z`) * 1000;
const config = testStackConfig();
const duckdb = new DuckDb({ threads: 1 });
const bq = bigqueryClient(config);
const dataset = uniqueDataset('it_whwf');

let env: TestWorkflowEnvironment;
let storage: Storage;
let cleanup: () => Promise<void>;
let stopWorker: () => Promise<void>;
let wh: Warehouse;
const taskQueue = `warehouse-test-${randomUUID()}`;
let offset = 0;
const range = (n: number): SourceRange => {
  const r = { topic: 'ticks.raw', partition: 0, startOffset: String(offset), endOffset: String(offset + n - 1) };
  offset += n;
  return r;
};

beforeAll(async () => {
  env = await localTemporal();
  const t = await tempStorage();
  storage = t.storage;
  cleanup = t.cleanup;
  const lake = new LakeWriter(storage);
  // DAY1: two sink files in each of two hours (compactable); DAY2: one file.
  for (const [day, hour, seq0] of [
    [DAY1, 10, 0],
    [DAY1, 10, 200],
    [DAY1, 11, 400],
    [DAY1, 11, 600],
    [DAY2, 9, 800],
  ] as const) {
    const ticks = makeTicks(200, { startUs: dayUs(day) + hour * HOUR_US, spanUs: HOUR_US - 1, seq0 });
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(ticks.length)));
  }
  const deps = {
    bigquery: bq,
    storage,
    projectId: config.bigquery.projectId,
    dataset,
    location: config.bigquery.location,
    concurrency: 2,
    heartbeatMs: 500,
  };
  wh = new Warehouse(deps);
  await wh.apply();
  stopWorker = await startTestWorker(env, taskQueue, {
    ...createLakeActivities({ storage, duckdb, targetBytes: 8 * 1024 * 1024, heartbeatMs: 500 }),
    ...createWarehouseActivities(deps),
  });
});

afterAll(async () => {
  await stopWorker?.();
  await env?.teardown();
  await cleanup?.();
  await bq
    .dataset(dataset)
    .delete({ force: true })
    .catch(() => undefined);
  await duckdb.close();
  await closeDuckDb();
});

describe('warehouse load on Temporal', () => {
  it('loads each changed day in a child named after it, with its outcome searchable, then finds nothing to do', async () => {
    const sweepId = WORKFLOW_IDS.warehouseLoadSweep(randomUUID());
    const first = await env.client.workflow.execute(warehouseLoadSweepWorkflow, {
      taskQueue,
      workflowId: sweepId,
      args: [{ tables: ['ticks'] }],
    });
    await recordHistory(env, 'warehouse-load-sweep', sweepId);
    expect(first).toEqual({ loaded: 2, unchanged: 0, failed: [], skippedRunning: 0 });
    const id = WORKFLOW_IDS.warehouseLoad('ticks', DAY1);
    expect(id).toBe(`load/ticks/${DAY1}`);
    const handle = env.client.workflow.getHandle(id);
    expect(await handle.result()).toMatchObject({ status: 'loaded', files: 4, rows: 800 });
    await recordHistory(env, 'warehouse-load', id);
    const d = await handle.describe();
    expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.table)).toBe('ticks');
    expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.partition)).toBe(`dt=${DAY1}`);
    expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.date)?.toISOString()).toBe(`${DAY1}T00:00:00.000Z`);
    expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('loaded');

    const second = await env.client.workflow.execute(warehouseLoadSweepWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.warehouseLoadSweep(randomUUID()),
      args: [{ tables: ['ticks'] }],
    });
    expect(second).toEqual({ loaded: 0, unchanged: 0, failed: [], skippedRunning: 0 });
  });

  it('backfill compacts the range and reloads its days: the same rows', async () => {
    const id = WORKFLOW_IDS.backfill('raw', DAY1, DAY2);
    const out = await env.client.workflow.execute(backfillWorkflow, {
      taskQueue,
      workflowId: id,
      args: [{ table: 'raw', from: DAY1, to: DAY2 }],
    });
    await recordHistory(env, 'backfill', id);
    expect(out).toEqual({
      compacted: 2,
      compactionFailed: [],
      loads: { loaded: 2, unchanged: 0, failed: [], skippedRunning: 0 },
    });
    const reloaded = await env.client.workflow.getHandle(WORKFLOW_IDS.warehouseLoad('ticks', DAY1)).result();
    expect(reloaded).toMatchObject({ status: 'loaded', reason: 'forced', files: 2, rows: 800 });
    const [n] = await wh.query<{ n: number }>(
      `SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM \`${config.bigquery.projectId}.${dataset}.ticks\``,
    );
    expect(n).toMatchObject({ n: 1000, ids: 1000 });
  });

  it('fails a day on input that will never pass at once, without retrying, and says why', async () => {
    const handle = await env.client.workflow.start(warehouseLoadWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.warehouseLoad('ticks', '2026-02-30'),
      args: [{ table: 'ticks', day: '2026-02-30' }],
    });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('INPUT_INVALID');
    expect(cause.message).toMatch(/not a day/);
    expect(await activityAttempts(handle)).toEqual([1]);
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('failed');
    await recordHistory(env, 'warehouse-load-failed', handle.workflowId);
  });

  it('a day whose file does not fit the table fails at once naming file and column; the sweep loads the others', async () => {
    const bad = makeTicks(50, { startUs: dayUs(BAD_DAY) + 8 * HOUR_US, spanUs: HOUR_US - 1, seq0: 2000 });
    const [entry] = await new LakeWriter(storage).writeFile(rawTable, bad, range(bad.length));
    await new LakeWriter(storage).commit(rawTable, [entry!]);
    // The same object, rewritten by another writer with price as text.
    await overwriteWithTextPrice(storage, entry!.path, BAD_DAY);
    // And DAY2 changed: it is due with the bad day.
    const more = makeTicks(60, { startUs: dayUs(DAY2) + 15 * HOUR_US, spanUs: HOUR_US - 1, seq0: 3000 });
    await new LakeWriter(storage).commit(rawTable, await new LakeWriter(storage).writeFile(rawTable, more, range(60)));

    const out = await env.client.workflow.execute(warehouseLoadSweepWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.warehouseLoadSweep(randomUUID()),
      args: [{ tables: ['ticks'] }],
    });
    expect(out).toEqual({ loaded: 1, unchanged: 0, failed: [`ticks/${BAD_DAY}`], skippedRunning: 0 });

    // The failed day's own run says why (the Temporal UI shows this failure on the load/ticks/<day> row).
    const handle = env.client.workflow.getHandle(WORKFLOW_IDS.warehouseLoad('ticks', BAD_DAY));
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('SCHEMA_INCOMPATIBLE');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain(entry!.path);
    expect(cause.message).toMatch(/column price is VARCHAR/);
    expect(cause.details?.[0]).toMatchObject({ file: entry!.path, column: 'price' });
    expect(await activityAttempts(handle)).toEqual([1]);
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('failed');

    // The other day loaded with every row; the bad day holds nothing in the warehouse.
    const [n] = await wh.query<{ day2: number; bad: number }>(
      `SELECT COUNTIF(DATE(ts) = '${DAY2}') AS day2, COUNTIF(DATE(ts) = '${BAD_DAY}') AS bad
       FROM \`${config.bigquery.projectId}.${dataset}.ticks\``,
    );
    expect(n).toMatchObject({ day2: 260, bad: 0 });
    expect(await wh.dueDays('ticks')).toEqual([BAD_DAY]); // still due: the next sweep tries it again
  });
});
