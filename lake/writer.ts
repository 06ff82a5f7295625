import { TickLakeError } from '../core/errors.ts';
import { gather, type Columns } from './columns.ts';
import { dataFileKey, parseSourceRange, partitionOf, type SourceRange } from './layout.ts';
import {
  commit as commitOp,
  committedOffsets as readOffsets,
  type CommitOptions,
  type CommitResult,
  type FileEntry,
  type OffsetPosition,
} from './manifest.ts';
import { sortOrder } from './order.ts';
import { encodeParquet, rangeStats, DEFAULT_ROW_GROUP_ROWS, type RangeStats } from './parquet.ts';
import type { Storage } from './storage/storage.ts';
import { storedSchema, toColumns, type TableDef } from './tables.ts';

/**
 * What the sink calls. Three separately callable steps so the sink can die between any two and recover:
 *
 *   encode(table, rows, range)  -> files in memory, one per event-hour partition the rows fall in
 *   upload(file)                -> the object at its deterministic name (a retry overwrites the same name)
 *   commit(table, entries)      -> the manifest commit; a range already committed is a no-op
 *
 * writeFile() is encode + upload. On restart the sink resumes from committedOffsets(table): an upload that
 * was never committed is rewritten by the retry (same range, same name) or removed later as an orphan.
 */
export const MAX_SYMBOLS_LISTED = 256;

export interface EncodedFile {
  table: string;
  partition: string;
  key: string;
  body: Uint8Array;
  stats: RangeStats;
  symbols: string[] | null;
  rowGroups: RangeStats[];
  schemaVersion: number;
  sources: SourceRange[];
}

export interface EncodeFileOptions {
  rowGroupRows?: number;
}

/** Encodes already-sorted columns of one partition; shared by the sink path and compaction. */
export function encodeColumns(
  def: TableDef,
  partition: string,
  key: string,
  cols: Columns,
  rows: number,
  sources: SourceRange[],
  opts: EncodeFileOptions = {},
): EncodedFile {
  const rowGroupRows = opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
  const body = encodeParquet(def.columns, cols, rows, {
    rowGroupRows,
    metadata: { 'ticklake.table': def.name, 'ticklake.schema_version': String(def.version) },
  });
  const rowGroups: RangeStats[] = [];
  for (let from = 0; from < rows; from += rowGroupRows) {
    rowGroups.push(rangeStats(cols, def.timeColumn, def.symbolColumn, from, Math.min(rows, from + rowGroupRows)));
  }
  const distinct = new Set(cols[def.symbolColumn] as string[]);
  return {
    table: def.name,
    partition,
    key,
    body,
    stats: rangeStats(cols, def.timeColumn, def.symbolColumn, 0, rows),
    symbols: distinct.size <= MAX_SYMBOLS_LISTED ? [...distinct].sort() : null,
    rowGroups,
    schemaVersion: def.version,
    sources,
  };
}

/** Rows of one source range -> one sorted Parquet file per event-hour partition. Throws INPUT_INVALID on bad rows. */
export function encode<Row>(
  def: TableDef<Row>,
  rows: readonly Row[],
  range: SourceRange,
  opts: EncodeFileOptions = {},
): EncodedFile[] {
  const source = parseSourceRange(range);
  if (rows.length === 0) return [];
  const cols = toColumns(def, rows);
  const times = cols[def.timeColumn] as number[];
  const byPartition = new Map<string, number[]>();
  for (let i = 0; i < rows.length; i++) {
    const p = partitionOf(times[i]!);
    let list = byPartition.get(p);
    if (!list) byPartition.set(p, (list = []));
    list.push(i);
  }
  const out: EncodedFile[] = [];
  for (const [partition, indices] of [...byPartition].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // Sorted within the partition and gathered once.
    const sorted = gather(cols, sortOrder(def as TableDef, cols, rows.length, indices));
    out.push(
      encodeColumns(
        def as TableDef,
        partition,
        dataFileKey(def.name, partition, source),
        sorted,
        indices.length,
        [source],
        opts,
      ),
    );
  }
  return out;
}

export async function upload(storage: Storage, file: EncodedFile, now: number = Date.now()): Promise<FileEntry> {
  await storage.put(file.key, file.body);
  return {
    path: file.key,
    partition: file.partition,
    rows: file.stats.rows,
    bytes: file.body.length,
    minTs: file.stats.minTs,
    maxTs: file.stats.maxTs,
    minSymbol: file.stats.minSymbol,
    maxSymbol: file.stats.maxSymbol,
    symbols: file.symbols,
    schemaVersion: file.schemaVersion,
    sources: file.sources,
    rowGroups: file.rowGroups,
    addedAt: now,
  };
}

export interface LakeWriterOptions extends CommitOptions {
  /**
   * Uploads older than this are refused at commit (retryable): the orphan cleaner may delete uncommitted
   * objects after its grace period, so a stale upload must be rewritten first. Keep well below that grace.
   */
  maxUploadAgeMs?: number;
  rowGroupRows?: number;
}

export class LakeWriter {
  constructor(
    readonly storage: Storage,
    private readonly opts: LakeWriterOptions = {},
  ) {}

  encode<Row>(def: TableDef<Row>, rows: readonly Row[], range: SourceRange): EncodedFile[] {
    return encode(def, rows, range, { rowGroupRows: this.opts.rowGroupRows });
  }

  upload(file: EncodedFile): Promise<FileEntry> {
    return upload(this.storage, file, this.now());
  }

  /** encode + upload: the file entries to pass to commit (several when the rows span event hours). */
  async writeFile<Row>(def: TableDef<Row>, rows: readonly Row[], range: SourceRange): Promise<FileEntry[]> {
    const entries: FileEntry[] = [];
    for (const f of this.encode(def, rows, range)) entries.push(await this.upload(f));
    return entries;
  }

  /**
   * Adds the entries in one snapshot. `ranges` lists source ranges that produced no file (every record
   * dead-lettered) so the offsets still advance. Already-committed ranges are skipped (status noop).
   */
  async commit<Row>(
    def: TableDef<Row>,
    entries: readonly FileEntry[],
    opts: { ranges?: SourceRange[] } = {},
  ): Promise<CommitResult> {
    const maxAge = this.opts.maxUploadAgeMs ?? 3600_000;
    const stale = entries.find((e) => this.now() - e.addedAt > maxAge);
    if (stale) {
      throw new TickLakeError(
        'STALE_UPLOAD',
        `upload ${stale.path} is older than ${maxAge} ms: rewrite it before committing`,
        {
          details: { path: stale.path },
        },
      );
    }
    for (const e of entries) {
      if (!e.path.startsWith(`${def.name}/`))
        throw new TickLakeError('INTERNAL', `file ${e.path} is not in table ${def.name}`);
    }
    return commitOp(
      this.storage,
      def.name,
      storedSchema(def as TableDef),
      { kind: 'append', entries: [...entries], ranges: (opts.ranges ?? []).map(parseSourceRange) },
      this.opts,
    );
  }

  committedOffsets(def: TableDef | string): Promise<OffsetPosition[]> {
    return readOffsets(this.storage, typeof def === 'string' ? def : def.name);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}
