import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTickLakeError, type TickLakeError } from '../../../core/errors.ts';
import { bigqueryClient } from '../../../infra/clients.ts';
import { compactPartition } from '../../../lake/compaction.ts';
import { closeDuckDb, DuckDb } from '../../../lake/duckdb.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { barsTable, rawTable, type TableDef } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { dayChecksumSql } from '../../../warehouse/sql.ts';
import { warehouseTable } from '../../../warehouse/tables.ts';
import { Warehouse, type WarehouseDeps } from '../../../warehouse/warehouse.ts';
import { testStackConfig } from '../../support/stack.ts';
import {
  dropWarehouseAndLake,
  lakeDaySum,
  makeBars,
  overwriteWithTextPrice,
  uniqueDataset,
  type DaySum,
} from '../../support/warehouse.ts';
import { makeTicks } from '../../unit/lake/fixtures.ts';

const HOUR_US = 3_600_000_000;
const DAY1 = '2026-11-20';
const DAY2 = '2026-11-21';
const BAD_DAY = '2026-11-22';
const dayUs = (day: string) => Date.parse(`${day}T00:00:00Z`) * 1000;

const config = testStackConfig();
const duckdb = new DuckDb({ threads: 1 });
const bq = bigqueryClient(config);
const dataset = uniqueDataset('it_wh');
const storage = new S3Storage(config.s3, {
  prefix: `it-wh-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}/`,
});
const lake = new LakeWriter(storage);
const deps: WarehouseDeps = {
  bigquery: bq,
  storage,
  projectId: config.bigquery.projectId,
  dataset,
  location: config.bigquery.location,
  concurrency: 2,
};
const wh = new Warehouse(deps);

let offset = 0;
const range = (n: number, topic = 'ticks.raw'): SourceRange => {
  const r = { topic, partition: 0, startOffset: String(offset), endOffset: String(offset + n - 1) };
  offset += n;
  return r;
};

async function warehouseSum(table: string, day: string): Promise<DaySum> {
  const t = warehouseTable(table);
  const [row] = await wh.query(dayChecksumSql(wh.ref, t.def, t.name, day));
  return { rows: Number(row!.row_count), keys: Number(row!.key_count), total: Number(row!.total ?? 0) };
}

async function expectSameAsLake(table: string, def: TableDef, day: string): Promise<DaySum> {
  const want = await lakeDaySum(storage, def, day);
  const got = await warehouseSum(table, day);
  expect({ rows: got.rows, keys: got.keys }).toEqual({ rows: want.rows, keys: want.keys });
  expect(got.rows).toBe(got.keys); // each id (bar key) once
  expect(got.total).toBeCloseTo(want.total, 6);
  return got;
}

beforeAll(async () => {
  // Raw: DAY1 over two hours in three sink files, the second re-delivering 100 ticks of the first (same ids, new
  // offsets); DAY2 in one file.
  const a = makeTicks(300, { startUs: dayUs(DAY1) + 10 * HOUR_US, spanUs: 2 * HOUR_US - 1, seq0: 0 });
  const b = [
    ...a.slice(200),
    ...makeTicks(200, { startUs: dayUs(DAY1) + 10 * HOUR_US, spanUs: 2 * HOUR_US - 1, seq0: 300 }),
  ];
  const c = makeTicks(200, { startUs: dayUs(DAY1) + 11 * HOUR_US, spanUs: HOUR_US - 1, seq0: 1000 });
  const d = makeTicks(150, { startUs: dayUs(DAY2) + 9 * HOUR_US, spanUs: HOUR_US - 1, seq0: 5000 });
  for (const ticks of [a, b, c, d])
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(ticks.length)));
  // Bars: DAY1, revision 0 of 30 minutes, then revision 1 of the first 10 (late trades) in a later file.
  const start = dayUs(DAY1) + 14 * HOUR_US;
  const first = makeBars(30, start, 0);
  const revised = makeBars(10, start, 1);
  for (const bars of [first, revised]) {
    await lake.commit(barsTable, await lake.writeFile(barsTable, bars, range(bars.length, 'bars.1m')));
  }
  const changes = await wh.apply();
  expect(changes.filter((c) => c.action === 'created').map((c) => c.object)).toEqual(
    expect.arrayContaining([dataset, 'ticks', 'ticks_enriched', 'bars_1m', 'alerts', '_load_ledger', 'daily_ohlcv']),
  );
});

afterAll(async () => {
  await dropWarehouseAndLake(bq, dataset, storage);
  storage.client.destroy();
  await duckdb.close();
  await closeDuckDb();
});

