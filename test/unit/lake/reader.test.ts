import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_US, type SourceRange } from '../../../lake/layout.ts';
import { lakeCat, lakeLs, lakeStats, planFiles, planScan, scan, scanColumns } from '../../../lake/reader.ts';
import { commit } from '../../../lake/manifest.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import { barsTable, rawTable, storedSchema } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import type { FsStorage } from '../../../lake/storage/fs.ts';
import { decodeRows } from '../../../lake/parquet.ts';
import type { RangedReadStats } from '../../../lake/ranged-object.ts';
import { T0, collect, expectPartialReads, makeTicks, tempStorage } from './fixtures.ts';

const range = (partition: number, start: number, end: number): SourceRange => ({
  topic: 'ticks.raw',
  partition,
  startOffset: String(start),
  endOffset: String(end),
});

describe('reader', () => {
  let storage: FsStorage;
  let cleanup = async () => {};

  beforeAll(async () => {
    ({ storage, cleanup } = await tempStorage());
    const lake = new LakeWriter(storage, { rowGroupRows: 100 });
    // Hour 10: AAPL/MSFT on Kafka partition 0; hour 10: NVDA/TSLA on partition 1; hour 12: all four.
    await lake.commit(
      rawTable,
      await lake.writeFile(
        rawTable,
        makeTicks(400, { symbols: ['AAPL', 'MSFT'], spanUs: 3_000_000_000 }),
        range(0, 0, 399),
      ),
    );
    await lake.commit(
      rawTable,
      await lake.writeFile(
        rawTable,
        makeTicks(400, { symbols: ['NVDA', 'TSLA'], seq0: 400, spanUs: 3_000_000_000 }),
        range(1, 0, 399),
      ),
    );
    await lake.commit(
      rawTable,
      await lake.writeFile(rawTable, makeTicks(400, { startUs: T0 + 2 * HOUR_US, seq0: 800 }), range(0, 400, 799)),
    );
  });
  afterAll(() => cleanup());

  const count = async (f: Parameters<typeof scanColumns>[2]) => {
    let n = 0;
    for await (const c of scanColumns(storage, rawTable, f)) n += c.id!.length;
    return n;
  };

  it('prunes partitions by path, files by symbol set, row groups by time', async () => {
    const plan = await planScan(storage, 'raw', { fromUs: T0, toUs: T0 + 600_000_000, symbols: ['AAPL'] });
    expect(plan.pruned.partitions).toBe(1);
    expect(plan.files).toHaveLength(1);
    expect(plan.files[0]!.entry.symbols).toEqual(['AAPL', 'MSFT']);
    // 400 sorted rows in 4 row groups: AAPL's rows are the first 200, and only the early minutes are wanted.
    expect(plan.files[0]!.rowGroups).toEqual([0]);
    expect(plan.pruned.files).toBe(1);
  });

  it('returns exactly the matching rows', async () => {
    const all = makeTicks(400, { symbols: ['AAPL', 'MSFT'], spanUs: 3_000_000_000 });
    const expected = all.filter((t) => t.symbol === 'AAPL' && t.ts >= T0 && t.ts < T0 + 600_000_000).length;
    expect(await count({ fromUs: T0, toUs: T0 + 600_000_000, symbols: ['AAPL'] })).toBe(expected);
    expect(await count({})).toBe(1200);
    expect(await count({ fromUs: T0 + 2 * HOUR_US })).toBe(400);
    expect(await count({ symbols: ['NOPE'] })).toBe(0);
  });

  it('yields Arrow record batches in the table schema', async () => {
    const batches = await collect(scan(storage, rawTable, { symbols: ['TSLA'], toUs: T0 + HOUR_US }));
    expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(200);
    expect(batches[0]!.schema.fields.map((f) => f.name)).toEqual(rawTable.columns.map((c) => c.name));
  });

  it('fetches the footer and the kept row groups only, not whole files', async () => {
    const { storage: s, cleanup: c } = await tempStorage();
    try {
      const lake = new LakeWriter(s, { rowGroupRows: 5000 });
      const ticks = makeTicks(40_000, { symbols: ['AAPL', 'MSFT', 'NVDA', 'TSLA'], spanUs: 3_000_000_000 });
      await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(0, 0, 39_999)));
      const [file] = (await lakeLs(s, 'raw')).files;
      const stats: RangedReadStats = { requests: 0, bytes: 0 };
      const ids = (await collect(scanColumns(s, rawTable, { symbols: ['MSFT'] }, stats))).flatMap((cols) => cols.id!);
      // Sorted by symbol: MSFT is 2 of the 8 row groups. One GET for the tail (footer), one per row group kept.
      expect(ids.sort()).toEqual(
        ticks
          .filter((t) => t.symbol === 'MSFT')
          .map((t) => t.id)
          .sort(),
      );
      expect(stats.requests).toBe(3);
      expect(stats.bytes).toBeLessThan(file!.bytes / 2);
      // The same rows as decoding the whole file.
      const whole = decodeRows(rawTable.columns, (await s.get(file!.path))!).filter((r) => r.symbol === 'MSFT');
      expect(whole.map((r) => r.id).sort()).toEqual(ids);
      // A file that is not what the manifest recorded is refused, not misread.
      await s.put(file!.path, (await s.get(file!.path))!.subarray(0, file!.bytes - 1));
      await expect(collect(scanColumns(s, rawTable))).rejects.toThrow(/the manifest says/);
      await s.delete(file!.path);
      await expect(collect(scanColumns(s, rawTable))).rejects.toThrow(/missing from storage/);
    } finally {
      await c();
    }
  });

  it('reads byte ranges and lists from a key on the filesystem backend', async () => {
    await expectPartialReads(storage, 'ranges/blob.bin');
  });

  it('plans with min/max symbols when a file lists no symbol set', () => {
    const entry = {
      minSymbol: 'B',
      maxSymbol: 'D',
      symbols: null,
      minTs: 0,
      maxTs: 10,
      rowGroups: [{ rows: 1, minTs: 0, maxTs: 10, minSymbol: 'B', maxSymbol: 'D' }],
    };
    const f = entry as never;
    expect(planFiles([f], { symbols: ['C'] }).files).toHaveLength(1);
    expect(planFiles([f], { symbols: ['E'] }).files).toHaveLength(0);
  });

  it('backs lake ls, stats and cat', async () => {
    const ls = await lakeLs(storage, 'raw');
    expect(ls.seq).toBe(3);
    expect(ls.files).toHaveLength(3);
    expect((await lakeLs(storage, 'raw', { seq: 1 })).files).toHaveLength(1);
    const stats = await lakeStats(storage, 'raw');
    expect(stats.partitions.map((p) => [p.partition, p.files, p.rows])).toEqual([
      ['dt=2024-03-01/hour=10', 2, 800],
      ['dt=2024-03-01/hour=12', 1, 400],
    ]);
    expect(stats.total).toMatchObject({ partitions: 2, files: 3, rows: 1200 });
    expect(stats.offsets).toEqual({ 'ticks.raw/0': '800', 'ticks.raw/1': '400' });
    const lines = await collect(lakeCat(storage, rawTable, { symbols: ['MSFT'], limit: 3 }));
    expect(lines).toHaveLength(3);
    const row = JSON.parse(lines[0]!);
    expect(row).toMatchObject({ symbol: 'MSFT', source: 'syn' });
    expect(typeof row.ts).toBe('number');
  });

  it('reads files of an older schema version with the new nullable columns as null', async () => {
    const { storage: s, cleanup: c } = await tempStorage();
    try {
      const lake = new LakeWriter(s);
      await lake.commit(rawTable, await lake.writeFile(rawTable, makeTicks(10), range(0, 0, 9)));
      const v2 = {
        ...rawTable,
        version: 2,
        columns: [
          ...rawTable.columns,
          { name: 'venue', kind: 'dict' as const, nullable: true, since: 2, field: 'venue' },
        ],
      };
      await lake.commit(
        v2,
        await lake.writeFile(
          v2,
          makeTicks(10, { seq0: 10 }).map((t) => ({ ...t, venue: 'X' })),
          range(0, 10, 19),
        ),
      );
      expect((await lakeStats(s, 'raw')).schemaVersion).toBe(2);
      const venues = (await collect(scanColumns(s, v2))).flatMap((cols) => cols.venue!);
      expect(venues.filter((v) => v === null)).toHaveLength(10);
      expect(venues.filter((v) => v === 'X')).toHaveLength(10);
      // An old writer during a rolling deploy may still commit; a broken one may not.
      await expect(
        lake.commit(rawTable, await lake.writeFile(rawTable, makeTicks(5, { seq0: 20 }), range(0, 20, 24))),
      ).resolves.toMatchObject({ status: 'committed' });
      await expect(
        commit(
          s,
          'raw',
          { ...storedSchema(rawTable), version: 3 },
          { kind: 'append', entries: [], ranges: [range(0, 25, 25)] },
        ),
      ).rejects.toThrow(/venue was dropped/);
    } finally {
      await c();
    }
  });
});

