import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Bar } from '../../../core/schemas/bar.ts';
import { compactPartition, compactTable, mergeSources } from '../../../lake/compaction.ts';
import { DuckDb } from '../../../lake/duckdb.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { commit, loadSnapshot, snapshotFiles } from '../../../lake/manifest.ts';
import { scanColumns } from '../../../lake/reader.ts';
import { barsTable, rawTable, storedSchema } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { NonAtomicStorage, T0, collect, makeTicks, tempStorage } from './fixtures.ts';

const P = partitionOf(T0);
const duckdb = new DuckDb({ threads: 1 });
afterAll(() => duckdb.close());
const range = (partition: number, start: number, end: number): SourceRange => ({
  topic: 'ticks.raw',
  partition,
  startOffset: String(start),
  endOffset: String(end),
});

async function seed(lake: LakeWriter) {
  // Six files of 400 ticks; files 1 and 4 hold the same events (a source replay): 2000 distinct ids.
  for (let i = 0; i < 6; i++) {
    const ticks = makeTicks(400, { seq0: (i === 4 ? 1 : i) * 400, spanUs: 3_000_000_000 });
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(0, i * 400, i * 400 + 399)));
  }
}

async function allRows(storage: LakeWriter['storage'], seq?: number) {
  const parts = await collect(scanColumns(storage, rawTable, { seq }));
  return parts.flatMap((c) =>
    c.id!.map((id, i) => ({ id: id as string, symbol: c.symbol![i] as string, ts: c.ts![i] as number })),
  );
}

describe('compaction', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());

  it('rewrites small files into deduplicated, sorted files of about the target size', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    await seed(lake);
    const before = await loadSnapshot(t.storage, 'raw');
    const inputBytes = before!.days![0]!.bytes;
    const target = Math.ceil(inputBytes / 6) * 2; // room for about a third of the rows per file

    const res = await compactPartition({ storage: t.storage, duckdb }, rawTable, P, {
      targetBytes: target,
      rowGroupRows: 256,
    });
    expect(res).toMatchObject({ status: 'committed', rowsIn: 2400, rowsOut: 2000 });
    expect(res.inputFiles).toHaveLength(6);
    expect(res.outputFiles.length).toBeGreaterThanOrEqual(2);

    const files = await snapshotFiles(t.storage, (await loadSnapshot(t.storage, 'raw'))!);
    expect(files.map((f) => f.path).sort()).toEqual([...res.outputFiles].sort());
    for (const f of files) expect(f.bytes).toBeLessThanOrEqual(target);
    // About the target: every file but the last is filled, not just under it.
    const sizes = [...res.outputFiles].sort().map((p) => files.find((f) => f.path === p)!.bytes);
    for (const b of sizes.slice(0, -1)) expect(b, `${sizes.join(', ')} vs ${target}`).toBeGreaterThan(target * 0.75);
    expect(files.every((f) => f.sources.length === 1 && f.sources[0]!.endOffset === '2399')).toBe(true);
    const rows = await allRows(t.storage);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2000);
    expect(rows).toHaveLength(2000);
    const order = rows.map((r) => `${r.symbol}|${String(r.ts).padStart(20, '0')}`);
    expect(order).toEqual([...order].sort());
    // The replaced files stay readable through the old snapshot until expiry.
    expect(await allRows(t.storage, before!.seq)).toHaveLength(2400);
  });

  it('is idempotent: a second run finds nothing to do', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    await seed(lake);
    await compactPartition({ storage: t.storage, duckdb }, rawTable, P);
    const seq = (await loadSnapshot(t.storage, 'raw'))!.seq;
    expect((await compactPartition({ storage: t.storage, duckdb }, rawTable, P)).status).toBe('nothing_to_do');
    expect(await compactTable({ storage: t.storage, duckdb }, rawTable)).toEqual([]);
    expect((await loadSnapshot(t.storage, 'raw'))!.seq).toBe(seq);
  });

  it('of two racing compactions one wins, the other changes nothing, and no row is lost', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const storage = new NonAtomicStorage(t.storage);
    await seed(new LakeWriter(storage));
    const results = await Promise.all([
      compactPartition({ storage, duckdb }, rawTable, P),
      compactPartition({ storage, duckdb }, rawTable, P),
    ]);
    expect(results.filter((r) => r.status === 'committed')).toHaveLength(1);
    expect(results.map((r) => r.status).filter((s) => s !== 'committed')[0]).toMatch(/noop|conflict/);
    const rows = await allRows(t.storage);
    expect(rows).toHaveLength(2000);
  });

  it('a replace whose inputs are no longer live aborts with conflict', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    await seed(lake);
    const stale = await snapshotFiles(t.storage, (await loadSnapshot(t.storage, 'raw'))!);
    await compactPartition({ storage: t.storage, duckdb }, rawTable, P);
    const seq = (await loadSnapshot(t.storage, 'raw'))!.seq;
    const res = await commit(t.storage, 'raw', storedSchema(rawTable), {
      kind: 'replace',
      partition: P,
      remove: stale.slice(0, 2).map((f) => f.path),
      add: [{ ...stale[0]!, path: 'raw/dt=2024-03-01/hour=10/other.parquet' }],
    });
    expect(res.status).toBe('conflict');
    expect((await loadSnapshot(t.storage, 'raw'))!.seq).toBe(seq);
  });

  it('keeps the highest revision of a bar', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    const bar = (revision: number, close: number): Bar => ({
      v: 1,
      symbol: 'AAPL',
      windowStart: T0,
      windowEnd: T0 + 60_000_000,
      open: 1,
      high: 2,
      low: 0.5,
      close,
      volume: 10,
      vwap: 1.5,
      trades: 3,
      firstTs: T0,
      lastTs: T0 + 1,
      revision,
    });
    const r = (o: number) => ({ topic: 'bars.1m', partition: 0, startOffset: String(o), endOffset: String(o) });
    await lake.commit(barsTable, await lake.writeFile(barsTable, [bar(0, 1.1)], r(0)));
    await lake.commit(barsTable, await lake.writeFile(barsTable, [bar(2, 1.3)], r(1)));
    await lake.commit(barsTable, await lake.writeFile(barsTable, [bar(1, 1.2)], r(2)));
    expect((await compactPartition({ storage: t.storage, duckdb }, barsTable, P)).rowsOut).toBe(1);
    const [cols] = await collect(scanColumns(t.storage, barsTable));
    expect(cols!.revision).toEqual([2]);
    expect(cols!.close).toEqual([1.3]);
  });

  it('merges contiguous source ranges', () => {
    expect(mergeSources([range(0, 10, 19), range(0, 0, 9), range(1, 0, 4), range(0, 30, 39)])).toEqual([
      range(0, 0, 19),
      range(0, 30, 39),
      range(1, 0, 4),
    ]);
  });
});
