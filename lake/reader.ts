import type { RecordBatch } from 'apache-arrow';
import { TickLakeError } from '../core/errors.ts';
import { concatColumns, fromRecordBatch, gather, rowCount, toRecordBatch, type Columns } from './columns.ts';
import { partitionRange } from './layout.ts';
import {
  dayOf,
  loadSnapshot,
  snapshotFiles,
  snapshotPartitions,
  type FileEntry,
  type PartitionRef,
  type Snapshot,
} from './manifest.ts';
import { decodeParquetRanges } from './parquet.ts';
import { RangedObject, type RangedReadStats } from './ranged-object.ts';
import type { Storage } from './storage/storage.ts';
import { dedupe, sortOrder } from './order.ts';
import { fromColumns, type TableDef } from './tables.ts';

/**
 * Reading one snapshot of a table by event-time range and symbols. Pruning happens three times before any
 * data is fetched: partitions by their dt=/hour= path, files by the manifest's min/max time and symbol set,
 * row groups by the per-row-group stats the writer put in the manifest (only those row groups are decoded).
 * Rows are then filtered exactly. Files written under an older schema read their missing columns as null.
 */
export interface ScanFilter {
  /** Inclusive lower bound, µs. */
  fromUs?: number;
  /** Exclusive upper bound, µs. */
  toUs?: number;
  symbols?: readonly string[];
  /** Read this snapshot instead of the latest (time travel while it is retained). */
  seq?: number;
  /**
   * Decode only these columns (and fetch only their column chunks); the time, symbol and dedupe columns are read
   * anyway, for filtering and dedupe. Default: every column of the table.
   */
  columns?: readonly string[];
}

/** The columns a scan decodes: the projection plus the ones filtering and dedupe need, in table order. */
export function scanSpecs(def: TableDef, f: ScanFilter): TableDef['columns'] {
  if (!f.columns) return def.columns;
  const known = new Set(def.columns.map((c) => c.name));
  const unknown = f.columns.filter((c) => !known.has(c));
  if (unknown.length) {
    throw new TickLakeError('INPUT_INVALID', `table ${def.name} has no column ${unknown.join(', ')}`, {
      details: { table: def.name, columns: unknown },
    });
  }
  const wanted = new Set([
    ...f.columns,
    def.timeColumn,
    def.symbolColumn,
    ...def.dedupeKey,
    ...(def.keepMax ? [def.keepMax] : []),
  ]);
  return def.columns.filter((c) => wanted.has(c.name));
}

export interface ScanPlan {
  seq: number | null;
  files: { entry: FileEntry; rowGroups: number[] }[];
  pruned: { partitions: number; files: number; rowGroups: number };
}

const overlaps = (min: number, max: number, f: ScanFilter) =>
  (f.fromUs === undefined || max >= f.fromUs) && (f.toUs === undefined || min < f.toUs);

function symbolMayMatch(
  set: readonly string[] | null,
  min: string,
  max: string,
  wanted: readonly string[] | undefined,
) {
  if (!wanted) return true;
  if (set) return wanted.some((s) => set.includes(s));
  return wanted.some((s) => s >= min && s <= max);
}

export function partitionMayMatch(ref: PartitionRef, f: ScanFilter): boolean {
  const { startUs, endUs } = partitionRange(ref.partition);
  return overlaps(startUs, endUs - 1, f) && overlaps(ref.minTs, ref.maxTs, f);
}

/** The pure planning step: which files and row groups of `files` can hold matching rows. */
export function planFiles(files: readonly FileEntry[], f: ScanFilter): Omit<ScanPlan, 'seq'> {
  const plan: Omit<ScanPlan, 'seq'> = { files: [], pruned: { partitions: 0, files: 0, rowGroups: 0 } };
  for (const entry of files) {
    if (
      !overlaps(entry.minTs, entry.maxTs, f) ||
      !symbolMayMatch(entry.symbols, entry.minSymbol, entry.maxSymbol, f.symbols)
    ) {
      plan.pruned.files++;
      continue;
    }
    const rowGroups: number[] = [];
    entry.rowGroups.forEach((rg, i) => {
      if (overlaps(rg.minTs, rg.maxTs, f) && symbolMayMatch(null, rg.minSymbol, rg.maxSymbol, f.symbols))
        rowGroups.push(i);
      else plan.pruned.rowGroups++;
    });
    if (rowGroups.length === 0) plan.pruned.files++;
    else plan.files.push({ entry, rowGroups });
  }
  plan.files.sort((a, b) => (a.entry.path < b.entry.path ? -1 : 1));
  return plan;
}

