import { DuckDBInstance } from '@duckdb/node-api';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatColumns, fromRecordBatch } from '../../../lake/columns.ts';
import { decodeParquet, decodeRows, encodeParquet, inspectParquet } from '../../../lake/parquet.ts';
import { rawTable, toColumns } from '../../../lake/tables.ts';
import { makeTicks, tempStorage } from './fixtures.ts';

describe('parquet codec', () => {
  const ticks = makeTicks(3000);
  const cols = toColumns(rawTable, ticks);
  const bytes = encodeParquet(rawTable.columns, cols, ticks.length, {
    rowGroupRows: 1000,
    metadata: { 'ticklake.table': 'raw' },
  });
  let dir = '';
  let cleanup = async () => {};

  beforeAll(async () => {
    ({ dir, cleanup } = await tempStorage());
  });
  afterAll(() => cleanup());

  it('round-trips every column, nulls and lists included', () => {
    const batches = decodeParquet(bytes);
    const back = concatColumns(
      batches.map((b) => fromRecordBatch(rawTable.columns, b)),
      rawTable.columns,
    );
    expect(back).toEqual(cols);
    expect(back.ts![7]).toBe(ticks[7]!.ts);
    expect(back.price![2]).toBeNull();
    expect(back.conditions![0]).toEqual(['@', 'T']);
  });

  it('writes zstd pages, dictionary-encoded symbols, fixed-size row groups and our metadata', async () => {
    const info = await inspectParquet(bytes);
    expect(info.rows).toBe(3000);
    expect(info.rowGroups.map((r) => r.rows)).toEqual([1000, 1000, 1000]);
    const col = (name: string) => info.rowGroups[0]!.columns.find((c) => c.path === name)!;
    expect(col('symbol').encodings).toContain('RLE_DICTIONARY');
    expect(col('id').encodings).not.toContain('RLE_DICTIONARY');
    for (const c of info.rowGroups[0]!.columns) expect(c.compression).toBe('ZSTD');
    expect(info.keyValue['ticklake.table']).toBe('raw');
  });

  it('decodes to plain rows keyed by column name', () => {
    const rows = decodeRows(rawTable.columns, bytes, { rowGroups: [0] });
    expect(rows).toHaveLength(1000);
    const t = ticks[1]!;
    expect(rows[1]).toMatchObject({ id: t.id, symbol: t.symbol, ts: t.ts, recv_ts: t.recvTs, bid: null });
  });

  it('can delta-encode timestamps and int64s, smaller on sorted data', async () => {
    const delta = encodeParquet(rawTable.columns, cols, ticks.length, { deltaIntegers: true });
    const info = await inspectParquet(delta);
    expect(info.rowGroups[0]!.columns.find((c) => c.path === 'ts')!.encodings).toContain('DELTA_BINARY_PACKED');
    expect(delta.length).toBeLessThan(bytes.length);
    expect(
      concatColumns(
        decodeParquet(delta).map((b) => fromRecordBatch(rawTable.columns, b)),
        rawTable.columns,
      ),
    ).toEqual(cols);
  });

  it('reads only the requested row groups', () => {
    const batches = decodeParquet(bytes, { rowGroups: [2] });
    expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(1000);
    expect(fromRecordBatch(rawTable.columns, batches[0]!).id![0]).toBe(ticks[2000]!.id);
  });

  it('rejects bytes that are not Parquet with INPUT_INVALID', () => {
    expect(() => decodeParquet(new TextEncoder().encode('not parquet at all'))).toThrow(/not a readable Parquet file/);
  });

  it('is read by DuckDB with UTC microsecond timestamps, doubles and the same rows', async () => {
    const file = join(dir, 'raw.parquet');
    await writeFile(file, bytes);
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const schema = (
        await con.runAndReadAll(`select name, type, logical_type from parquet_schema('${file}')`)
      ).getRowObjectsJson();
      const ts = schema.find((r) => r.name === 'ts')!;
      expect(ts.type).toBe('INT64');
      expect(String(ts.logical_type)).toMatch(/isAdjustedToUTC=1.*MICROS=MicroSeconds/);
      expect(schema.find((r) => r.name === 'price')!.type).toBe('DOUBLE');
      const stats = (
        await con.runAndReadAll(
          `select stats_min_value from parquet_metadata('${file}') where path_in_schema = 'seq' and row_group_id = 1`,
        )
      ).getRowObjectsJson();
      expect(stats[0]!.stats_min_value).toBe('1000');

      const rows = (
        await con.runAndReadAll(
          `select id, symbol, type, epoch_us(ts)::bigint as ts, price, bid, conditions from '${file}' order by seq`,
        )
      ).getRowObjectsJson();
      expect(rows).toHaveLength(3000);
      const pick = (i: number) => {
        const t = ticks[i]!;
        return {
          id: t.id,
          symbol: t.symbol,
          type: t.type,
          ts: String(t.ts),
          price: t.type === 'trade' ? t.price : null,
          bid: t.type === 'quote' ? t.bid : null,
          conditions: t.conditions ?? null,
        };
      };
      for (const i of [0, 1, 2, 1499, 2999]) expect(rows[i]).toEqual(pick(i));
    } finally {
      con.closeSync();
    }
  });
});
