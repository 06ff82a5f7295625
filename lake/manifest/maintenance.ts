import type { Storage } from '../storage/storage.ts';
import { paxosPrefix, snapshotKey, snapshotsPrefix } from './format.ts';
import { listSnapshotSeqs, loadPartition, loadSnapshot, snapshotPartitions } from './store.ts';

/** Manifest maintenance: expiring old snapshots and removing objects no retained snapshot references. */

export interface ExpireOptions {
  /** Always keep at least this many newest snapshots. */
  keepLast?: number;
  /** Keep every snapshot newer than this (ms). This is also the grace period replaced files stay readable. */
  maxAgeMs?: number;
  now?: number;
}

/** Deletes old snapshot files (never the latest) and their consensus blocks. Returns the deleted numbers. */
export async function expireSnapshots(storage: Storage, table: string, opts: ExpireOptions = {}): Promise<number[]> {
  const keepLast = Math.max(1, opts.keepLast ?? 20);
  const cutoff = (opts.now ?? Date.now()) - (opts.maxAgeMs ?? 24 * 3600_000);
  const listed = await storage.list(snapshotsPrefix(table));
  const seqs = await listSnapshotSeqs(storage, table);
  const kept = new Set(seqs.slice(-keepLast));
  const deleted: number[] = [];
  for (const seq of seqs) {
    if (kept.has(seq)) continue;
    const info = listed.find((o) => o.key === snapshotKey(table, seq));
    if (info && info.lastModified.getTime() >= cutoff) continue;
    await storage.delete(snapshotKey(table, seq));
    deleted.push(seq);
  }
  const oldestKept = Math.min(...seqs.filter((s) => !deleted.includes(s)));
  const paxos = await storage.list(paxosPrefix(table));
  for (const o of paxos) {
    const m = /paxos\/(\d{20})\//.exec(o.key);
    if (m && Number(m[1]) < oldestKept && o.lastModified.getTime() < cutoff) await storage.delete(o.key);
  }
  return deleted;
}

export interface OrphanOptions {
  /** Objects younger than this are never deleted: uploads whose commit may still be in flight. */
  graceMs?: number;
  now?: number;
  dryRun?: boolean;
  /** Told how many orphans were found, then each time one is deleted (a dry run: listed). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Deletes data files, part manifests and day lists that no retained snapshot references and that are older than the
 * grace period: uploads whose commit never happened, files replaced by compaction whose snapshots expired.
 */
export async function removeOrphans(storage: Storage, table: string, opts: OrphanOptions = {}): Promise<string[]> {
  const cutoff = (opts.now ?? Date.now()) - (opts.graceMs ?? 24 * 3600_000);
  // Listing objects first: anything a snapshot written after this point references is then either listed
  // here and referenced by a snapshot we read below, or too young to be deleted.
  const objects = await storage.list(`${table}/`);
  const referenced = new Set<string>();
  for (const seq of await listSnapshotSeqs(storage, table)) {
    const snap = await loadSnapshot(storage, table, seq);
    if (!snap) continue;
    for (const day of snap.days ?? []) referenced.add(day.manifest);
    for (const ref of await snapshotPartitions(storage, snap)) {
      referenced.add(ref.manifest);
      for (const f of await loadPartition(storage, ref)) referenced.add(f.path);
    }
  }
  const keepPrefixes = [snapshotsPrefix(table), paxosPrefix(table)];
  const orphans = objects.filter(
    (o) =>
      !keepPrefixes.some((p) => o.key.startsWith(p)) && !referenced.has(o.key) && o.lastModified.getTime() < cutoff,
  );
  opts.onProgress?.(0, orphans.length);
  const deleted: string[] = [];
  for (const o of orphans) {
    if (!opts.dryRun) await storage.delete(o.key);
    deleted.push(o.key);
    opts.onProgress?.(deleted.length, orphans.length);
  }
  return deleted;
}
