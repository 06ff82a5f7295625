import { afterEach, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../core/errors.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import { concatColumns } from '../../../lake/columns.ts';
import type { SourceRange } from '../../../lake/layout.ts';
import type { RangedReadStats } from '../../../lake/ranged-object.ts';
import { scan, scanColumns, scanLatest } from '../../../lake/reader.ts';
import { barsTable, rawTable, type TableDef } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { T0, collect, makeTicks, tempStorage } from './fixtures.ts';

const range = (start: number, end: number): SourceRange => ({
  topic: 't',
  partition: 0,
  startOffset: String(start),
  endOffset: String(end),
});

describe('column projection', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());

  async function lakeOf(n: number, rowGroupRows = 500) {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage, { rowGroupRows });
    await lake.commit(rawTable, await lake.writeFile(rawTable, makeTicks(n), range(0, n - 1)));
    return { ...t, lake };
  }

  it('decodes the chosen columns plus time, symbol and key, with the same values as a full scan', async () => {
    const { storage } = await lakeOf(3000);
    const filter = { symbols: ['MSFT'], fromUs: T0 + 10_000_000 };
    const full = concatColumns(await collect(scanColumns(storage, rawTable, filter)), rawTable.columns);
    const projected = await collect(scanColumns(storage, rawTable, { ...filter, columns: ['price', 'size'] }));
    for (const cols of projected) expect(Object.keys(cols)).toEqual(['id', 'symbol', 'ts', 'price', 'size']);
    const p = concatColumns(
      projected,
      rawTable.columns.filter((c) => c.name in projected[0]!),
    );
    expect(p.id!.length).toBeGreaterThan(100);
    for (const name of ['id', 'symbol', 'ts', 'price', 'size']) expect(p[name]).toEqual(full[name]);
    // scan (Arrow batches) carries the projection's schema.
    const batches = await collect(scan(storage, rawTable, { columns: ['bid'] }));
    expect(batches[0]!.schema.fields.map((f) => f.name)).toEqual(['id', 'symbol', 'ts', 'bid']);
  });

  it('fetches only the chosen column chunks', async () => {
    const { storage } = await lakeOf(20_000, 5000);
    const fetched = async (columns?: string[]) => {
      const stats: RangedReadStats = { requests: 0, bytes: 0 };
      for await (const _ of scanColumns(storage, rawTable, { columns }, stats));
      return stats.bytes;
    };
    const all = await fetched();
    const two = await fetched(['price', 'size']);
    const none = await fetched([]);
    // id, symbol, ts are always read; id (unique strings) dominates them.
    expect(two).toBeLessThan(all * 0.7);
    expect(none).toBeLessThan(two);
  });

  it('reads a chosen column an older file lacks as null', async () => {
    const { storage, lake } = await lakeOf(10);
    const v2: TableDef = {
      ...rawTable,
      version: 2,
      columns: [...rawTable.columns, { name: 'venue', kind: 'dict', nullable: true, since: 2, field: 'venue' }],
    };
    const newer = makeTicks(10, { seq0: 10 }).map((t) => ({ ...t, venue: 'X' }));
    await lake.commit(v2, await lake.writeFile(v2, newer, range(10, 19)));
    const venues = (await collect(scanColumns(storage, v2, { columns: ['venue'] }))).flatMap((c) => c.venue!);
    expect(venues.filter((v) => v === null)).toHaveLength(10);
    expect(venues.filter((v) => v === 'X')).toHaveLength(10);
  });

  it('keeps the latest bar revision when the projection leaves the revision out', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    const bar = (revision: number, close: number): Bar => ({
      v: 1,
      symbol: 'AAPL',
      windowStart: T0,
      windowEnd: T0 + 60_000_000,
      open: 1,
      high: 9,
      low: 1,
      close,
      volume: 10,
      vwap: 2,
      trades: 3,
      firstTs: T0,
      lastTs: T0 + 1,
      revision,
    });
    await lake.commit(barsTable, await lake.writeFile(barsTable, [bar(1, 5)], range(0, 0)));
    await lake.commit(barsTable, await lake.writeFile(barsTable, [bar(0, 4)], range(1, 1)));
    const [cols] = await collect(scanLatest(t.storage, barsTable, { columns: ['close'] }));
    expect(cols).toEqual({ symbol: ['AAPL'], window_start: [T0], close: [5], revision: [1] });
  });

  it('refuses a column the table does not have, naming it', async () => {
    const { storage } = await lakeOf(10);
    const err = await collect(scanColumns(storage, rawTable, { columns: ['price', 'pirce'] })).catch((e) => e);
    expect(isTickLakeError(err) && err.code).toBe('INPUT_INVALID');
    expect(String(err)).toMatch(/no column pirce/);
  });
});
