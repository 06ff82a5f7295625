import { createHash, randomBytes } from 'node:crypto';
import { TickLakeError } from '../../core/errors.ts';
import { decideSlot } from '../slot.ts';
import type { Storage } from '../storage/storage.ts';
import { type SourceRange } from '../layout.ts';
import { type StoredSchema } from '../tables.ts';
import {
  type DayRef,
  FORMAT,
  type FileEntry,
  PART_FORMAT,
  type PartitionRef,
  type Snapshot,
  dayOf,
  dayTotals,
  daysPrefix,
  parseJson,
  partsPrefix,
  paxosPrefix,
  snapshotDays,
  snapshotKey,
  snapshotSchema,
} from './format.ts';
import { type CommitOp, type CommitResult, mergeSchema, planOffsets, rangeId, sum } from './plan.ts';
import {
  dayCache,
  listSnapshotSeqs,
  loadPartition,
  loadSnapshot,
  partCache,
  partitionRef,
  rememberSeq,
  snapshotPartitions,
} from './store.ts';

/** The commit protocol: plan on the latest snapshot, write the changed objects, decide the next slot. */
interface Plan {
  status: 'apply' | 'noop' | 'conflict';
  /** New file lists of the partitions this commit changes. */
  partitions: Map<string, FileEntry[]>;
  offsets: Record<string, string>;
  summary: Record<string, number | string>;
  skipped: SourceRange[];
  gaps: CommitResult['gaps'];
}

async function plan(storage: Storage, base: Snapshot | null, op: CommitOp): Promise<Plan> {
  const current = async (partition: string) => {
    const ref = await partitionRef(storage, base, partition);
    return ref ? loadPartition(storage, ref) : [];
  };
  const out: Plan = {
    status: 'apply',
    partitions: new Map(),
    offsets: { ...(base?.offsets ?? {}) },
    summary: {},
    skipped: [],
    gaps: [],
  };

  if (op.kind === 'append') {
    for (const e of op.entries) {
      if (e.sources.length !== 1) throw new TickLakeError('INTERNAL', `appended file ${e.path} needs one source range`);
    }
    const ranges = [...op.entries.map((e) => e.sources[0]!), ...op.ranges];
    const offsets = planOffsets(out.offsets, ranges);
    Object.assign(out, { offsets: offsets.offsets, skipped: offsets.skipped, gaps: offsets.gaps });
    let added = 0;
    for (const e of op.entries) {
      if (!offsets.accepted.has(rangeId(e.sources[0]!))) continue;
      const files = out.partitions.get(e.partition) ?? [...(await current(e.partition))];
      if (files.some((f) => f.path === e.path)) continue;
      files.push(e);
      out.partitions.set(e.partition, files);
      added++;
    }
    if (offsets.accepted.size === 0) out.status = 'noop';
    out.summary = { addedFiles: added, addedRows: sum(op.entries, offsets.accepted), ranges: offsets.accepted.size };
    return out;
  }

  const files = await current(op.partition);
  const live = new Set(files.map((f) => f.path));
  const removedLive = op.remove.filter((p) => live.has(p));
  if (removedLive.length !== op.remove.length) {
    const alreadyDone = removedLive.length === 0 && op.add.every((a) => live.has(a.path));
    out.status = alreadyDone ? 'noop' : 'conflict';
    return out;
  }
  const gone = new Set(op.remove);
  const next = files.filter((f) => !gone.has(f.path));
  for (const a of op.add) if (!live.has(a.path) || gone.has(a.path)) next.push(a);
  out.partitions.set(op.partition, next);
  out.summary = { removedFiles: op.remove.length, addedFiles: op.add.length, partition: op.partition };
  return out;
}

async function writePart(
  storage: Storage,
  table: string,
  partition: string,
  files: FileEntry[],
): Promise<PartitionRef> {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const body = JSON.stringify({ format: PART_FORMAT, partition, files: sorted });
  const key = `${partsPrefix(table)}${createHash('sha256').update(body).digest('hex')}.json`;
  await putManifestObject(storage, key, body);
  partCache.set(key, sorted);
  return {
    partition,
    manifest: key,
    files: sorted.length,
    rows: sorted.reduce((n, f) => n + f.rows, 0),
    bytes: sorted.reduce((n, f) => n + f.bytes, 0),
    minTs: Math.min(...sorted.map((f) => f.minTs)),
    maxTs: Math.max(...sorted.map((f) => f.maxTs)),
  };
}

export interface CommitOptions {
  maxAttempts?: number;
  now?: () => number;
}

