import { randomBytes } from 'node:crypto';
import type { BigQuery } from '@google-cloud/bigquery';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigqueryClient } from '../../../infra/clients.ts';
import { createLogger } from '../../../infra/logger.ts';
import { startFreshnessMonitor } from '../../../infra/warehouse-freshness.ts';
import { closeDuckDb } from '../../../lake/duckdb.ts';
import type { SourceRange } from '../../../lake/layout.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { warehouseFreshness } from '../../../warehouse/freshness.ts';
import { Warehouse } from '../../../warehouse/warehouse.ts';
import { testStackConfig } from '../../support/stack.ts';
import { privateBigQuery, type PrivateServer } from '../../support/servers.ts';
import { uniqueDataset } from '../../support/warehouse.ts';
import { makeTicks } from '../../unit/lake/fixtures.ts';

/**
 * Warehouse freshness from the load ledger, against the test stack's S3 and BigQuery emulator: the latest event
 * time of what was loaded, not of what the lake holds since (the ledger's day list says exactly what a load read).
 */
const HOUR_US = 3_600_000_000;
const DAY = '2026-11-20';
const dayUs = Date.parse(`${DAY}T00:00:00Z`) * 1000;

const config = testStackConfig();
const dataset = uniqueDataset('it_fresh');
const storage = new S3Storage(config.s3, { prefix: `it-fresh-${randomBytes(4).toString('hex')}/` });
const lake = new LakeWriter(storage);
// An emulator of this file's own: the shared one is busy with every other warehouse test.
let bqServer: PrivateServer;
let bq: BigQuery;
let wh: Warehouse;

let offset = 0;
async function seed(startUs: number, n: number): Promise<number> {
  const ticks = makeTicks(n, { startUs, spanUs: HOUR_US - 1, seq0: offset });
  const range: SourceRange = {
    topic: 'ticks.raw',
    partition: 0,
    startOffset: String(offset),
    endOffset: String(offset + n - 1),
  };
  offset += n;
  await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range));
  return Math.max(...ticks.map((t) => t.ts));
}

beforeAll(async () => {
  const priv = await privateBigQuery();
  bqServer = priv.server;
  bq = bigqueryClient(priv.config);
  wh = new Warehouse({
    bigquery: bq,
    storage,
    projectId: priv.config.bigquery.projectId,
    dataset,
    location: priv.config.bigquery.location,
    concurrency: 2,
  });
  await wh.apply();
}, 240_000);

afterAll(async () => {
  for (const o of await storage.list('')) await storage.delete(o.key);
  storage.client.destroy();
  await bqServer?.close();
  await closeDuckDb();
}, 120_000);

describe('warehouse freshness', () => {
  it('is the latest event time loaded, per table, and stays so while the lake runs ahead of the loads', async () => {
    expect((await warehouseFreshness(wh, storage)).find((t) => t.table === 'ticks')).toEqual({
      table: 'ticks',
      maxEventUs: null,
      lastRecordedMs: null,
    });
    const loadedMax = await seed(dayUs + 9 * HOUR_US, 200);
    const before = Date.now();
    expect((await wh.loadDay('ticks', DAY)).status).toBe('loaded');
    let ticks = (await warehouseFreshness(wh, storage)).find((t) => t.table === 'ticks')!;
    expect(ticks.maxEventUs).toBe(loadedMax);
    expect(ticks.lastRecordedMs).toBeGreaterThanOrEqual(before - 1000);

    // Later ticks land in the lake, the day is not loaded again yet: the warehouse is as fresh as before.
    const newer = await seed(dayUs + 12 * HOUR_US, 100);
    expect(newer).toBeGreaterThan(loadedMax);
    ticks = (await warehouseFreshness(wh, storage)).find((t) => t.table === 'ticks')!;
    expect(ticks.maxEventUs).toBe(loadedMax);

    // The monitor exports it in seconds; the tables with nothing loaded have no series.
    const registry = new Registry();
    const monitor = startFreshnessMonitor({
      warehouse: wh,
      storage,
      registry,
      intervalMs: 60_000,
      log: createLogger({ test: 'freshness' }, 'warn'),
    });
    await monitor.poll();
    monitor.stop();
    const text = await registry.metrics();
    expect(text).toContain(`ticklake_warehouse_max_event_timestamp_seconds{table="ticks"} ${loadedMax / 1e6}`);
    expect(text).not.toContain('ticklake_warehouse_max_event_timestamp_seconds{table="bars_1m"}');

    await wh.loadDay('ticks', DAY);
    ticks = (await warehouseFreshness(wh, storage)).find((t) => t.table === 'ticks')!;
    expect(ticks.maxEventUs).toBe(newer);
  }, 400_000);
});
