import { isTickLakeError } from '../../../core/errors.ts';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR_US, type SourceRange } from '../../../lake/layout.ts';
import {
  commit,
  committedOffsets,
  expireSnapshots,
  listSnapshotSeqs,
  loadSnapshot,
  planOffsets,
  removeOrphans,
  snapshotDays,
  snapshotFiles,
  snapshotPartitions,
} from '../../../lake/manifest.ts';
import { rawTable, storedSchema } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { NonAtomicStorage, T0, makeTicks, tempStorage } from './fixtures.ts';

const range = (partition: number, start: number, end: number, topic = 'ticks.raw'): SourceRange => ({
  topic,
  partition,
  startOffset: String(start),
  endOffset: String(end),
});

describe('offset planning', () => {
  it('skips committed ranges, reports gaps, rejects partial overlaps', () => {
    const r = planOffsets({ 'ticks.raw/0': '100' }, [
      range(0, 50, 99),
      range(0, 120, 129),
      range(0, 100, 119),
      range(1, 0, 9),
    ]);
    expect(r.skipped).toEqual([range(0, 50, 99)]);
    expect(r.offsets).toEqual({ 'ticks.raw/0': '130', 'ticks.raw/1': '10' });
    expect(r.gaps).toEqual([]);
    expect(planOffsets({ 'ticks.raw/0': '100' }, [range(0, 105, 110)]).gaps).toEqual([
      { topic: 'ticks.raw', partition: 0, from: '100', to: '104' },
    ]);
    expect(() => planOffsets({ 'ticks.raw/0': '100' }, [range(0, 90, 110)])).toThrow(/overlaps committed offsets/);
    // The code, not the message, is what the sink's retry loop reads: an overlap is never retried.
    const err = (() => {
      try {
        planOffsets({ 'ticks.raw/0': '100' }, [range(0, 90, 110)]);
      } catch (e) {
        return e;
      }
    })();
    expect(isTickLakeError(err, 'OFFSET_OVERLAP') && !err.retryable).toBe(true);
  });
});

