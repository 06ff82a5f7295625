import { checkEvolution, type StoredSchema } from '../tables.ts';
import { compareRanges, type SourceRange } from '../layout.ts';
import { TickLakeError } from '../../core/errors.ts';
import type { FileEntry } from './format.ts';
import { tpKey } from './format.ts';

/** The pure parts of a commit: what it is, what it returns, and which offsets an append accepts. */

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

export const rangeId = (r: SourceRange) => `${r.topic}/${r.partition}/${r.startOffset}/${r.endOffset}`;

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
export function sum(entries: FileEntry[], accepted: Set<string>): number {
  return entries.filter((e) => accepted.has(rangeId(e.sources[0]!))).reduce((n, e) => n + e.rows, 0);
}

export function mergeSchema(table: string, base: StoredSchema | undefined, writer: StoredSchema): StoredSchema {
  if (!base) return writer;
  checkEvolution(table, base, writer);
  return writer.version > base.version ? writer : base;
}
