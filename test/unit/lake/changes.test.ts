import { afterEach, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../core/errors.ts';
import { changesSince } from '../../../lake/changes.ts';
import { compactPartition } from '../../../lake/compaction.ts';
import { closeDuckDb } from '../../../lake/duckdb.ts';
import { HOUR_US, partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { commit, dayCache, expireSnapshots } from '../../../lake/manifest.ts';
import { lakeLs } from '../../../lake/reader.ts';
import { rawTable, storedSchema } from '../../../lake/tables.ts';
import type { Storage } from '../../../lake/storage/storage.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { T0, makeTicks, tempStorage } from './fixtures.ts';

const DAY_US = 24 * HOUR_US;
let offset = 0;
/** The next source range of `n` records (each commit its own, so none is a replay). */
const next = (n: number): SourceRange => {
  const r = { topic: 't', partition: 0, startOffset: String(offset), endOffset: String(offset + n - 1) };
  offset += n;
  return r;
};

/** Counts the day lists read through a store, to show unchanged days are not. */
function counting(storage: Storage): { storage: Storage; dayListGets: () => number } {
  let gets = 0;
  const wrapped = new Proxy(storage, {
    get(target, prop) {
      if (prop === 'get') {
        return (key: string) => {
          if (key.includes('/_manifest/days/')) gets++;
          return target.get(key);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { storage: wrapped, dayListGets: () => gets };
}

describe('changesSince', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());
  afterEach(() => closeDuckDb());

  async function lake() {
    const t = await tempStorage();
    cleanup = t.cleanup;
    offset = 0;
    const writer = new LakeWriter(t.storage);
    const write = async (startUs: number, n = 20) => {
      const ticks = makeTicks(n, { startUs, seq0: offset, spanUs: 60_000_000 });
      return (await writer.commit(rawTable, await writer.writeFile(rawTable, ticks, next(n)))).seq!;
    };
    return { ...t, writer, write };
  }

  it('names added and changed partitions of changed days, reading no list of an unchanged day', async () => {
    const { storage, write } = await lake();
    // Ten days of history, then snapshot N.
    for (let d = 1; d <= 10; d++) await write(T0 - d * DAY_US);
    const n = await write(T0);
    // Since N: more rows in hour 10 of day 0, a new hour 12, a new day.
    await write(T0 + 60_000_000);
    await write(T0 + 2 * HOUR_US);
    const latest = await write(T0 + DAY_US);

    dayCache.clear();
    const c = counting(storage);
    const res = await changesSince(c.storage, 'raw', n);
    expect(res).toMatchObject({ status: 'ok', sinceSeq: n, seq: latest });
    if (res.status !== 'ok') throw new Error('expected ok');
    expect(res.partitions.map((p) => [p.partition, p.change])).toEqual([
      [partitionOf(T0), 'changed'],
      [partitionOf(T0 + 2 * HOUR_US), 'added'],
      [partitionOf(T0 + DAY_US), 'added'],
    ]);
    expect(res.days).toEqual([
      { day: partitionOf(T0).split('/')[0], change: 'changed' },
      { day: partitionOf(T0 + DAY_US).split('/')[0], change: 'added' },
    ]);
    const hour10 = res.partitions[0]!;
    expect([hour10.before!.rows, hour10.after!.rows]).toEqual([20, 40]);
    expect(hour10.after!.files).toBe(2);
    // Day 0's list in N and in the latest, and the new day's: none of the ten unchanged days.
    expect(res.dayListsRead).toBe(3);
    expect(c.dayListGets()).toBe(3);
  });

  it('shows a compaction as changed and a dropped partition as removed; nothing since the latest', async () => {
    const { storage, write } = await lake();
    await write(T0);
    const n = await write(T0 + 60_000_000);
    await write(T0 + HOUR_US);
    const hour11 = partitionOf(T0 + HOUR_US);
    expect(await compactPartition(storage, rawTable, partitionOf(T0))).toMatchObject({ status: 'committed' });
    const paths = (await lakeLs(storage, 'raw', { partition: hour11 })).files.map((f) => f.path);
    const dropped = await commit(storage, 'raw', storedSchema(rawTable), {
      kind: 'replace',
      partition: hour11,
      remove: paths,
      add: [],
    });
    const res = await changesSince(storage, 'raw', n);
    if (res.status !== 'ok') throw new Error('expected ok');
    expect(res.partitions.map((p) => [p.partition, p.change, p.before?.files, p.after?.files])).toEqual([
      [partitionOf(T0), 'changed', 2, 1],
    ]);
    // Hour 11 came and went after N: no difference to N at all.
    const since11 = await changesSince(storage, 'raw', dropped.seq! - 1);
    if (since11.status !== 'ok') throw new Error('expected ok');
    expect(since11.partitions).toMatchObject([{ partition: hour11, change: 'removed', after: null }]);
    expect(since11.days).toEqual([{ day: hour11.split('/')[0], change: 'changed' }]);
    expect(await changesSince(storage, 'raw', dropped.seq!)).toMatchObject({ status: 'ok', partitions: [], days: [] });
  });

  it('says so when snapshot N has expired, and refuses one from the future', async () => {
    const { storage, write } = await lake();
    const first = await write(T0);
    await write(T0 + HOUR_US);
    const latest = await write(T0 + 2 * HOUR_US);
    await expireSnapshots(storage, 'raw', { keepLast: 2, maxAgeMs: 0, now: Date.now() + 1000 });
    const res = await changesSince(storage, 'raw', first);
    expect(res).toMatchObject({ status: 'expired', sinceSeq: first, seq: latest, oldestSeq: latest - 1 });
    if (res.status !== 'expired') throw new Error('expected expired');
    expect(res.message).toMatch(/has expired .*oldest retained: \d+/);
    const err = await changesSince(storage, 'raw', latest + 1).catch((e: unknown) => e);
    expect(isTickLakeError(err) && err.code).toBe('INPUT_INVALID');
    expect(String(err)).toMatch(/does not exist yet/);
  });
});
