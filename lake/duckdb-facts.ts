import type { DuckDBConnection } from '@duckdb/node-api';
import { stat } from 'node:fs/promises';
import { TickLakeError } from '../core/errors.ts';
import { sqlIdent as ident, sqlString as str, type DuckDb } from './duckdb.ts';
import type { RangeStats } from './parquet.ts';
import type { TableDef } from './tables.ts';
import { MAX_SYMBOLS_LISTED } from './writer.ts';

/**
 * Reading back, from a Parquet file DuckDB wrote, the facts the manifest records about it (rows, bytes, time and
 * symbol ranges per file and per row group), the same facts lake/writer.ts computes for the files it encodes.
 */
/** What the manifest records about a data file, as lake/writer.ts computes it for the rows it encodes. */
export interface FileFacts {
  rows: number;
  bytes: number;
  stats: RangeStats;
  /** The distinct symbols, sorted, when there are at most MAX_SYMBOLS_LISTED; else null. */
  symbols: string[] | null;
  rowGroups: RangeStats[];
}

/** Row group of `file_row_number`, from the row groups' sizes in the footer. */
function rowGroupExpr(sizes: readonly number[]): string {
  // Without file_row_number the scan runs in parallel: a one-row-group file needs no row numbers.
  if (sizes.length <= 1) return '0';
  const bounds: number[] = [];
  sizes.slice(0, -1).reduce((at, s) => (bounds.push(at + s), at + s), 0);
  // A few comparisons are cheaper than a division; many groups of one size take the division.
  if (bounds.length > 8 && sizes.slice(0, -1).every((s) => s === sizes[0])) return `(file_row_number // ${sizes[0]})`;
  return `(${bounds.map((b) => `(file_row_number >= ${b})::INTEGER`).join(' + ')})`;
}

const emptyStats = (): RangeStats => ({ rows: 0, minTs: Infinity, maxTs: -Infinity, minSymbol: '', maxSymbol: '' });

function widen(s: RangeStats, rows: number, minTs: number, maxTs: number, symbol: string): void {
  if (s.rows === 0 || symbol < s.minSymbol) s.minSymbol = symbol;
  if (s.rows === 0 || symbol > s.maxSymbol) s.maxSymbol = symbol;
  s.rows += rows;
  if (minTs < s.minTs) s.minTs = minTs;
  if (maxTs > s.maxTs) s.maxTs = maxTs;
}

const listed = (symbols: Iterable<string>): string[] | null => {
  const distinct = [...new Set(symbols)];
  return distinct.length <= MAX_SYMBOLS_LISTED ? distinct.sort() : null;
};

/**
 * The manifest facts of a written Parquet file, read back from it, equal to what lake/writer.ts records for
 * the same rows. Usually from the footer's row-group statistics (exact: DuckDB writes true min/max, or none
 * for huge strings) plus the distinct symbols; the footer's string order is by UTF-8 bytes, the writer's by
 * UTF-16 code units, which differ only around characters outside the BMP. A file with such a symbol, or
 * without statistics, is scanned instead: per (row group, symbol) counts and time ranges, compared in JS.
 */
export async function parquetFileFacts(
  duckdb: DuckDb,
  con: DuckDBConnection,
  def: TableDef,
  file: string,
): Promise<FileFacts> {
  const f = str(file);
  const [ts, sym] = [str(def.timeColumn), str(def.symbolColumn)];
  const asUs = (v: string) => `CASE WHEN path_in_schema = ${ts} THEN epoch_us(TRY_CAST(${v} AS TIMESTAMPTZ)) END`;
  // The footer and the distinct symbols at once, the second on a connection of its own.
  const [footer, symbols] = await Promise.all([
    con
      .runAndReadAll(
        `SELECT row_group_id, row_group_num_rows, path_in_schema, ${asUs('stats_min_value')}, ${asUs('stats_max_value')},
           stats_min_value, stats_max_value
         FROM parquet_metadata(${f}) WHERE path_in_schema IN (${ts}, ${sym})`,
      )
      .then((r) => r.getRows()),
    duckdb
      .run((c) =>
        c.runAndReadAll(
          `SELECT DISTINCT ${ident(def.symbolColumn)} FROM read_parquet(${f}, hive_partitioning = false)`,
        ),
      )
      .then((r) => r.getRows().map((row) => String(row[0]))),
  ]);
  const groups: (number | string | null)[][] = [];
  for (const [g, n, path, lo, hi, min, max] of footer) {
    const row = (groups[Number(g)] ??= [Number(n), null, null, null, null]);
    if (path === def.timeColumn) [row[1], row[2]] = [lo === null ? null : Number(lo), hi === null ? null : Number(hi)];
    else [row[3], row[4]] = [min === null ? null : String(min), max === null ? null : String(max)];
  }
  const bytes = (await stat(file)).size;
  const sizes = groups.map((g) => Number(g[0]));
  if (groups.some((g) => g.includes(null)) || symbols.some((s) => /[\uD800-\uDFFF]/.test(s))) {
    return { ...(await scanFacts(con, def, f, sizes)), bytes, symbols: listed(symbols) };
  }
  const rowGroups = groups.map(([n, lo, hi, min, max]) => ({
    rows: Number(n),
    minTs: Number(lo),
    maxTs: Number(hi),
    minSymbol: String(min),
    maxSymbol: String(max),
  }));
  const stats: RangeStats = {
    rows: rowGroups.reduce((n, g) => n + g.rows, 0),
    minTs: Math.min(...rowGroups.map((g) => g.minTs)),
    maxTs: Math.max(...rowGroups.map((g) => g.maxTs)),
    minSymbol: rowGroups.map((g) => g.minSymbol).reduce((a, b) => (b < a ? b : a)),
    maxSymbol: rowGroups.map((g) => g.maxSymbol).reduce((a, b) => (b > a ? b : a)),
  };
  return { rows: stats.rows, bytes, stats, symbols: listed(symbols), rowGroups };
}

/** Row-group and file stats from the data: per (row group, symbol) the row count and time range. */
async function scanFacts(
  con: DuckDBConnection,
  def: TableDef,
  f: string,
  sizes: number[],
): Promise<{ rows: number; stats: RangeStats; rowGroups: RangeStats[] }> {
  const sym = ident(def.symbolColumn);
  const ts = ident(def.timeColumn);
  const rows = (
    await con.runAndReadAll(
      `SELECT ${rowGroupExpr(sizes)} AS g, ${sym}, count(*), epoch_us(min(${ts})), epoch_us(max(${ts}))
       FROM read_parquet(${f}, hive_partitioning = false) GROUP BY ALL`,
    )
  ).getRows();
  const groups = sizes.map(emptyStats);
  const stats = emptyStats();
  for (const [g, symbol, n, lo, hi] of rows) {
    widen(groups[Number(g)]!, Number(n), Number(lo), Number(hi), String(symbol));
    widen(stats, Number(n), Number(lo), Number(hi), String(symbol));
  }
  groups.forEach((g, i) => {
    if (g.rows !== sizes[i]) {
      throw new TickLakeError('INTERNAL', `${f}: row group ${i} has ${sizes[i]} rows, stats counted ${g.rows}`);
    }
  });
  return { rows: stats.rows, stats, rowGroups: groups };
}
