import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TickLakeError } from '../core/errors.ts';
import { compareRanges, manifestPrefix, sourceRangeSchema, type SourceRange } from './layout.ts';
import { decideSlot } from './slot.ts';
import type { Storage } from './storage/storage.ts';
import { checkEvolution, storedSchemaSchema, type StoredSchema } from './tables.ts';

/**
 * The manifest: per table, a log of numbered snapshots, each the complete state of the table.
 *
 *   <table>/_manifest/snapshots/<seq, 20 digits>.json   the snapshot: schema, offsets, one ref per day
 *   <table>/_manifest/days/<sha256>.json                one day's partition refs (immutable, shared by every
 *                                                        snapshot in which the day is unchanged)
 *   <table>/_manifest/parts/<sha256>.json               one partition's live files (immutable, shared by
 *                                                        every snapshot in which the partition is unchanged)
 *   <table>/_manifest/paxos/<seq>/<proposer>.json       consensus blocks (only on stores without atomic
 *                                                        create-if-absent; see slot.ts)
 *
 * A reader picks the highest snapshot number and sees exactly that snapshot's files. A commit reads the
 * latest snapshot N, builds N+1 and makes it the decided value of slot N+1; if another commit took the slot
 * it rebuilds on top of the winner and tries N+2 (optimistic concurrency). Appends are idempotent by source
 * range (the per topic-partition next offset), replaces are conditional on the removed files being live.
 *
 * The day level keeps a snapshot small however long the table lives (one ref per day, not per hour: 84 KiB after
 * a year instead of 1.9 MiB, bench/lake-manifest.bench.ts), so a commit writes the snapshot and only the day
 * lists it changes. Format 1 snapshots (partition refs inline) are still read; the first commit on top of one
 * writes format 2.
 */
const FORMAT = 2;
/** Part manifests and day lists keep their own format numbers: their shape did not change with the snapshot's. */
const PART_FORMAT = 1;
const int = z.number().int();

export const rowGroupStatsSchema = z.object({
  rows: int.nonnegative(),
  minTs: int,
  maxTs: int,
  minSymbol: z.string(),
  maxSymbol: z.string(),
});

export const fileEntrySchema = z.object({
  path: z.string().min(1),
  partition: z.string().min(1),
  rows: int.positive(),
  bytes: int.positive(),
  minTs: int,
  maxTs: int,
  minSymbol: z.string(),
  maxSymbol: z.string(),
  /** The distinct symbols when there are few (<= 256), else null: min/max then bound them. */
  symbols: z.array(z.string()).nullable(),
  schemaVersion: int.positive(),
  sources: z.array(sourceRangeSchema),
  rowGroups: z.array(rowGroupStatsSchema),
  /** When the object was uploaded (ms since epoch). */
  addedAt: int,
});
export type FileEntry = z.infer<typeof fileEntrySchema>;

const partManifestSchema = z.object({
  format: z.literal(PART_FORMAT),
  partition: z.string(),
  files: z.array(fileEntrySchema),
});

/** What a ref tells of the files below it, so planning and stats need not open them. */
const refTotals = {
  files: int.nonnegative(),
  rows: int.nonnegative(),
  bytes: int.nonnegative(),
  minTs: int,
  maxTs: int,
};

export const partitionRefSchema = z.object({ partition: z.string(), manifest: z.string(), ...refTotals });
export type PartitionRef = z.infer<typeof partitionRefSchema>;

export const dayRefSchema = z.object({
  /** `dt=YYYY-MM-DD`: the first level of the partition path. */
  day: z.string(),
  manifest: z.string(),
  partitions: int.positive(),
  ...refTotals,
});
export type DayRef = z.infer<typeof dayRefSchema>;

const dayListSchema = z.object({
  format: z.literal(PART_FORMAT),
  day: z.string(),
  partitions: z.array(partitionRefSchema),
});

