import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouseActivities } from '../../../activities/warehouse.ts';
import { bigqueryClient } from '../../../infra/clients.ts';
import { withTemporalFailures } from '../../../infra/temporal/failures.ts';
import { closeDuckDb } from '../../../lake/duckdb.ts';
import type { SourceRange } from '../../../lake/layout.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { Warehouse, type LoadFailpoint, type WarehouseDeps } from '../../../warehouse/warehouse.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { warehouseLoadSweepWorkflow } from '../../../workflows/index.ts';
import { privateBigQuery, privateS3, waitFor, type PrivateServer } from '../../support/servers.ts';
import { localTemporal, WORKFLOWS_PATH } from '../../support/temporal.ts';
import { lakeDaySum, ledgerOutcomes, uniqueDataset, warehouseDaySum } from '../../support/warehouse.ts';
import { makeTicks } from '../../unit/lake/fixtures.ts';

/**
 * BigQuery or S3 unavailable in the middle of a warehouse load: the load activity fails, is retried with backoff
 * while the server is down, and completes once it is back, with the day loaded once (one `loaded` ledger row, the
 * lake's rows). Both servers are this file's own (the shared stack is never stopped), killed at a load's failpoint.
 */
const HOUR_US = 3_600_000_000;
const dayUs = (day: string) => Date.parse(`${day}T00:00:00Z`) * 1000;
// Retries within a second, so the outage is seen by several attempts and the run stays short.
const tuning = { retryInitialMs: 200, retryMaximumMs: 1000 };

let env: TestWorkflowEnvironment;
let s3: PrivateServer;
let bq: PrivateServer;
let storage: S3Storage;
let wh: Warehouse;
let lake: LakeWriter;
let stopWorker: (() => Promise<void>) | undefined;
/** What the worker's loads do at each failpoint; set by a test. */
let onFailpoint: ((point: LoadFailpoint) => Promise<void>) | undefined;
const taskQueue = `outage-${randomUUID()}`;
const dataset = uniqueDataset('it_outage');

let offset = 0;
const range = (n: number): SourceRange => {
  const r = { topic: 'ticks.raw', partition: 0, startOffset: String(offset), endOffset: String(offset + n - 1) };
  offset += n;
  return r;
};

async function seedDay(day: string, files: number): Promise<void> {
  for (let i = 0; i < files; i++) {
    const ticks = makeTicks(150, { startUs: dayUs(day) + (9 + i) * HOUR_US, spanUs: HOUR_US - 1, seq0: offset });
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(ticks.length)));
  }
}

/** Resolves once the day's load activity has failed at least `failures` times (its pending attempt is past them). */
async function loadFailed(day: string, failures: number): Promise<void> {
  const handle = env.client.workflow.getHandle(WORKFLOW_IDS.warehouseLoad('ticks', day));
  let seen = 'no run yet';
  await waitFor(
    `${failures} failed attempts of the load of ${day}`,
    async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      seen = JSON.stringify(
        pending.map((a) => ({ attempt: a.attempt, state: a.state, failure: a.lastFailure?.message })),
      );
      return pending.some((a) => (a.attempt ?? 0) > failures && a.lastFailure);
    },
    30_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; pending: ${seen}`);
  });
}

async function sweep() {
  return env.client.workflow.execute(warehouseLoadSweepWorkflow, {
    taskQueue,
    workflowId: WORKFLOW_IDS.warehouseLoadSweep(randomUUID()),
    args: [{ tables: ['ticks'], tuning }],
  });
}

async function expectLoadedOnce(day: string): Promise<void> {
  expect(await ledgerOutcomes(wh, 'ticks', day)).toEqual(['loaded']);
  const want = await lakeDaySum(storage, rawTable, day);
  const got = await warehouseDaySum(wh, 'ticks', day);
  expect({ rows: got.rows, keys: got.keys }).toEqual({ rows: want.rows, keys: want.keys });
  expect(got.total).toBeCloseTo(want.total, 6);
}

beforeAll(async () => {
  const [privS3, privBq, temporal] = await Promise.all([privateS3(), privateBigQuery(), localTemporal()]);
  s3 = privS3.server;
  bq = privBq.server;
  env = temporal;
  storage = new S3Storage(privS3.config.s3, { prefix: 'lake/' });
  lake = new LakeWriter(storage);
  const deps: WarehouseDeps = {
    bigquery: bigqueryClient(privBq.config),
    storage,
    projectId: privBq.config.bigquery.projectId,
    dataset,
    location: privBq.config.bigquery.location,
    concurrency: 2,
    failpoint: async (point) => onFailpoint?.(point),
  };
  wh = new Warehouse(deps);
  await wh.apply();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: withTemporalFailures(createWarehouseActivities({ ...deps, heartbeatMs: 500 })),
  });
  const running = worker.run();
  stopWorker = async () => {
    worker.shutdown();
    await running;
  };
}, 60_000);

afterAll(async () => {
  onFailpoint = undefined;
  await stopWorker?.();
  await env?.teardown();
  storage?.client.destroy();
  await Promise.all([s3?.close(), bq?.close()]);
  await closeDuckDb();
});

describe('warehouse loads through an outage', () => {
  it('BigQuery down after the day was replaced: retried until it is back, the day loaded once', async () => {
    const day = '2026-11-20';
    await seedDay(day, 3);
    let killed = false;
    onFailpoint = async (point) => {
      if (point !== 'after-replace' || killed) return;
      killed = true;
      await bq.kill(); // the replace committed; the ledger row is not written
    };
    const result = sweep();
    // One whole failed attempt is enough: the BigQuery client retries a refused connection itself for ~15 s first.
    await loadFailed(day, 1);
    expect(killed).toBe(true);
    await bq.start();
    expect(await result).toEqual({ loaded: 1, unchanged: 0, failed: [], skippedRunning: 0 });
    await expectLoadedOnce(day);
    expect(await wh.dueDays('ticks')).toEqual([]);
  });

  it('S3 down before the day was staged: retried until it is back, the day loaded once', async () => {
    const day = '2026-11-21';
    await seedDay(day, 2);
    let killed = false;
    onFailpoint = async (point) => {
      if (point !== 'before-stage' || killed) return;
      killed = true;
      await s3.kill(); // the day's files are still to be read from the lake
    };
    const result = sweep();
    await loadFailed(day, 2);
    expect(killed).toBe(true);
    await s3.start();
    expect(await result).toEqual({ loaded: 1, unchanged: 0, failed: [], skippedRunning: 0 });
    await expectLoadedOnce(day);
    await expectLoadedOnce('2026-11-20'); // untouched
  });
});
