import { Table as ArrowTable, tableFromIPC, tableToIPC, type RecordBatch } from 'apache-arrow';
import * as wasm from 'parquet-wasm';
import { TickLakeError } from '../core/errors.ts';
import { fromRecordBatch, toRecordBatch, type CellValue, type ColumnSpec, type Columns } from './columns.ts';
import type { RangedObject } from './ranged-object.ts';

/**
 * Parquet encode/decode through Arrow and parquet-wasm (arrow-rs compiled to WebAssembly).
 *
 * File format choices (readable by DuckDB, pyarrow and BigQuery):
 * - event times: INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true), from Arrow Timestamp(µs, "UTC");
 * - prices and sizes: DOUBLE, as they travel in Kafka (no decimal rescaling on the way in);
 * - strings are plain Utf8 (the one physical schema, lake/columns.ts arrowSchema); low-cardinality ones (symbol,
 *   type, exchange...) get RLE_DICTIONARY pages, unique strings (ids, messages) and timestamps skip the attempt;
 * - ZSTD pages, Parquet format v1 data pages (the most widely readable), chunk-level min/max statistics;
 * - row groups of a fixed row count, so per-row-group stats can be computed here and kept in the manifest.
 */
export const DEFAULT_ROW_GROUP_ROWS = 128 * 1024;

export interface EncodeOptions {
  rowGroupRows?: number;
  compression?: 'zstd' | 'snappy';
  /**
   * DELTA_BINARY_PACKED for timestamp and int64 columns: ~8x smaller on sorted ticks, but off by default
   * because not every reader BigQuery-side is known to take it (see the lake notes).
   */
  deltaIntegers?: boolean;
  /** Stored in the file's key-value metadata (table name, schema version). */
  metadata?: Record<string, string>;
}

export function encodeParquet(
  specs: readonly ColumnSpec[],
  cols: Columns,
  rows: number,
  opts: EncodeOptions = {},
): Uint8Array {
  const batch = toRecordBatch(specs, cols, rows);
  const ipc = tableToIPC(new ArrowTable(batch), 'stream');
  let builder = new wasm.WriterPropertiesBuilder()
    .setCompression(opts.compression === 'snappy' ? wasm.Compression.SNAPPY : wasm.Compression.ZSTD)
    .setStatisticsEnabled(wasm.EnabledStatistics.Chunk)
    .setMaxRowGroupSize(opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS)
    .setWriterVersion(wasm.WriterVersion.V1)
    .setCreatedBy('ticklake lake/parquet.ts (parquet-wasm)');
  for (const s of specs) {
    if (s.kind === 'string' || s.kind === 'ts') builder = builder.setColumnDictionaryEnabled(s.name, false);
    if (opts.deltaIntegers && (s.kind === 'ts' || s.kind === 'i64')) {
      builder = builder
        .setColumnDictionaryEnabled(s.name, false)
        .setColumnEncoding(s.name, wasm.Encoding.DELTA_BINARY_PACKED);
    }
  }
  if (opts.metadata) builder = builder.setKeyValueMetadata(new Map(Object.entries(opts.metadata)));
  const table = wasm.Table.fromIPCStream(ipc);
  try {
    return wasm.writeParquet(table, builder.build());
  } finally {
    freeQuietly(table);
  }
}

export interface DecodeOptions {
  rowGroups?: number[];
  columns?: string[];
}

/** Parquet bytes -> Arrow record batches. Throws INPUT_INVALID on bytes that aren't a readable Parquet file. */
export function decodeParquet(bytes: Uint8Array, opts: DecodeOptions = {}): RecordBatch[] {
  let table: wasm.Table;
  try {
    table = wasm.readParquet(bytes, { rowGroups: opts.rowGroups, columns: opts.columns, batchSize: 64 * 1024 });
  } catch (err) {
    throw new TickLakeError('INPUT_INVALID', `not a readable Parquet file: ${String(err)}`, { cause: err });
  }
  try {
    return tableFromIPC(table.intoIPCStream()).batches;
  } finally {
    freeQuietly(table);
  }
}

/**
 * Like decodeParquet, reading only the ranges it needs from `source` (footer, then the chosen row groups' chunks of
 * the chosen columns): see lake/ranged-object.ts. Chosen columns the file lacks (it predates them) are left out,
 * for the caller to read as null.
 */
