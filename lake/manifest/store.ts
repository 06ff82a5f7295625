import type { Storage } from '../storage/storage.ts';
import { TickLakeError } from '../../core/errors.ts';
import {
  type DayRef,
  type FileEntry,
  type OffsetPosition,
  type PartitionRef,
  type Snapshot,
  dayListSchema,
  dayOf,
  offsetsOf,
  pad20,
  parseJson,
  partManifestSchema,
  snapshotDays,
  snapshotKey,
  snapshotSchema,
  snapshotsPrefix,
} from './format.ts';

/** The manifest's read path: the latest snapshot, and the day lists and part manifests it names (cached). */
/** Snapshot numbers present in the store, ascending; with `fromSeq`, only those from it on. */
export async function listSnapshotSeqs(storage: Storage, table: string, fromSeq?: number): Promise<number[]> {
  const prefix = snapshotsPrefix(table);
  // `<prefix><20 digits>` sorts just before `<prefix><20 digits>.json`: listing starts at fromSeq's snapshot.
  const startAfter = fromSeq === undefined ? undefined : `${prefix}${pad20(fromSeq)}`;
  return (await storage.list(prefix, { startAfter }))
    .map((o) => /^(\d{20})\.json$/.exec(o.key.slice(prefix.length)))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/**
 * The highest snapshot number this process has seen per table and store. Only ever a lower bound of the latest
 * (snapshots are numbered consecutively and the latest is never expired), so finding the latest lists from it:
 * one short LIST however many snapshots a day of commits has left, instead of all of them.
 */
const seenSeqs = new WeakMap<Storage, Map<string, number>>();

export function rememberSeq(storage: Storage, table: string, seq: number): void {
  let seen = seenSeqs.get(storage);
  if (!seen) seenSeqs.set(storage, (seen = new Map()));
  if (seq > (seen.get(table) ?? 0)) seen.set(table, seq);
}

export async function latestSeq(storage: Storage, table: string): Promise<number | undefined> {
  const seen = seenSeqs.get(storage)?.get(table);
  if (seen !== undefined) {
    const tail = await listSnapshotSeqs(storage, table, seen);
    if (tail.length > 0) return tail.at(-1);
    // Nothing from there on: the table was dropped and started over. Only a full listing can tell.
    seenSeqs.get(storage)?.delete(table);
  }
  return (await listSnapshotSeqs(storage, table)).at(-1);
}

/** The given snapshot, or the latest one; null when the table has no snapshot yet (or that one is gone). */
export async function loadSnapshot(storage: Storage, table: string, seq?: number): Promise<Snapshot | null> {
  if (seq !== undefined) {
    const bytes = await storage.get(snapshotKey(table, seq));
    return bytes ? parseJson(snapshotSchema, bytes, `snapshot ${table}#${seq}`) : null;
  }
  // The latest can be expired between the LIST and the GET only if a newer one exists: list again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const last = await latestSeq(storage, table);
    if (last === undefined) return null;
    const snap = await loadSnapshot(storage, table, last);
    if (snap) {
      rememberSeq(storage, table, last);
      return snap;
    }
  }
  throw new TickLakeError('UPSTREAM_UNAVAILABLE', `latest snapshot of ${table} keeps disappearing`);
}

// Part manifests and day lists are immutable and named by content hash, so caching them is always correct.
export const partCache = new Map<string, FileEntry[]>();
export const dayCache = new Map<string, PartitionRef[]>();

/** An immutable manifest object (part manifest or day list), from the cache or the store. */
async function loadImmutable<T>(
  storage: Storage,
  key: string,
  cache: Map<string, T>,
  what: string,
  read: (bytes: Uint8Array) => T,
): Promise<T> {
  const cached = cache.get(key);
  if (cached) return cached;
  const bytes = await storage.get(key);
  if (!bytes) throw new TickLakeError('MANIFEST_CORRUPT', `${what} ${key} is missing`);
  const value = read(bytes);
  if (cache.size > 2000) cache.clear();
  cache.set(key, value);
  return value;
}

export function loadPartition(storage: Storage, ref: PartitionRef): Promise<FileEntry[]> {
  return loadImmutable(
    storage,
    ref.manifest,
    partCache,
    'part manifest',
    (bytes) => parseJson(partManifestSchema, bytes, `part manifest ${ref.manifest}`).files,
  );
}

function loadDay(storage: Storage, ref: DayRef): Promise<PartitionRef[]> {
  return loadImmutable(
    storage,
    ref.manifest,
    dayCache,
    'day list',
    (bytes) => parseJson(dayListSchema, bytes, `day list ${ref.manifest}`).partitions,
  );
}

/** The partition refs of a snapshot, optionally only of the days `keepDay` accepts (the others are not read). */
export async function snapshotPartitions(
  storage: Storage,
  snap: Snapshot,
  keepDay: (day: DayRef) => boolean = () => true,
): Promise<PartitionRef[]> {
  if (!snap.days) {
    const days = new Map(snapshotDays(snap).map((d) => [d.day, d]));
    return (snap.partitions ?? []).filter((p) => keepDay(days.get(dayOf(p.partition))!));
  }
  const out: PartitionRef[] = [];
  for (const d of snap.days) if (keepDay(d)) out.push(...(await loadDay(storage, d)));
  return out;
}

/** One partition's ref in a snapshot, reading only its day's list. */
export async function partitionRef(
  storage: Storage,
  snap: Snapshot | null,
  partition: string,
): Promise<PartitionRef | undefined> {
  if (!snap) return undefined;
  const refs = await snapshotPartitions(storage, snap, (d) => d.day === dayOf(partition));
  return refs.find((r) => r.partition === partition);
}

/** The live files of a snapshot, optionally only of the days and partitions the predicates accept. */
export async function snapshotFiles(
  storage: Storage,
  snap: Snapshot,
  keep: (ref: PartitionRef) => boolean = () => true,
  keepDay: (day: DayRef) => boolean = () => true,
): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const ref of await snapshotPartitions(storage, snap, keepDay)) {
    if (keep(ref)) out.push(...(await loadPartition(storage, ref)));
  }
  return out;
}

/** Per topic-partition, the next offset to consume for this table (empty for a new table). */
export async function committedOffsets(storage: Storage, table: string): Promise<OffsetPosition[]> {
  const snap = await loadSnapshot(storage, table);
  return offsetsOf(snap);
}
