import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { bigqueryClient } from '../../../infra/clients.ts';
import { rawTable, type TableDef } from '../../../lake/tables.ts';
import { bigquerySchemaOf } from '../../../warehouse/schema.ts';
import { encode } from '../../../lake/writer.ts';
import { testStackConfig } from '../../support/stack.ts';
import { uniqueName } from '../../support/ids.ts';

const config = testStackConfig();
const bq = bigqueryClient(config);
const datasetId = uniqueName('stack_test').replace(/-/g, '_');

afterAll(async () => {
  await bq
    .dataset(datasetId)
    .delete({ force: true })
    .catch(() => {});
});

/** A small Parquet file written by an independent engine, with a microsecond UTC timestamp column. */
async function writeParquet(): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'bq-')), 'trades.parquet');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(`COPY (
      SELECT * FROM (VALUES
        ('AAPL', TIMESTAMPTZ '2026-11-27 14:30:00.000001+00', 190.12::DOUBLE, 100::BIGINT),
        ('AAPL', TIMESTAMPTZ '2026-11-27 14:30:01+00', 190.15::DOUBLE, 50::BIGINT),
        ('MSFT', TIMESTAMPTZ '2026-11-27 14:30:02+00', 410.50::DOUBLE, 10::BIGINT)
      ) AS t(symbol, ts, price, size)
    ) TO '${file}' (FORMAT parquet)`);
  conn.closeSync();
  return file;
}

describe('BigQuery emulator through @google-cloud/bigquery', () => {
  it('creates a dataset, loads a Parquet file and queries it', async () => {
    const [dataset] = await bq.createDataset(datasetId, { location: config.bigquery.location });
    expect(dataset.id).toBe(datasetId);

    // A declared schema, as the warehouse loader sends: the emulator, unlike BigQuery, does not infer one from
    // Parquet and reads the load job's schema instead.
    const schema = {
      fields: [
        { name: 'symbol', type: 'STRING', mode: 'REQUIRED' },
        { name: 'ts', type: 'TIMESTAMP', mode: 'REQUIRED' },
        { name: 'price', type: 'FLOAT64', mode: 'REQUIRED' },
        { name: 'size', type: 'INT64', mode: 'REQUIRED' },
      ],
    };
    const [table] = await dataset.createTable('trades', { schema });
    const [job] = await table.load(await writeParquet(), {
      sourceFormat: 'PARQUET',
      writeDisposition: 'WRITE_APPEND',
      schema,
    });
    expect(job.status?.errorResult).toBeUndefined();

    const [rows] = await bq.query({
      query: `SELECT symbol, COUNT(*) AS n, SUM(size) AS volume, MIN(ts) AS first_ts
              FROM \`${config.bigquery.projectId}.${datasetId}.trades\` GROUP BY symbol ORDER BY symbol`,
    });
    expect(
      rows.map((r: { symbol: string; n: number; volume: number }) => [r.symbol, Number(r.n), Number(r.volume)]),
    ).toEqual([
      ['AAPL', 2, 150],
      ['MSFT', 1, 10],
    ]);
    // The microsecond survives Parquet -> BigQuery TIMESTAMP.
    expect(rows[0].first_ts.value).toMatch(/^2026-11-27T14:30:00\.000001(000)?Z$/);
  });

  it('loads a file written by the lake writer (zstd, dictionary symbols, TIMESTAMP(MICROS, UTC)) and queries it', async () => {
    const ticks = Array.from({ length: 500 }, (_, i) => {
      const symbol = ['AAPL', 'MSFT', 'NVDA'][i % 3]!;
      const ts = Date.UTC(2026, 10, 20, 14, 30) * 1000 + i * 1_000_001;
      return {
        v: 1 as const,
        type: 'trade' as const,
        id: `t:${symbol}:${i}`,
        source: 't',
        symbol,
        seq: i,
        ts,
        recvTs: ts + 5,
        price: 100 + i / 100,
        size: 10,
      };
    });
    const [file] = encode(rawTable, ticks, { topic: 'ticks.raw', partition: 0, startOffset: '0', endOffset: '499' });
    const path = join(mkdtempSync(join(tmpdir(), 'bq-lake-')), 'raw.parquet');
    writeFileSync(path, file!.body);
    const schema = bigquerySchemaOf(rawTable as TableDef<unknown>);
    const dataset = bq.dataset(datasetId);
    const [table] = await dataset.createTable('lake_raw', { schema });
    const [job] = await table.load(path, { sourceFormat: 'PARQUET', schema });
    expect(job.status?.errorResult).toBeUndefined();
    const [rows] = await bq.query({
      query: `SELECT symbol, COUNT(*) AS n, MIN(ts) AS first_ts, SUM(size) AS volume
              FROM \`${config.bigquery.projectId}.${datasetId}.lake_raw\` GROUP BY symbol ORDER BY symbol`,
    });
    expect(
      rows.map((r: { symbol: string; n: number; volume: number }) => [r.symbol, Number(r.n), Number(r.volume)]),
    ).toEqual([
      ['AAPL', 167, 1670],
      ['MSFT', 167, 1670],
      ['NVDA', 166, 1660],
    ]);
    expect(rows[0].first_ts.value).toMatch(/^2026-11-20T14:30:00(\.0+)?Z$/);
  });
});
