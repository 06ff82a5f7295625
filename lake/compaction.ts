import { createHash } from 'node:crypto';
import { TickLakeError } from '../core/errors.ts';
import { concatColumns, fromRecordBatch, gather, type Columns } from './columns.ts';
import { compactedFileKey, partitionRange, type SourceRange } from './layout.ts';
import { commit, loadPartition, loadSnapshot, type CommitResult, type FileEntry } from './manifest.ts';
import { dedupe, sortOrder } from './order.ts';
import { decodeParquet } from './parquet.ts';
import type { Storage } from './storage/storage.ts';
import { storedSchema, type TableDef } from './tables.ts';
import { encodeColumns, upload } from './writer.ts';

/**
 * Compaction of one partition: its small files are read, deduplicated by the table's key, sorted by
 * (symbol, event time) and rewritten as files of about the target size, then swapped in with one manifest
 * commit that is conditional on every input still being live. Of two racing compactions one commits and
 * the other gets status 'conflict' and changes nothing; its outputs (if named differently) become orphans.
 *
 * Output names derive from the input set, so a compaction retried after a crash rewrites the same objects.
 * Replaced inputs are not deleted here: they stay readable through the snapshots that reference them until
 * snapshot expiry and orphan cleanup (manifest.ts) remove them, which is the grace period.
 */
export const DEFAULT_TARGET_BYTES = 128 * 1024 * 1024;

export interface CompactionOptions {
  targetBytes?: number;
  /** Files at least this large are left alone (default: 3/4 of the target). */
  smallFileBytes?: number;
  /** Fewest small files worth rewriting (default 2). */
  minFiles?: number;
  rowGroupRows?: number;
  now?: () => number;
}

export interface CompactionResult {
  partition: string;
  status: CommitResult['status'] | 'nothing_to_do';
  seq: number | null;
  inputFiles: string[];
  outputFiles: string[];
  rowsIn: number;
  rowsOut: number;
}

/** Merges contiguous offset ranges per topic-partition: what a compacted file says it was built from. */
export function mergeSources(ranges: readonly SourceRange[]): SourceRange[] {
  const sorted = [...ranges].sort((a, b) =>
    a.topic !== b.topic
      ? a.topic < b.topic
        ? -1
        : 1
      : a.partition !== b.partition
        ? a.partition - b.partition
        : Number(BigInt(a.startOffset) - BigInt(b.startOffset)),
  );
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

async function readFileColumns(storage: Storage, def: TableDef, file: FileEntry): Promise<Columns> {
  const bytes = await storage.get(file.path);
  if (!bytes) throw new TickLakeError('INPUT_INVALID', `live file ${file.path} is missing from storage`);
  return concatColumns(
    decodeParquet(bytes).map((b) => fromRecordBatch(def.columns, b)),
    def.columns,
  );
}

export async function compactPartition(
  storage: Storage,
  def: TableDef,
  partition: string,
  opts: CompactionOptions = {},
): Promise<CompactionResult> {
  partitionRange(partition); // rejects anything that isn't a partition path
  const target = opts.targetBytes ?? DEFAULT_TARGET_BYTES;
  const small = opts.smallFileBytes ?? Math.floor(target * 0.75);
  const result: CompactionResult = {
    partition,
    status: 'nothing_to_do',
    seq: null,
    inputFiles: [],
    outputFiles: [],
    rowsIn: 0,
    rowsOut: 0,
  };
  const snap = await loadSnapshot(storage, def.name);
  const ref = snap?.partitions.find((p) => p.partition === partition);
  if (!snap || !ref) return result;
  const inputs = (await loadPartition(storage, ref)).filter((f) => f.bytes < small);
  if (inputs.length < (opts.minFiles ?? 2)) return { ...result, seq: snap.seq };
  inputs.sort((a, b) => (a.path < b.path ? -1 : 1));

  const parts: Columns[] = [];
  for (const f of inputs) parts.push(await readFileColumns(storage, def, f));
  const all = concatColumns(parts, def.columns);
  const rowsIn = inputs.reduce((n, f) => n + f.rows, 0);
  const keep = dedupe(def, all, sortOrder(def, all, rowsIn));
  const rows = gather(all, keep);
  const rowsOut = keep.length;

  // First guess from the inputs' bytes per row; a file that comes out over the target is re-encoded with
  // proportionally fewer rows, and the guess is kept for the next file. Same inputs, same decisions.
  const bytesPerRow = inputs.reduce((n, f) => n + f.bytes, 0) / Math.max(1, rowsIn);
  let rowsPerFile = Math.max(1, Math.floor(target / Math.max(1, bytesPerRow)));
  const hash = createHash('sha256')
    .update(JSON.stringify([def.name, def.version, target, inputs.map((f) => f.path)]))
    .digest('hex')
    .slice(0, 16);
  const sources = mergeSources(inputs.flatMap((f) => f.sources));
  const now = (opts.now ?? Date.now)();
  const outputs: FileEntry[] = [];
  for (let from = 0, n = 0; from < rowsOut;) {
    const to = Math.min(rowsOut, from + rowsPerFile);
    const slice = gather(
      rows,
      Array.from({ length: to - from }, (_, i) => from + i),
    );
    const file = encodeColumns(
      def,
      partition,
      compactedFileKey(def.name, partition, hash, n),
      slice,
      to - from,
      sources,
      {
        rowGroupRows: opts.rowGroupRows,
      },
    );
    if (file.body.length > target && to - from > 1) {
      rowsPerFile = Math.max(1, Math.floor(((to - from) * target * 0.97) / file.body.length));
      continue;
    }
    outputs.push(await upload(storage, file, now));
    from = to;
    n++;
  }

  const committed = await commit(
    storage,
    def.name,
    storedSchema(def),
    { kind: 'replace', partition, remove: inputs.map((f) => f.path), add: outputs },
    { now: opts.now },
  );
  return {
    partition,
    status: committed.status,
    seq: committed.seq,
    inputFiles: inputs.map((f) => f.path),
    outputFiles: outputs.map((f) => f.path),
    rowsIn,
    rowsOut,
  };
}

/** Compacts every partition that has small files and ended before `beforeUs` (default: all). */
export async function compactTable(
  storage: Storage,
  def: TableDef,
  opts: CompactionOptions & { beforeUs?: number } = {},
): Promise<CompactionResult[]> {
  const snap = await loadSnapshot(storage, def.name);
  if (!snap) return [];
  const small = opts.smallFileBytes ?? Math.floor((opts.targetBytes ?? DEFAULT_TARGET_BYTES) * 0.75);
  const out: CompactionResult[] = [];
  for (const ref of snap.partitions) {
    if (opts.beforeUs !== undefined && partitionRange(ref.partition).endUs > opts.beforeUs) continue;
    const files = await loadPartition(storage, ref);
    if (files.filter((f) => f.bytes < small).length < (opts.minFiles ?? 2)) continue;
    out.push(await compactPartition(storage, def, ref.partition, opts));
  }
  return out;
}