export const snapshotSchema = z.object({
  format: z.union([z.literal(1), z.literal(FORMAT)]),
  table: z.string(),
  seq: int.positive(),
  parentSeq: int.positive().nullable(),
  /** The parent's commitId: ties the chain together, so a commit can tell its slot was really its parent's. */
  parentCommitId: z.string().nullable(),
  commitId: z.string(),
  createdAt: int,
  operation: z.enum(['append', 'replace']),
  summary: z.record(z.string(), z.union([z.number(), z.string()])),
  schema: storedSchemaSchema,
  /** "<topic>/<partition>" -> the next offset to consume (every offset below is in the table). */
  offsets: z.record(z.string(), z.string().regex(/^\d+$/)),
  /** Format 2: the table's days; their lists hold the partition refs. */
  days: z.array(dayRefSchema).optional(),
  /** Format 1: the partition refs inline. */
  partitions: z.array(partitionRefSchema).optional(),
});
export type Snapshot = z.infer<typeof snapshotSchema>;

const pad20 = (n: number) => String(n).padStart(20, '0');
export const snapshotsPrefix = (table: string) => `${manifestPrefix(table)}snapshots/`;
export const snapshotKey = (table: string, seq: number) => `${snapshotsPrefix(table)}${pad20(seq)}.json`;
export const paxosPrefix = (table: string, seq?: number) =>
  `${manifestPrefix(table)}paxos/${seq === undefined ? '' : `${pad20(seq)}/`}`;
const partsPrefix = (table: string) => `${manifestPrefix(table)}parts/`;
const daysPrefix = (table: string) => `${manifestPrefix(table)}days/`;
/** `dt=YYYY-MM-DD/hour=HH` -> `dt=YYYY-MM-DD`. */
export const dayOf = (partition: string) => partition.split('/')[0]!;

const decoder = new TextDecoder();

function parseJson<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new TickLakeError('MANIFEST_CORRUPT', `${what} is not JSON`, { cause: err });
  }
  const r = schema.safeParse(raw);
  if (!r.success)
    throw new TickLakeError('MANIFEST_CORRUPT', `${what} is invalid: ${r.error.issues[0]?.message ?? ''}`);
  return r.data;
}

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

function rememberSeq(storage: Storage, table: string, seq: number): void {
  let seen = seenSeqs.get(storage);
  if (!seen) seenSeqs.set(storage, (seen = new Map()));
  if (seq > (seen.get(table) ?? 0)) seen.set(table, seq);
}