/** Applies `op` to the latest snapshot of `table` as a new snapshot, retrying on lost races. */
export async function commit(
  storage: Storage,
  table: string,
  writerSchema: StoredSchema,
  op: CommitOp,
  opts: CommitOptions = {},
): Promise<CommitResult> {
  const now = opts.now ?? Date.now;
  const maxAttempts = opts.maxAttempts ?? 30;
  let base = await loadSnapshot(storage, table);
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const p = await plan(storage, base, op);
    const result = (status: CommitResult['status'], seq: number | null): CommitResult => ({
      status,
      seq,
      attempts: attempt,
      skipped: p.skipped,
      gaps: p.gaps,
    });
    if (p.status !== 'apply') return result(p.status, base?.seq ?? null);

    const schema = mergeSchema(table, base?.schema, writerSchema);
    const days = await nextDays(storage, table, base, p.partitions);
    const seq = (base?.seq ?? 0) + 1;
    const snap: Snapshot = {
      format: FORMAT,
      table,
      seq,
      parentSeq: base?.seq ?? null,
      parentCommitId: base?.commitId ?? null,
      commitId: randomBytes(12).toString('hex'),
      createdAt: now(),
      operation: op.kind,
      summary: p.summary,
      schema,
      offsets: p.offsets,
      days,
    };
    const decision = await decideSlot(
      storage,
      { finalKey: snapshotKey(table, seq), blockPrefix: paxosPrefix(table, seq) },
      JSON.stringify(snap),
    );
    if (decision.won) {
      if (await inChain(storage, snap)) {
        rememberSeq(storage, table, seq);
        return result('committed', seq);
      }
      // We won a slot that expiry had emptied (our base was stale): readers take the highest number, so
      // this commit is invisible. Start over from the latest.
      base = await loadSnapshot(storage, table);
      continue;
    }
    base = parseJson(snapshotSchema, new TextEncoder().encode(decision.value), `snapshot ${table}#${seq}`);
  }
  throw new TickLakeError('UPSTREAM_UNAVAILABLE', `commit to ${table} lost ${maxAttempts} races in a row; retry later`);
}

/**
 * The day refs after a commit: the base's days, with the days of changed partitions rewritten (their new part
 * manifests and a new day list). A format 1 base gets every day written once.
 */
async function nextDays(
  storage: Storage,
  table: string,
  base: Snapshot | null,
  changed: Map<string, FileEntry[]>,
): Promise<DayRef[]> {
  const days = new Map((base ? snapshotDays(base) : []).map((d) => [d.day, d]));
  const touched = new Set([...changed.keys()].map(dayOf));
  if (base && !base.days) for (const d of days.keys()) touched.add(d);
  for (const day of touched) {
    const before = days.get(day);
    const refs = new Map(
      (before ? await snapshotPartitions(storage, base!, (d) => d.day === day) : []).map((r) => [r.partition, r]),
    );
    for (const [partition, files] of changed) {
      if (dayOf(partition) !== day) continue;
      if (files.length === 0) refs.delete(partition);
      else refs.set(partition, await writePart(storage, table, partition, files));
    }
    if (refs.size === 0) days.delete(day);
    else days.set(day, await writeDay(storage, table, day, [...refs.values()]));
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
}

/**
 * Writes a content-addressed manifest object even when it exists (the same bytes): its fresh modification time
 * keeps orphan cleanup, which spares young objects, from deleting an object an expired snapshot had dropped and
 * this commit brings back. One PUT, where a HEAD first would cost the same for a new object.
 */
function putManifestObject(storage: Storage, key: string, body: string): Promise<void> {
  return storage.put(key, body);
}

async function writeDay(storage: Storage, table: string, day: string, refs: PartitionRef[]): Promise<DayRef> {
  const sorted = [...refs].sort((a, b) => (a.partition < b.partition ? -1 : 1));
  const body = JSON.stringify({ format: PART_FORMAT, day, partitions: sorted });
  const key = `${daysPrefix(table)}${createHash('sha256').update(body).digest('hex')}.json`;
  await putManifestObject(storage, key, body);
  dayCache.set(key, sorted);
  return { ...dayTotals(sorted), day, manifest: key };
}

/** Whether `snap` is on the live history: nothing newer, or the next snapshot names it as its parent. */
async function inChain(storage: Storage, snap: Snapshot): Promise<boolean> {
  const newer = (await listSnapshotSeqs(storage, snap.table, snap.seq + 1)).filter((s) => s > snap.seq);
  if (newer.length === 0) return true;
  if (newer[0] !== snap.seq + 1) return false;
  const next = await loadSnapshot(storage, snap.table, snap.seq + 1);
  return next?.parentCommitId === snap.commitId;
}
