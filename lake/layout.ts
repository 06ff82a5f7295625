import { z } from 'zod';
import { TickLakeError } from '../core/errors.ts';

/**
 * Where things live in the lake, as pure functions of their inputs:
 *
 *   <table>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<startOffset>+<endOffset>.parquet   sink output
 *   <table>/dt=YYYY-MM-DD/hour=HH/compacted-<inputs hash>-<n>.parquet                      compaction output
 *   <table>/_manifest/...                                                                  see manifest.ts
 *
 * Partitions are by event time, UTC. Offsets are zero-padded to 19 digits (int64's width) so names sort in
 * offset order. The same source range always maps to the same object name: a retried upload overwrites it.
 */
import { HOUR_US } from '../core/partition-path.ts';

export { HOUR_US };

/** An inclusive Kafka offset range: the records a data file was built from. Offsets are decimal strings. */
export const sourceRangeSchema = z
  .object({
    topic: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'not a Kafka topic name'),
    partition: z.number().int().nonnegative(),
    startOffset: z.string().regex(/^\d{1,19}$/),
    endOffset: z.string().regex(/^\d{1,19}$/),
  })
  .refine((r) => BigInt(r.startOffset) <= BigInt(r.endOffset), { message: 'startOffset > endOffset' });
export type SourceRange = z.infer<typeof sourceRangeSchema>;

export function parseSourceRange(input: unknown): SourceRange {
  const r = sourceRangeSchema.safeParse(input);
  if (!r.success) {
    throw new TickLakeError(
      'INPUT_INVALID',
      `invalid source range: ${r.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
  return r.data;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export { partitionOf } from '../core/partition-path.ts';

const PARTITION_RE = /^dt=(\d{4})-(\d{2})-(\d{2})\/hour=(\d{2})$/;

/** [start, end) in µs of a partition path; throws on anything that isn't one. */
export function partitionRange(partition: string): { startUs: number; endUs: number } {
  const m = PARTITION_RE.exec(partition);
  if (!m) throw new TickLakeError('INPUT_INVALID', `not a partition path: ${partition}`);
  const startUs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])) * 1000;
  return { startUs, endUs: startUs + HOUR_US };
}

export function tablePrefix(table: string): string {
  return `${table}/`;
}

export function sourceRangeId(r: SourceRange): string {
  return `${r.topic}+${r.partition}+${r.startOffset.padStart(19, '0')}+${r.endOffset.padStart(19, '0')}`;
}

export function dataFileKey(table: string, partition: string, range: SourceRange): string {
  return `${table}/${partition}/${sourceRangeId(range)}.parquet`;
}

export function compactedFileKey(table: string, partition: string, inputsHash: string, n: number): string {
  return `${table}/${partition}/compacted-${inputsHash}-${pad(n, 4)}.parquet`;
}

export function manifestPrefix(table: string): string {
  return `${table}/_manifest/`;
}

/** Source ranges in (topic, partition, start offset) order. */
export function compareRanges(a: SourceRange, b: SourceRange): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  if (a.partition !== b.partition) return a.partition - b.partition;
  const d = BigInt(a.startOffset) - BigInt(b.startOffset);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** Merges contiguous offset ranges per topic-partition: what a compacted file says it was built from. */
export function mergeSources(ranges: readonly SourceRange[]): SourceRange[] {
  const sorted = [...ranges].sort(compareRanges);
  const out: SourceRange[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (
      last &&
      last.topic === r.topic &&
      last.partition === r.partition &&
      BigInt(r.startOffset) <= BigInt(last.endOffset) + 1n
    ) {
      if (BigInt(r.endOffset) > BigInt(last.endOffset)) last.endOffset = r.endOffset;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}