async function latestSeq(storage: Storage, table: string): Promise<number | undefined> {
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
const partCache = new Map<string, FileEntry[]>();
const dayCache = new Map<string, PartitionRef[]>();

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

/** A snapshot's day refs; for a format 1 snapshot, computed from its inline partition refs (no list objects). */
export function snapshotDays(snap: Snapshot): DayRef[] {
  if (snap.days) return snap.days;
  const byDay = new Map<string, PartitionRef[]>();
  for (const p of snap.partitions ?? []) {
    const day = dayOf(p.partition);
    byDay.set(day, [...(byDay.get(day) ?? []), p]);
  }
  return [...byDay].map(([day, refs]) => ({ ...dayTotals(refs), day, manifest: '' }));
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

export interface OffsetPosition {
  topic: string;
  partition: number;
  /** The first offset not yet in the table: where a restarted sink resumes. */
  nextOffset: string;
}

const tpKey = (topic: string, partition: number) => `${topic}/${partition}`;

/** Per topic-partition, the next offset to consume for this table (empty for a new table). */
export async function committedOffsets(storage: Storage, table: string): Promise<OffsetPosition[]> {
  const snap = await loadSnapshot(storage, table);
  return offsetsOf(snap);
}

export function offsetsOf(snap: Snapshot | null): OffsetPosition[] {
  if (!snap) return [];
  return Object.entries(snap.offsets).map(([k, next]) => {
    const slash = k.lastIndexOf('/');
    return { topic: k.slice(0, slash), partition: Number(k.slice(slash + 1)), nextOffset: next };
  });
}

// ---- commits ---------------------------------------------------------------------------------------------

export type CommitOp =
  | { kind: 'append'; entries: FileEntry[]; ranges: SourceRange[] }
  | { kind: 'replace'; partition: string; remove: string[]; add: FileEntry[] };

export interface CommitResult {
  /** committed: a new snapshot; noop: already in the table; conflict: a replace whose inputs are gone. */
  status: 'committed' | 'noop' | 'conflict';
  /** The snapshot that holds the outcome (the new one, or the one that made it a no-op/conflict). */
  seq: number | null;
  attempts: number;
  /** Append: source ranges that were already committed and were skipped. */
  skipped: SourceRange[];
  /** Append: offsets jumped over (start > next offset); legitimate with transactional topics. */
  gaps: { topic: string; partition: number; from: string; to: string }[];
}

interface Plan {
  status: 'apply' | 'noop' | 'conflict';
  /** New file lists of the partitions this commit changes. */
  partitions: Map<string, FileEntry[]>;
  offsets: Record<string, string>;
  summary: Record<string, number | string>;
  skipped: SourceRange[];
  gaps: CommitResult['gaps'];
}

const rangeId = (r: SourceRange) => `${r.topic}/${r.partition}/${r.startOffset}/${r.endOffset}`;

/** The pure part of an append: which ranges are new, which already in, and the offsets afterwards. */
export function planOffsets(
  offsets: Record<string, string>,
  ranges: readonly SourceRange[],
): { accepted: Set<string>; skipped: SourceRange[]; gaps: CommitResult['gaps']; offsets: Record<string, string> } {
  const next = { ...offsets };
  const distinct = new Map<string, SourceRange>();
  for (const r of ranges) distinct.set(rangeId(r), r);
  const sorted = [...distinct.values()].sort(compareRanges);
  const accepted = new Set<string>();
  const skipped: SourceRange[] = [];
  const gaps: CommitResult['gaps'] = [];
  for (const r of sorted) {
    const k = tpKey(r.topic, r.partition);
    const cur = next[k] === undefined ? undefined : BigInt(next[k]);
    const start = BigInt(r.startOffset);
    const end = BigInt(r.endOffset);
    if (cur !== undefined && end < cur) {
      skipped.push(r);
      continue;
    }
    if (cur !== undefined && start < cur) {
      throw new TickLakeError(
        'OFFSET_OVERLAP',
        `source range ${k} [${r.startOffset}, ${r.endOffset}] overlaps committed offsets (next is ${cur}): ` +
          `resume from committedOffsets() instead of re-batching`,
        { details: { topic: r.topic, partition: r.partition, next: String(cur) } },
      );
    }
    if (cur !== undefined && start > cur) {
      gaps.push({ topic: r.topic, partition: r.partition, from: String(cur), to: String(start - 1n) });
    }
    accepted.add(rangeId(r));
    next[k] = String(end + 1n);
  }
  return { accepted, skipped, gaps, offsets: next };
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

function sum(entries: FileEntry[], accepted: Set<string>): number {
  return entries.filter((e) => accepted.has(rangeId(e.sources[0]!))).reduce((n, e) => n + e.rows, 0);
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

function mergeSchema(table: string, base: StoredSchema | undefined, writer: StoredSchema): StoredSchema {
  if (!base) return writer;
  checkEvolution(table, base, writer);
  return writer.version > base.version ? writer : base;
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

function dayTotals(refs: readonly PartitionRef[]): Omit<DayRef, 'day' | 'manifest'> {
  return {
    partitions: refs.length,
    files: refs.reduce((n, r) => n + r.files, 0),
    rows: refs.reduce((n, r) => n + r.rows, 0),
    bytes: refs.reduce((n, r) => n + r.bytes, 0),
    minTs: Math.min(...refs.map((r) => r.minTs)),
    maxTs: Math.max(...refs.map((r) => r.maxTs)),
  };
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

// ---- maintenance -----------------------------------------------------------------------------------------

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
  const deleted: string[] = [];
  for (const o of objects) {
    if (keepPrefixes.some((p) => o.key.startsWith(p)) || referenced.has(o.key)) continue;
    if (o.lastModified.getTime() >= cutoff) continue;
    if (!opts.dryRun) await storage.delete(o.key);
    deleted.push(o.key);
  }
  return deleted;
}
