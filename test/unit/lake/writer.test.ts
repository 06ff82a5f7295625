import { afterEach, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../core/errors.ts';
import { dataFileKey, partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { loadSnapshot, snapshotFiles } from '../../../lake/manifest.ts';
import { scanColumns } from '../../../lake/reader.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { T0, collect, makeTicks, tempStorage } from './fixtures.ts';

const r0: SourceRange = { topic: 'ticks.raw', partition: 2, startOffset: '1000', endOffset: '1199' };

describe('lake writer', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());

  it('names files by event hour and source range, one per hour the rows span', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    // 200 ticks over two hours starting 10:30.
    const ticks = makeTicks(200, { startUs: T0 + 1_800_000_000, spanUs: 7_200_000_000 });
    const files = lake.encode(rawTable, ticks, r0);
    expect(files.map((f) => f.key)).toEqual([
      'raw/dt=2024-03-01/hour=10/ticks.raw+2+0000000000000001000+0000000000000001199.parquet',
      'raw/dt=2024-03-01/hour=11/ticks.raw+2+0000000000000001000+0000000000000001199.parquet',
      'raw/dt=2024-03-01/hour=12/ticks.raw+2+0000000000000001000+0000000000000001199.parquet',
    ]);
    expect(files.reduce((n, f) => n + f.stats.rows, 0)).toBe(200);
    for (const f of files) expect(partitionOf(f.stats.minTs)).toBe(f.partition);
  });

  it('recovers from a crash between upload and commit: the retry overwrites the same object', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const ticks = makeTicks(50);
    const crashed = new LakeWriter(t.storage);
    await crashed.writeFile(rawTable, ticks, r0); // ...and the process dies before commit
    const restarted = new LakeWriter(t.storage);
    expect(await restarted.committedOffsets(rawTable)).toEqual([]);
    const entries = await restarted.writeFile(rawTable, ticks, r0);
    expect((await t.storage.list('raw/dt=')).map((o) => o.key)).toEqual([dataFileKey('raw', partitionOf(T0), r0)]);
    await restarted.commit(rawTable, entries);
    expect(await restarted.committedOffsets(rawTable)).toEqual([
      { topic: 'ticks.raw', partition: 2, nextOffset: '1200' },
    ]);
  });

  it('recovers from a crash after commit: the replayed range is skipped, rows are not doubled', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    const ticks = makeTicks(50);
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, r0));
    const replay = await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, r0));
    expect(replay.status).toBe('noop');
    let rows = 0;
    for await (const c of scanColumns(t.storage, rawTable)) rows += c.id!.length;
    expect(rows).toBe(50);
  });

  it('refuses to commit an upload older than the orphan grace allows', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    let now = Date.now();
    const lake = new LakeWriter(t.storage, { maxUploadAgeMs: 60_000, now: () => now });
    const entries = await lake.writeFile(rawTable, makeTicks(5), r0);
    now += 120_000;
    const err = await lake.commit(rawTable, entries).catch((e: unknown) => e);
    expect(isTickLakeError(err, 'STALE_UPLOAD')).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(true);
    expect(await loadSnapshot(t.storage, 'raw')).toBeNull();
  });

  it('stores sorted rows and manifest stats that match them', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage, { rowGroupRows: 16 });
    await lake.commit(rawTable, await lake.writeFile(rawTable, makeTicks(100), r0));
    const [entry] = await snapshotFiles(t.storage, (await loadSnapshot(t.storage, 'raw'))!);
    expect(entry).toMatchObject({
      rows: 100,
      symbols: ['AAPL', 'MSFT', 'NVDA', 'TSLA'],
      minSymbol: 'AAPL',
      maxSymbol: 'TSLA',
    });
    expect(entry!.rowGroups.map((g) => g.rows)).toEqual([16, 16, 16, 16, 16, 16, 4]);
    const [cols] = await collect(scanColumns(t.storage, rawTable));
    const keys = cols!.symbol!.map((s, i) => `${s}|${String(cols!.ts![i]).padStart(20, '0')}`);
    expect(keys).toEqual([...keys].sort());
  });
});
