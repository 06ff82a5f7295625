import { z } from 'zod';
import { TickLakeError } from '../../core/errors.ts';
import { manifestPrefix, sourceRangeSchema } from '../layout.ts';
import { storedSchemaSchema } from '../tables.ts';

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
export const FORMAT = 2;
/** Part manifests and day lists keep their own format numbers: their shape did not change with the snapshot's. */
export const PART_FORMAT = 1;
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

export const partManifestSchema = z.object({
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

export const dayListSchema = z.object({
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

export const pad20 = (n: number) => String(n).padStart(20, '0');
export const snapshotsPrefix = (table: string) => `${manifestPrefix(table)}snapshots/`;
export const snapshotKey = (table: string, seq: number) => `${snapshotsPrefix(table)}${pad20(seq)}.json`;
export const paxosPrefix = (table: string, seq?: number) =>
  `${manifestPrefix(table)}paxos/${seq === undefined ? '' : `${pad20(seq)}/`}`;
export const partsPrefix = (table: string) => `${manifestPrefix(table)}parts/`;
export const daysPrefix = (table: string) => `${manifestPrefix(table)}days/`;
/** `dt=YYYY-MM-DD/hour=HH` -> `dt=YYYY-MM-DD`. */
export const dayOf = (partition: string) => partition.split('/')[0]!;

const decoder = new TextDecoder();

export function parseJson<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
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

export function dayTotals(refs: readonly PartitionRef[]): Omit<DayRef, 'day' | 'manifest'> {
  return {
    partitions: refs.length,
    files: refs.reduce((n, r) => n + r.files, 0),
    rows: refs.reduce((n, r) => n + r.rows, 0),
    bytes: refs.reduce((n, r) => n + r.bytes, 0),
    minTs: Math.min(...refs.map((r) => r.minTs)),
    maxTs: Math.max(...refs.map((r) => r.maxTs)),
  };
}

export interface OffsetPosition {
  topic: string;
  partition: number;
  /** The first offset not yet in the table: where a restarted sink resumes. */
  nextOffset: string;
}

export const tpKey = (topic: string, partition: number) => `${topic}/${partition}`;

export function offsetsOf(snap: Snapshot | null): OffsetPosition[] {
  if (!snap) return [];
  return Object.entries(snap.offsets).map(([k, next]) => {
    const slash = k.lastIndexOf('/');
    return { topic: k.slice(0, slash), partition: Number(k.slice(slash + 1)), nextOffset: next };
  });
}