describe('manifest commits', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());

  it('is idempotent: committing an already committed range is a no-op', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    const entries = await lake.writeFile(rawTable, makeTicks(100), range(0, 0, 99));
    const first = await lake.commit(rawTable, entries);
    expect(first).toMatchObject({ status: 'committed', seq: 1 });
    const again = await lake.commit(rawTable, entries);
    expect(again).toMatchObject({ status: 'noop', seq: 1, skipped: [range(0, 0, 99)] });
    expect(await listSnapshotSeqs(t.storage, 'raw')).toEqual([1]);
    expect(await committedOffsets(t.storage, 'raw')).toEqual([{ topic: 'ticks.raw', partition: 0, nextOffset: '100' }]);
  });

  it('advances offsets for ranges that produced no file', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    await lake.commit(rawTable, [], { ranges: [range(3, 0, 41)] });
    expect(await lake.committedOffsets(rawTable)).toEqual([{ topic: 'ticks.raw', partition: 3, nextOffset: '42' }]);
  });

  it.each([
    ['atomic create-if-absent', false],
    ['consensus without it', true],
  ])('loses no entry when 6 committers race (%s)', async (_name, nonAtomic) => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const storage = nonAtomic ? new NonAtomicStorage(t.storage) : t.storage;
    const lake = new LakeWriter(storage);
    const ranges = Array.from({ length: 6 }, (_, i) => range(i, 0, 9));
    const written = await Promise.all(
      ranges.map((r, i) => lake.writeFile(rawTable, makeTicks(10, { seq0: i * 10 }), r)),
    );
    const results = await Promise.all(written.map((entries) => lake.commit(rawTable, entries)));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill('committed'));
    expect(new Set(results.map((r) => r.seq)).size).toBe(6);
    const snap = (await loadSnapshot(t.storage, 'raw'))!;
    expect(snap.seq).toBe(6);
    const files = await snapshotFiles(t.storage, snap);
    expect(files.map((f) => f.path).sort()).toEqual(
      written
        .flat()
        .map((e) => e.path)
        .sort(),
    );
    expect(Object.keys(snap.offsets)).toHaveLength(6);
    // Every snapshot's parent is the one before it: a linear history.
    for (const seq of await listSnapshotSeqs(t.storage, 'raw')) {
      expect((await loadSnapshot(t.storage, 'raw', seq))!.parentSeq).toBe(seq === 1 ? null : seq - 1);
    }
  });

  it('two committers of the same range (a zombie and its replacement) commit it once', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const storage = new NonAtomicStorage(t.storage);
    const lake = new LakeWriter(storage);
    const entries = await lake.writeFile(rawTable, makeTicks(20), range(0, 0, 19));
    const results = await Promise.all([lake.commit(rawTable, entries), lake.commit(rawTable, entries)]);
    expect(results.map((r) => r.status).sort()).toEqual(['committed', 'noop']);
    const snap = (await loadSnapshot(t.storage, 'raw'))!;
    expect(snap.days![0]!.rows).toBe(20);
  });

  it('rejects an incompatible schema with a clear error', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    await lake.commit(rawTable, await lake.writeFile(rawTable, makeTicks(5), range(0, 0, 4)));
    const changed = { ...storedSchema(rawTable), version: 2 };
    changed.columns = changed.columns.filter((c) => c.name !== 'ask_size');
    await expect(
      commit(t.storage, 'raw', changed, { kind: 'append', entries: [], ranges: [range(0, 5, 9)] }),
    ).rejects.toThrow(/incompatible schema change: column ask_size was dropped/);
  });

  it('finds the latest snapshot by listing from the last one seen, not all of them', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const listed: number[] = [];
    const counting: typeof t.storage = Object.create(t.storage, {
      list: {
        value: async (prefix: string, opts?: { startAfter?: string }) => {
          const out = await t.storage.list(prefix, opts);
          if (prefix.endsWith('/snapshots/')) listed.push(out.length);
          return out;
        },
      },
    });
    const noop = (i: number) => ({ kind: 'append' as const, entries: [], ranges: [range(0, i, i)] });
    for (let i = 0; i < 30; i++) await commit(counting, 'raw', storedSchema(rawTable), noop(i));
    listed.length = 0;
    await commit(counting, 'raw', storedSchema(rawTable), noop(30));
    expect((await loadSnapshot(counting, 'raw'))!.seq).toBe(31);
    // 31 snapshots in the store; each listing returned the last one seen and what came after it.
    expect(Math.max(...listed)).toBeLessThanOrEqual(2);
    // Another process committed meanwhile: still found, from the same short listing.
    await commit(t.storage, 'raw', storedSchema(rawTable), noop(31));
    expect((await loadSnapshot(counting, 'raw'))!.seq).toBe(32);
    // The table dropped and started over below the number seen: a full listing finds it.
    for (const o of await t.storage.list('raw/')) await t.storage.delete(o.key);
    await commit(t.storage, 'raw', storedSchema(rawTable), noop(0));
    expect((await loadSnapshot(counting, 'raw'))!.seq).toBe(1);
  });

  it('keeps one ref per day in the snapshot and rewrites only the day lists a commit changes', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    // 48 hours of ticks over two days, one file per hour partition.
    const ticks = makeTicks(480, { spanUs: 48 * HOUR_US });
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(0, 0, 479)));
    const snap = (await loadSnapshot(t.storage, 'raw'))!;
    expect(snap.format).toBe(2);
    expect(snap.partitions).toBeUndefined();
    expect(snap.days!.map((d) => [d.day, d.partitions, d.rows])).toEqual([
      ['dt=2024-03-01', 14, 140],
      ['dt=2024-03-02', 24, 240],
      ['dt=2024-03-03', 10, 100],
    ]);
    const dayLists = async () => (await t.storage.list('raw/_manifest/days/')).length;
    expect(await dayLists()).toBe(3);
    // One more file in one hour: one new part manifest and one new day list; the other days' refs are reused.
    await lake.commit(
      rawTable,
      await lake.writeFile(rawTable, makeTicks(5, { startUs: T0 + 20 * HOUR_US, seq0: 480 }), range(0, 480, 484)),
    );
    const next = (await loadSnapshot(t.storage, 'raw'))!;
    expect(await dayLists()).toBe(4);
    expect(next.days![0]).toEqual(snap.days![0]);
    expect(next.days![2]).toEqual(snap.days![2]);
    expect(next.days![1]!.rows).toBe(245);
    // Days the predicate rejects are skipped whole (the reader prunes them by time before reading their lists).
    const lastDay = await snapshotFiles(
      t.storage,
      next,
      () => true,
      (d) => d.day === 'dt=2024-03-03',
    );
    expect(new Set(lastDay.map((f) => f.partition.slice(0, 13)))).toEqual(new Set(['dt=2024-03-03']));
    expect(lastDay).toHaveLength(10);
    // Expired snapshots' day lists become orphans; the live ones stay.
    await expireSnapshots(t.storage, 'raw', { keepLast: 1, maxAgeMs: 0, now: Date.now() + 3600_000 });
    const removed = await removeOrphans(t.storage, 'raw', { graceMs: 0, now: Date.now() + 3600_000 });
    expect(removed.filter((k) => k.includes('/_manifest/days/'))).toHaveLength(1);
    expect(await dayLists()).toBe(3);
    expect((await snapshotFiles(t.storage, (await loadSnapshot(t.storage, 'raw'))!)).length).toBe(49);
  });

  it('reads a format 1 snapshot (partition refs inline) and commits format 2 on top of it', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    await lake.commit(
      rawTable,
      await lake.writeFile(rawTable, makeTicks(40, { spanUs: 3 * HOUR_US }), range(0, 0, 39)),
    );
    const v2 = (await loadSnapshot(t.storage, 'raw'))!;
    // What an older version wrote: the same state with its partition refs inline, as snapshot 2.
    const { days: _days, ...rest } = v2;
    const v1 = {
      ...rest,
      format: 1,
      seq: 2,
      parentSeq: 1,
      parentCommitId: v2.commitId,
      commitId: 'v1',
      partitions: await snapshotPartitions(t.storage, v2),
    };
    await t.storage.put(`raw/_manifest/snapshots/${String(2).padStart(20, '0')}.json`, JSON.stringify(v1));
    const loaded = (await loadSnapshot(t.storage, 'raw'))!;
    expect(loaded.format).toBe(1);
    expect((await snapshotFiles(t.storage, loaded)).length).toBe(3);
    expect(snapshotDays(loaded).map((d) => [d.day, d.partitions, d.rows])).toEqual([['dt=2024-03-01', 3, 40]]);
    await lake.commit(rawTable, await lake.writeFile(rawTable, makeTicks(5, { seq0: 40 }), range(0, 40, 44)));
    const after = (await loadSnapshot(t.storage, 'raw'))!;
    expect(after).toMatchObject({ format: 2, seq: 3 });
    expect(after.days!.map((d) => [d.day, d.partitions, d.rows])).toEqual([['dt=2024-03-01', 3, 45]]);
    expect((await snapshotFiles(t.storage, after)).length).toBe(4);
  });

  it('expires old snapshots, then removes unreferenced old objects only', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const lake = new LakeWriter(t.storage);
    for (let i = 0; i < 4; i++) {
      await lake.commit(
        rawTable,
        await lake.writeFile(rawTable, makeTicks(5, { seq0: i * 5 }), range(0, i * 5, i * 5 + 4)),
      );
    }
    // An upload whose commit never happened, and one still within the grace period.
    const [orphan] = await lake.writeFile(rawTable, makeTicks(5, { startUs: T0 + 7_200_000_000 }), range(9, 0, 4));
    const [young] = await lake.writeFile(rawTable, makeTicks(5, { startUs: T0 + 7_200_000_000 }), range(9, 5, 9));
    const old = new Date(Date.now() - 3 * 3600_000);
    await utimes(join(t.dir, ...orphan!.path.split('/')), old, old);
    for (const seq of [1, 2])
      await utimes(join(t.dir, 'raw', '_manifest', 'snapshots', `${String(seq).padStart(20, '0')}.json`), old, old);

    expect(await expireSnapshots(t.storage, 'raw', { keepLast: 1, maxAgeMs: 3600_000 })).toEqual([1, 2]);
    expect(await listSnapshotSeqs(t.storage, 'raw')).toEqual([3, 4]);
    const deleted = await removeOrphans(t.storage, 'raw', { graceMs: 3600_000 });
    expect(deleted).toEqual([orphan!.path]);
    expect(await t.storage.head(young!.path)).not.toBeNull();
    const live = await snapshotFiles(t.storage, (await loadSnapshot(t.storage, 'raw'))!);
    for (const f of live) expect(await t.storage.head(f.path)).not.toBeNull();
  });
});