describe('reading one row per key (lake cat)', () => {
  const bar = (windowStart: number, revision: number, close: number): Bar => ({
    v: 1,
    symbol: 'AAPL',
    windowStart,
    windowEnd: windowStart + 60_000_000,
    open: 100,
    high: Math.max(100, close),
    low: Math.min(100, close),
    close,
    volume: 10 + revision,
    vwap: 100,
    trades: 1 + revision,
    firstTs: windowStart,
    lastTs: windowStart + 1,
    revision,
  });
  const barRange = (start: number, end: number): SourceRange => ({ ...range(0, start, end), topic: 'bars.1m' });

  it('gives the latest revision of each bar, and every revision with all', async () => {
    const { storage: s, cleanup: c } = await tempStorage();
    try {
      const lake = new LakeWriter(s);
      // Revision 1 of the first bar lands in a later file (and commit) than revision 0.
      await lake.commit(
        barsTable,
        await lake.writeFile(barsTable, [bar(T0, 0, 101), bar(T0 + 60e6, 0, 99)], barRange(0, 1)),
      );
      await lake.commit(barsTable, await lake.writeFile(barsTable, [bar(T0, 1, 105)], barRange(2, 2)));
      const latest = (await collect(lakeCat(s, barsTable))).map((l) => JSON.parse(l) as Record<string, number>);
      expect(latest.map((r) => [r.window_start, r.revision, r.close])).toEqual([
        [T0, 1, 105],
        [T0 + 60e6, 0, 99],
      ]);
      const all = await collect(lakeCat(s, barsTable, { all: true }));
      expect(all).toHaveLength(3);
    } finally {
      await c();
    }
  });

  it('gives a tick delivered twice once', async () => {
    const { storage: s, cleanup: c } = await tempStorage();
    try {
      const lake = new LakeWriter(s);
      const ticks = makeTicks(20);
      await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(0, 0, 19)));
      await lake.commit(rawTable, await lake.writeFile(rawTable, ticks.slice(5, 8), range(0, 20, 22)));
      const ids = (await collect(lakeCat(s, rawTable, { limit: 100 }))).map(
        (l) => (JSON.parse(l) as { id: string }).id,
      );
      expect(ids).toHaveLength(20);
      expect(new Set(ids)).toEqual(new Set(ticks.map((t) => t.id)));
      expect(await collect(lakeCat(s, rawTable, { limit: 100, all: true }))).toHaveLength(23);
    } finally {
      await c();
    }
  });
});