export async function decodeParquetRanges(source: RangedObject, opts: DecodeOptions = {}): Promise<RecordBatch[]> {
  let file: wasm.ParquetFile;
  try {
    file = await wasm.ParquetFile.fromFile(source as unknown as Blob);
  } catch (err) {
    if (err instanceof TickLakeError) throw err;
    throw new TickLakeError('INPUT_INVALID', `${source.key}: not a readable Parquet file: ${String(err)}`, {
      cause: err,
    });
  }
  try {
    const columns = opts.columns && columnsInFile(file, opts.columns);
    const table = await file.read({ rowGroups: opts.rowGroups, columns, batchSize: 64 * 1024 });
    try {
      return tableFromIPC(table.intoIPCStream()).batches;
    } finally {
      freeQuietly(table);
    }
  } finally {
    freeQuietly(file);
  }
}

function columnsInFile(file: wasm.ParquetFile, wanted: readonly string[]): string[] {
  const schema = file.schema();
  try {
    return wanted.filter((name) => {
      try {
        return schema.indexOf(name) >= 0;
      } catch {
        // parquet-wasm throws for a name the schema lacks rather than returning -1.
        return false;
      }
    });
  } finally {
    freeQuietly(schema);
  }
}

export interface ParquetFileInfo {
  rows: number;
  rowGroups: { rows: number; columns: { path: string; compression: string; encodings: string[] }[] }[];
  keyValue: Record<string, string>;
}

/** The footer facts tests and tools look at: row groups, per-column compression and encodings, metadata. */
export async function inspectParquet(bytes: Uint8Array): Promise<ParquetFileInfo> {
  const file = await wasm.ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  try {
    const md = file.metadata();
    const keyValue: Record<string, string> = {};
    for (const [k, v] of md.fileMetadata().keyValueMetadata()) keyValue[String(k)] = String(v);
    return {
      rows: md.fileMetadata().numRows(),
      keyValue,
      rowGroups: md.rowGroups().map((rg) => ({
        rows: rg.numRows(),
        columns: rg.columns().map((c) => ({
          path: c.columnPath().join('.'),
          compression: wasm.Compression[c.compression()] ?? String(c.compression()),
          encodings: c.encodings().map((e) => wasm.Encoding[e] ?? String(e)),
        })),
      })),
    };
  } finally {
    freeQuietly(file);
  }
}

export interface RangeStats {
  rows: number;
  minTs: number;
  maxTs: number;
  minSymbol: string;
  maxSymbol: string;
}

/** Min/max of time and symbol over rows [from, to): what the manifest keeps per file and per row group. */
export function rangeStats(
  cols: Columns,
  timeColumn: string,
  symbolColumn: string,
  from: number,
  to: number,
): RangeStats {
  const ts = cols[timeColumn] as CellValue[];
  const sym = cols[symbolColumn] as CellValue[];
  let minTs = Infinity;
  let maxTs = -Infinity;
  let minSymbol: string | null = null;
  let maxSymbol: string | null = null;
  for (let i = from; i < to; i++) {
    const t = ts[i] as number;
    if (t < minTs) minTs = t;
    if (t > maxTs) maxTs = t;
    const s = sym[i] as string;
    if (minSymbol === null || s < minSymbol) minSymbol = s;
    if (maxSymbol === null || s > maxSymbol) maxSymbol = s;
  }
  return { rows: to - from, minTs, maxTs, minSymbol: minSymbol ?? '', maxSymbol: maxSymbol ?? '' };
}

function freeQuietly(obj: { free(): void }): void {
  try {
    obj.free();
  } catch {
    // Already consumed (intoIPCStream takes ownership): nothing left to free.
  }
}

/** Parquet bytes -> one plain object per row (column name -> value; times as µs numbers). */
export function decodeRows(
  specs: readonly ColumnSpec[],
  bytes: Uint8Array,
  opts: DecodeOptions = {},
): Record<string, CellValue>[] {
  const rows: Record<string, CellValue>[] = [];
  for (const batch of decodeParquet(bytes, opts)) {
    const cols = fromRecordBatch(specs, batch);
    for (let i = 0; i < batch.numRows; i++) {
      const row: Record<string, CellValue> = {};
      for (const s of specs) row[s.name] = cols[s.name]![i] ?? null;
      rows.push(row);
    }
  }
  return rows;
}