async function snapshotOrThrow(storage: Storage, table: string, seq?: number): Promise<Snapshot | null> {
  const snap = await loadSnapshot(storage, table, seq);
  if (!snap && seq !== undefined) throw new TickLakeError('INPUT_INVALID', `table ${table} has no snapshot ${seq}`);
  return snap;
}

export async function planScan(storage: Storage, table: string, f: ScanFilter = {}): Promise<ScanPlan> {
  const snap = await snapshotOrThrow(storage, table, f.seq);
  if (!snap) return { seq: null, files: [], pruned: { partitions: 0, files: 0, rowGroups: 0 } };
  let prunedPartitions = 0;
  const files = await snapshotFiles(
    storage,
    snap,
    (ref) => {
      const keep = partitionMayMatch(ref, f);
      if (!keep) prunedPartitions++;
      return keep;
    },
    (day) => {
      // A day outside the time range: its list is not even read.
      const keep = overlaps(day.minTs, day.maxTs, f);
      if (!keep) prunedPartitions += day.partitions;
      return keep;
    },
  );
  const plan = planFiles(files, f);
  return { seq: snap.seq, files: plan.files, pruned: { ...plan.pruned, partitions: prunedPartitions } };
}

function filterRows(def: TableDef, cols: Columns, f: ScanFilter): Columns {
  const ts = cols[def.timeColumn] as number[];
  const sym = cols[def.symbolColumn] as string[];
  const wanted = f.symbols ? new Set(f.symbols) : null;
  const keep: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    if (f.fromUs !== undefined && ts[i]! < f.fromUs) continue;
    if (f.toUs !== undefined && ts[i]! >= f.toUs) continue;
    if (wanted && !wanted.has(sym[i]!)) continue;
    keep.push(i);
  }
  return keep.length === ts.length ? cols : gather(cols, keep);
}

/** Matching rows as Arrow record batches in the table's current schema, file by file. */
export async function* scan(storage: Storage, def: TableDef, f: ScanFilter = {}): AsyncGenerator<RecordBatch> {
  const specs = scanSpecs(def, f);
  for await (const cols of scanColumns(storage, def, f)) yield toRecordBatch(specs, cols, rowCount(cols));
}

/**
 * Like scan, as plain columns (µs numbers for times). Each file is read by ranged GETs: its footer, then only the
 * row groups the plan kept. `stats`, when given, adds up the requests and bytes fetched.
 */
export async function* scanColumns(
  storage: Storage,
  def: TableDef,
  f: ScanFilter = {},
  stats?: RangedReadStats,
): AsyncGenerator<Columns> {
  const specs = scanSpecs(def, f);
  const plan = await planScan(storage, def.name, f);
  for (const { entry, rowGroups } of plan.files) yield* readFile(storage, def, specs, entry, rowGroups, f, stats);
}

async function* readFile(
  storage: Storage,
  def: TableDef,
  specs: TableDef['columns'],
  entry: FileEntry,
  rowGroups: number[],
  f: ScanFilter,
  stats?: RangedReadStats,
): AsyncGenerator<Columns> {
  const source = await RangedObject.open(storage, entry.path, entry.bytes);
  if (!source) {
    throw new TickLakeError('MANIFEST_CORRUPT', `live file ${entry.path} is missing from storage`, {
      details: { path: entry.path },
    });
  }
  const all = rowGroups.length === entry.rowGroups.length ? undefined : rowGroups;
  const columns = specs === def.columns ? undefined : specs.map((c) => c.name);
  const batches = await decodeParquetRanges(source, { rowGroups: all, columns });
  if (stats) {
    stats.requests += source.stats.requests;
    stats.bytes += source.stats.bytes;
  }
  for (const batch of batches) {
    const cols = filterRows(def, fromRecordBatch(specs, batch), f);
    if (rowCount(cols) > 0) yield cols;
  }
}

/**
 * Like scanColumns, one dt/hour partition at a time, with one row per dedupe key: the latest revision of a bar,
 * one copy of a tick delivered twice (what compaction will keep, lake/order.ts). Duplicates share their event
 * time and so their partition, which bounds memory to one partition's matching rows. Rows come sorted by
 * (symbol, event time, key).
 */
export async function* scanLatest(storage: Storage, def: TableDef, f: ScanFilter = {}): AsyncGenerator<Columns> {
  for await (const { cols } of scanLatestPartitions(storage, def, f)) yield cols;
}

