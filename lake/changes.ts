import { TickLakeError } from '../core/errors.ts';
import {
  listSnapshotSeqs,
  loadSnapshot,
  snapshotDays,
  snapshotPartitions,
  type DayRef,
  type PartitionRef,
  type Snapshot,
} from './manifest.ts';
import type { Storage } from './storage/storage.ts';

/**
 * "What changed since snapshot N": the partitions whose live files differ between snapshot N and the latest. Day
 * lists and part manifests are content-addressed, so equal keys mean equal content: a day whose list key is the
 * same in both snapshots is unchanged and its list is not read; in a changed day, a partition whose part manifest
 * key is the same is unchanged. No part manifest is ever read. A compaction shows as `changed` (same rows, other
 * files); telling rewritten data from new data is the reader's business (the warehouse's day fingerprint).
 */
export type Change = 'added' | 'changed' | 'removed';

type Totals = Omit<PartitionRef, 'partition' | 'manifest'>;

export interface PartitionChange {
  partition: string;
  /** `dt=YYYY-MM-DD`. */
  day: string;
  change: Change;
  /** Files, rows, bytes and time range in snapshot N (null when added) and in the latest (null when removed). */
  before: Totals | null;
  after: Totals | null;
}

export type ChangesResult =
  | {
      status: 'ok';
      table: string;
      sinceSeq: number;
      /** The latest snapshot compared against (equal to sinceSeq when nothing was committed since). */
      seq: number;
      /** Days with at least one changed partition, sorted. */
      days: { day: string; change: Change }[];
      partitions: PartitionChange[];
      /** Day lists read (the days whose list key differs), to show what the comparison cost. */
      dayListsRead: number;
    }
  | {
      /** Snapshot N is no longer retained (vacuum expired it): nothing can be compared against it. */
      status: 'expired';
      table: string;
      sinceSeq: number;
      seq: number;
      /** The oldest snapshot still retained: compare from it, or treat every partition as changed. */
      oldestSeq: number;
      message: string;
    };

const totals = ({ partition: _p, manifest: _m, ...rest }: PartitionRef): Totals => rest;

/** The partition refs of one day of a snapshot (reads that day's list only; format 1 snapshots hold them inline). */
async function dayPartitions(storage: Storage, snap: Snapshot, day: string): Promise<PartitionRef[]> {
  return snapshotPartitions(storage, snap, (d) => d.day === day);
}

export async function changesSince(storage: Storage, table: string, sinceSeq: number): Promise<ChangesResult> {
  const latest = await loadSnapshot(storage, table);
  if (!latest) throw new TickLakeError('INPUT_INVALID', `table ${table} has no snapshot yet`);
  if (!Number.isSafeInteger(sinceSeq) || sinceSeq < 0 || sinceSeq > latest.seq) {
    throw new TickLakeError(
      'INPUT_INVALID',
      `table ${table}: snapshot ${sinceSeq} does not exist yet (latest is ${latest.seq})`,
      { details: { table, sinceSeq, seq: latest.seq } },
    );
  }
  const since = sinceSeq === latest.seq ? latest : await loadSnapshot(storage, table, sinceSeq);
  if (!since) {
    const oldestSeq = (await listSnapshotSeqs(storage, table))[0] ?? latest.seq;
    return {
      status: 'expired',
      table,
      sinceSeq,
      seq: latest.seq,
      oldestSeq,
      message:
        `snapshot ${sinceSeq} of ${table} has expired (oldest retained: ${oldestSeq}); compare from ${oldestSeq} ` +
        `if nothing was missed before it, or treat every partition as changed (a full reload)`,
    };
  }

  const before = new Map(snapshotDays(since).map((d) => [d.day, d]));
  const after = new Map(snapshotDays(latest).map((d) => [d.day, d]));
  // Format 1 snapshots have no day list keys (''): their days are compared partition by partition.
  const sameDay = (a: DayRef | undefined, b: DayRef | undefined) =>
    !!a && !!b && a.manifest !== '' && a.manifest === b.manifest;
  const partitions: PartitionChange[] = [];
  let dayListsRead = 0;
  for (const day of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(day);
    const a = after.get(day);
    if (sameDay(b, a)) continue;
    dayListsRead += (b?.manifest ? 1 : 0) + (a?.manifest ? 1 : 0);
    const old = new Map((b ? await dayPartitions(storage, since, day) : []).map((p) => [p.partition, p]));
    const now = new Map((a ? await dayPartitions(storage, latest, day) : []).map((p) => [p.partition, p]));
    for (const partition of [...new Set([...old.keys(), ...now.keys()])].sort()) {
      const o = old.get(partition);
      const n = now.get(partition);
      if (o && n && o.manifest === n.manifest) continue;
      partitions.push({
        partition,
        day,
        change: !o ? 'added' : !n ? 'removed' : 'changed',
        before: o ? totals(o) : null,
        after: n ? totals(n) : null,
      });
    }
  }
  const days = [...new Set(partitions.map((p) => p.day))].map((day) => ({
    day,
    change: !before.has(day) ? ('added' as const) : !after.has(day) ? ('removed' as const) : ('changed' as const),
  }));
  return { status: 'ok', table, sinceSeq, seq: latest.seq, days, partitions, dayListsRead };
}