describe('warehouse load from the lake into the BigQuery emulator', () => {
  it('creates day-partitioned, symbol-clustered tables from the lake definitions, idempotently', async () => {
    const [meta] = await bq.dataset(dataset).table('bars_1m').getMetadata();
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'window_start' });
    expect(meta.clustering).toEqual({ fields: ['symbol'] });
    const again = await wh.apply();
    expect(again.every((c) => c.action === 'unchanged')).toBe(true);
  });

  it('loads each due day with the lake’s deduplicated rows, and loading again changes nothing', async () => {
    expect(await wh.dueDays('ticks')).toEqual([DAY1, DAY2]);
    const first = await wh.loadDay('ticks', DAY1);
    expect(first).toMatchObject({ status: 'loaded', reason: 'never_loaded', files: 5, lakeRows: 800, rows: 700 });
    const sum1 = await expectSameAsLake('ticks', rawTable, DAY1);
    await wh.loadDay('ticks', DAY2);
    await expectSameAsLake('ticks', rawTable, DAY2);
    expect(await wh.dueDays('ticks')).toEqual([]);

    expect(await wh.loadDay('ticks', DAY1)).toMatchObject({ status: 'unchanged', reason: 'same_day', jobs: 0 });
    expect(await wh.loadDay('ticks', DAY1, { force: true })).toMatchObject({ status: 'loaded', rows: 700 });
    expect(await warehouseSum('ticks', DAY1)).toEqual(sum1);
    // The other day was not touched by replacing DAY1.
    expect((await warehouseSum('ticks', DAY2)).rows).toBe(150);
  });

  it('keeps the latest revision of each bar, as the lake’s dedupe does', async () => {
    expect(await wh.loadDay('bars_1m', DAY1)).toMatchObject({ status: 'loaded', lakeRows: 80, rows: 60 });
    await expectSameAsLake('bars_1m', barsTable, DAY1);
    const rows = await wh.query<{ revision: number; n: number }>(
      `SELECT revision, COUNT(*) AS n FROM \`${config.bigquery.projectId}.${dataset}.bars_1m\` GROUP BY revision ORDER BY revision`,
    );
    expect(rows.map((r) => [Number(r.revision), Number(r.n)])).toEqual([
      [0, 40],
      [1, 20],
    ]);
    const [ohlcv] = await wh.query<Record<string, number>>(
      `SELECT open, close, volume, bars FROM \`${config.bigquery.projectId}.${dataset}.daily_ohlcv\` WHERE symbol = 'AAPL'`,
    );
    // The day opens on the revised first bar and closes on the last (unrevised) one.
    expect(ohlcv).toMatchObject({ open: 101, close: 100 + 29 / 10 + 0.5, bars: 30 });
    const revisedVolume = Array.from({ length: 10 }, (_, i) => 1010 + i).reduce((a, b) => a + b, 0);
    const rest = Array.from({ length: 20 }, (_, i) => 1010 + i).reduce((a, b) => a + b, 0);
    expect(Number(ohlcv!.volume)).toBe(revisedVolume + rest);
    const quality = await wh.query<Record<string, unknown>>(
      `SELECT * FROM \`${config.bigquery.projectId}.${dataset}.data_quality\` ORDER BY day`,
    );
    expect(quality.find((q) => (q.day as { value: string }).value === DAY1)).toMatchObject({
      raw_ticks: 700,
      bars: 60,
      revised_bars: 20,
    });
  });

  it('finds the day unchanged after compaction rewrote its files, and a forced reload gives the same rows', async () => {
    const before = await warehouseSum('ticks', DAY1);
    for (const hour of [10, 11]) {
      const r = await compactPartition({ storage, duckdb }, rawTable, partitionOf(dayUs(DAY1) + hour * HOUR_US));
      expect(r.status).toBe('committed');
    }
    expect(await wh.dueDays('ticks')).toEqual([DAY1]); // its day list changed
    expect(await wh.loadDay('ticks', DAY1)).toMatchObject({ status: 'unchanged', reason: 'same_data_rewritten' });
    expect(await wh.dueDays('ticks')).toEqual([]); // the ledger saw the new day list
    expect(await wh.loadDay('ticks', DAY1, { force: true })).toMatchObject({ status: 'loaded', files: 2 });
    expect(await warehouseSum('ticks', DAY1)).toEqual(before);
    await expectSameAsLake('ticks', rawTable, DAY1);
  });

  it('a retry after a crash between the load and the ledger write does not duplicate', async () => {
    const more = makeTicks(120, { startUs: dayUs(DAY2) + 15 * HOUR_US, spanUs: HOUR_US - 1, seq0: 9000 });
    await lake.commit(rawTable, await lake.writeFile(rawTable, more, range(more.length)));
    const crashing = new Warehouse({
      ...deps,
      failpoint: () => {
        throw new Error('killed after the replace');
      },
    });
    await expect(crashing.loadDay('ticks', DAY2)).rejects.toThrow(/killed/);
    expect(await wh.dueDays('ticks')).toEqual([DAY2]); // no ledger row: the retry loads again
    expect(await wh.loadDay('ticks', DAY2)).toMatchObject({ status: 'loaded', rows: 270 });
    await expectSameAsLake('ticks', rawTable, DAY2);
  });

  it('refuses a file that does not fit the table (non-retryable, naming file and column); other days still load', async () => {
    const ticks = makeTicks(50, { startUs: dayUs(BAD_DAY) + 8 * HOUR_US, spanUs: HOUR_US - 1, seq0: 20_000 });
    const [entry] = await lake.writeFile(rawTable, ticks, range(ticks.length));
    await lake.commit(rawTable, [entry!]);
    // The same object, rewritten by another writer with price as text.
    await overwriteWithTextPrice(storage, entry!.path, BAD_DAY);

    const c2 = makeTicks(40, { startUs: dayUs(DAY1) + 20 * HOUR_US, spanUs: HOUR_US - 1, seq0: 30_000 });
    await lake.commit(rawTable, await lake.writeFile(rawTable, c2, range(c2.length)));
    const due = await wh.dueDays('ticks');
    expect(due).toEqual([DAY1, BAD_DAY]);
    const results = await Promise.allSettled(due.map((day) => wh.loadDay('ticks', day)));
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { status: 'loaded', day: DAY1 } });
    const err = (results[1] as PromiseRejectedResult).reason as TickLakeError;
    expect(isTickLakeError(err, 'SCHEMA_INCOMPATIBLE')).toBe(true);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(entry!.path);
    expect(err.message).toMatch(/column price is VARCHAR/);
    expect(err.details).toMatchObject({ file: entry!.path, column: 'price' });
    await expectSameAsLake('ticks', rawTable, DAY1);
    expect((await warehouseSum('ticks', BAD_DAY)).rows).toBe(0);
  });
});