/** scanLatest with the partition (`dt=…/hour=…`) each block of rows comes from. */
export async function* scanLatestPartitions(
  storage: Storage,
  def: TableDef,
  f: ScanFilter = {},
): AsyncGenerator<{ partition: string; seq: number; cols: Columns }> {
  const specs = scanSpecs(def, f);
  const plan = await planScan(storage, def.name, f);
  const byPartition = new Map<string, ScanPlan['files']>();
  for (const file of plan.files) {
    const list = byPartition.get(file.entry.partition) ?? [];
    list.push(file);
    byPartition.set(file.entry.partition, list);
  }
  for (const [partition, files] of [...byPartition].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parts: Columns[] = [];
    for (const { entry, rowGroups } of files) {
      for await (const cols of readFile(storage, def, specs, entry, rowGroups, f)) parts.push(cols);
    }
    if (!parts.length) continue;
    const cols = concatColumns(parts, specs);
    const keep = dedupe(def, cols, sortOrder(def, cols, rowCount(cols)));
    if (keep.length) yield { partition, seq: plan.seq!, cols: gather(cols, keep) };
  }
}

/**
 * The batch path's typed read: the rows compaction would keep (scanLatest, one per dedupe key), mapped back to the
 * core's types by the table's one declaration (fromColumns), a partition at a time. Whole rows only: a
 * projection would leave required fields out, so this takes no `columns` (scanColumns does).
 */
export async function* readRows<Row>(
  storage: Storage,
  def: TableDef<Row>,
  f: Omit<ScanFilter, 'columns'> = {},
): AsyncGenerator<{ partition: string; seq: number; rows: Row[] }> {
  const { columns: _ignored, ...whole } = f as ScanFilter;
  for await (const { partition, seq, cols } of scanLatestPartitions(storage, def as TableDef, whole)) {
    yield { partition, seq, rows: fromColumns(def, cols) };
  }
}

// ---- what `ticklake lake ls | stats | cat` print ---------------------------------------------------------

export interface LsResult {
  table: string;
  seq: number | null;
  createdAt: number | null;
  files: FileEntry[];
}

export async function lakeLs(
  storage: Storage,
  table: string,
  opts: { seq?: number; partition?: string } = {},
): Promise<LsResult> {
  const snap = await snapshotOrThrow(storage, table, opts.seq);
  if (!snap) return { table, seq: null, createdAt: null, files: [] };
  const files = await snapshotFiles(
    storage,
    snap,
    (ref) => opts.partition === undefined || ref.partition === opts.partition,
    (day) => opts.partition === undefined || day.day === dayOf(opts.partition),
  );
  return { table, seq: snap.seq, createdAt: snap.createdAt, files: files.sort((a, b) => (a.path < b.path ? -1 : 1)) };
}

export interface StatsResult {
  table: string;
  seq: number | null;
  schemaVersion: number | null;
  partitions: Omit<PartitionRef, 'manifest'>[];
  total: { partitions: number; files: number; rows: number; bytes: number };
  offsets: Snapshot['offsets'];
}

/** Per-partition file counts, rows and bytes, from the snapshot and its day lists (no part manifest is read). */
export async function lakeStats(storage: Storage, table: string, opts: { seq?: number } = {}): Promise<StatsResult> {
  const snap = await snapshotOrThrow(storage, table, opts.seq);
  const partitions = (snap ? await snapshotPartitions(storage, snap) : []).map(({ manifest: _m, ...rest }) => rest);
  return {
    table,
    seq: snap?.seq ?? null,
    schemaVersion: snap?.schema.version ?? null,
    partitions,
    total: {
      partitions: partitions.length,
      files: partitions.reduce((n, p) => n + p.files, 0),
      rows: partitions.reduce((n, p) => n + p.rows, 0),
      bytes: partitions.reduce((n, p) => n + p.bytes, 0),
    },
    offsets: snap?.offsets ?? {},
  };
}

/**
 * Matching rows as NDJSON lines (column names as keys, times as µs since epoch), at most `limit`: by default one
 * row per dedupe key (scanLatest: a bar's latest revision); with `all`, every stored row (every revision) in file
 * order.
 */
export async function* lakeCat(
  storage: Storage,
  def: TableDef,
  f: ScanFilter & { limit?: number; all?: boolean } = {},
): AsyncGenerator<string> {
  let left = f.limit ?? Infinity;
  const names = scanSpecs(def, f).map((c) => c.name);
  for await (const cols of f.all ? scanColumns(storage, def, f) : scanLatest(storage, def, f)) {
    const n = rowCount(cols);
    for (let i = 0; i < n && left > 0; i++, left--) {
      const row: Record<string, unknown> = {};
      for (const name of names) row[name] = cols[name]![i];
      yield JSON.stringify(row);
    }
    if (left <= 0) return;
  }
}
