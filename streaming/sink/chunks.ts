import type { SourceRange } from '../../lake/layout.ts';
import type { DeadLetter } from '../dlq.ts';
import type { EncodedBlock } from './encode-block.ts';

/**
 * The sink's buffers and the pure decisions over them: when a flush is due, and how a buffer is cut into chunks
 * that each become one set of files.
 */
export interface PartitionBuffer {
  /** Data records (control records excluded), in offset order. */
  values: Array<Buffer | null>;
  keys: Array<Buffer | null>;
  offsets: string[];
  bytes: number;
  /** The offsets covered, control records included: the source range the flush commits. */
  firstOffset?: string;
  lastOffset?: string;
  openedAt: number;
}

export interface FlushBounds {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
  maxPendingBytes: number;
}

export function bufferedBytes(buffers: Iterable<PartitionBuffer>): number {
  let n = 0;
  for (const b of buffers) n += b.bytes;
  return n;
}

/** Whether to flush now: memory bound reached, a buffer at its row or byte bound, or (unless sizeOnly) too old. */
export function flushDue(
  buffers: Iterable<PartitionBuffer>,
  s: FlushBounds,
  nowMs: number,
  sizeOnly: boolean,
): boolean {
  const list = [...buffers];
  if (bufferedBytes(list) >= s.maxPendingBytes) return true;
  for (const b of list) {
    if (b.values.length >= s.maxRows || b.bytes >= s.maxBytes) return true;
    if (!sizeOnly && b.firstOffset !== undefined && nowMs - b.openedAt >= s.maxAgeMs) return true;
  }
  return false;
}

/** Records [from, to) of one partition's buffer and the source range they commit. */
export interface Chunk {
  partition: number;
  buffer: PartitionBuffer;
  from: number;
  to: number;
  range: SourceRange;
}

/**
 * Splits a partition's buffer into chunks of at most `maxRows` records and about `maxBytes` bytes (a record larger
 * than that is a chunk of its own), with contiguous source ranges: a chunk ends at its last record's offset, the
 * last one at the buffer's last offset (trailing control records included). Buffers grow past the flush bounds
 * while a flush is in flight or S3 is down; this keeps every file and every encode within them.
 */
export function chunksOf(
  topic: string,
  partition: number,
  b: PartitionBuffer,
  maxRows: number,
  maxBytes: number,
): Chunk[] {
  const chunks: Chunk[] = [];
  let from = 0;
  let bytes = 0;
  let start = b.firstOffset!;
  for (let i = 0; i < b.values.length; i++) {
    const len = b.values[i]?.length ?? 0;
    if (i > from && (i - from >= maxRows || bytes + len > maxBytes)) {
      const end = b.offsets[i - 1]!;
      chunks.push({
        partition,
        buffer: b,
        from,
        to: i,
        range: { topic, partition, startOffset: start, endOffset: end },
      });
      start = (BigInt(end) + 1n).toString();
      from = i;
      bytes = 0;
    }
    bytes += len;
  }
  const range = { topic, partition, startOffset: start, endOffset: b.lastOffset! };
  chunks.push({ partition, buffer: b, from, to: b.values.length, range });
  return chunks;
}

/** The records the encoders refused, with where they were read: chunk i's rejects index into its [from, to). */
export function deadLettersOf(chunks: readonly Chunk[], encoded: readonly EncodedBlock[]): DeadLetter[] {
  return chunks.flatMap((c, i) =>
    encoded[i]!.rejects.map((r) => {
      const at = c.from + r.index;
      return {
        partition: c.partition,
        offset: c.buffer.offsets[at]!,
        key: c.buffer.keys[at] ? c.buffer.keys[at]!.toString('utf8') : null,
        value: c.buffer.values[at] ?? null,
        reason: r.reason,
        detail: r.detail,
      };
    }),
  );
}
