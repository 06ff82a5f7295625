import type { DlqReason } from '../../core/schemas/dlq.ts';
import type { SourceRange } from '../../lake/layout.ts';
import type { SinkTableName } from '../../lake/tables.ts';
import { encode, type EncodedFile } from '../../lake/writer.ts';
import { SINK_TABLES } from './tables.ts';

/**
 * One partition's buffered Kafka values in a form that crosses a thread boundary without copying per record: the
 * values back to back in one buffer, and each one's length (-1 for a null value). Records stay in offset order.
 */
export interface RecordBlock {
  bytes: Uint8Array;
  lengths: Int32Array;
}

export interface BlockReject {
  /** Position of the record in its block. */
  index: number;
  reason: DlqReason;
  detail: string;
}

export interface EncodedBlock {
  files: EncodedFile[];
  rows: number;
  rejects: BlockReject[];
}

export function packBlock(values: readonly (Uint8Array | null)[]): RecordBlock {
  const lengths = new Int32Array(values.length);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    lengths[i] = v ? v.length : -1;
    if (v) total += v.length;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const v of values) {
    if (!v) continue;
    bytes.set(v, at);
    at += v.length;
  }
  return { bytes, lengths };
}

/**
 * Decodes a block against its table and encodes the rows that fit as Parquet files (one per event hour); the rest
 * come back as rejects for the dead-letter topic. Pure: the sink runs it on its encoder threads.
 */
export function encodeBlock(
  table: SinkTableName,
  block: RecordBlock,
  range: SourceRange,
  opts: { rowGroupRows?: number } = {},
): EncodedBlock {
  const t = SINK_TABLES[table];
  const buf = Buffer.from(block.bytes.buffer, block.bytes.byteOffset, block.bytes.byteLength);
  const rows: unknown[] = [];
  const rejects: BlockReject[] = [];
  for (let i = 0, at = 0; i < block.lengths.length; i++) {
    const len = block.lengths[i]!;
    const value = len < 0 ? null : buf.subarray(at, at + len);
    if (len > 0) at += len;
    const d = t.decode(value);
    if (d.kind === 'row') rows.push(d.row);
    else rejects.push({ index: i, reason: d.reason, detail: d.detail });
  }
  return { files: encode(t.def, rows, range, opts), rows: rows.length, rejects };
}
