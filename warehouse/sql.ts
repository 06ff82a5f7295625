import type { TableDef } from '../lake/tables.ts';
import { LEDGER_TABLE, parseDay } from './tables.ts';

/**
 * The loader's SQL, built from the lake's table definitions. Days are validated (parseDay) before they are inlined;
 * identifiers are backquoted. The same statements run on the emulator and on BigQuery (checked against the emulator
 * v0.8.1: DELETE, INSERT ... SELECT with a window, multi-statement transactions, MERGE ... ON FALSE).
 */
export interface DatasetRef {
  projectId: string;
  dataset: string;
}

export const ident = (s: string) => `\`${s.replaceAll('`', '')}\``;
export const tableRef = (ds: DatasetRef, table: string) => ident(`${ds.projectId}.${ds.dataset}.${table}`);
export const sqlString = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** The day as a half-open event-time range: a filter BigQuery prunes day partitions with. */
export function dayFilter(column: string, day: string): string {
  const next = new Date(Date.parse(`${parseDay(day)}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return `${ident(column)} >= TIMESTAMP '${day} 00:00:00+00' AND ${ident(column)} < TIMESTAMP '${next} 00:00:00+00'`;
}

/**
 * The rows of `source` for one day, one per dedupe key: the lake's key (`def.dedupeKey`) and, where the table has
 * one, its `keepMax` column (bars: the highest revision), exactly as lake/order.ts and compaction choose. Without
 * `keepMax` the duplicates are copies of one event, so which copy is kept does not matter; the order below still
 * makes the choice deterministic (the lake's sort columns).
 */
export function dedupedDaySelect(def: TableDef, source: string, day: string): string {
  const cols = def.columns.map((c) => ident(c.name)).join(', ');
  const order = [
    ...(def.keepMax ? [`${ident(def.keepMax)} DESC`] : []),
    ...[def.symbolColumn, def.timeColumn].map((c) => `${ident(c)} ASC`),
  ].join(', ');
  const key = def.dedupeKey.map(ident).join(', ');
  return (
    `SELECT ${cols} FROM (SELECT ${cols}, ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY ${order}) AS _ticklake_rn ` +
    `FROM ${source} WHERE ${dayFilter(def.timeColumn, day)}) WHERE _ticklake_rn = 1`
  );
}

/**
 * Replaces one day of `table` with the deduplicated rows of `staging`, in one transaction: BigQuery commits the
 * delete and the insert together, so readers see the old day or the new one, never neither. Running it again gives
 * the same rows (a retry after a crash is harmless). Not a load with WRITE_TRUNCATE into `table$YYYYMMDD`: the
 * emulator ignores the decorator and would empty the whole table.
 */
export function replaceDayScript(ds: DatasetRef, def: TableDef, table: string, staging: string, day: string): string {
  const cols = def.columns.map((c) => ident(c.name)).join(', ');
  return [
    'BEGIN TRANSACTION;',
    `DELETE FROM ${tableRef(ds, table)} WHERE ${dayFilter(def.timeColumn, day)};`,
    `INSERT INTO ${tableRef(ds, table)} (${cols}) ${dedupedDaySelect(def, tableRef(ds, staging), day)};`,
    'COMMIT TRANSACTION;',
  ].join('\n');
}

export interface LedgerEntry {
  table: string;
  day: string;
  lakeTable: string;
  lakeSeq: number;
  dayManifest: string;
  fingerprint: string;
  outcome: 'loaded' | 'unchanged';
  files: number;
  lakeRows: number;
  rows: number;
  /** ms since epoch. */
  recordedAt: number;
}

export function ledgerInsertSql(ds: DatasetRef, e: LedgerEntry): string {
  const values = [
    sqlString(e.table),
    sqlString(parseDay(e.day)),
    sqlString(e.lakeTable),
    String(Math.trunc(e.lakeSeq)),
    sqlString(e.dayManifest),
    sqlString(e.fingerprint),
    sqlString(e.outcome),
    String(Math.trunc(e.files)),
    String(Math.trunc(e.lakeRows)),
    String(Math.trunc(e.rows)),
    `TIMESTAMP_MILLIS(${Math.trunc(e.recordedAt)})`,
  ];
  return (
    `INSERT INTO ${tableRef(ds, LEDGER_TABLE)} (table_name, day, lake_table, lake_seq, day_manifest, fingerprint, ` +
    `outcome, files, lake_rows, loaded_rows, recorded_at) VALUES (${values.join(', ')})`
  );
}

/** The latest ledger entry of each day of `table` (of the given days only, when given). */
export function ledgerLatestSql(ds: DatasetRef, table: string, days?: readonly string[]): string {
  const only = days ? ` AND day IN (${days.map((d) => sqlString(parseDay(d))).join(', ') || "''"})` : '';
  return (
    `SELECT table_name, day, lake_table, lake_seq, day_manifest, fingerprint, outcome, files, lake_rows, loaded_rows, ` +
    `UNIX_MILLIS(recorded_at) AS recorded_at FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY day ` +
    `ORDER BY recorded_at DESC, lake_seq DESC) AS _ticklake_rn FROM ${tableRef(ds, LEDGER_TABLE)} ` +
    `WHERE table_name = ${sqlString(table)}${only}) WHERE _ticklake_rn = 1 ORDER BY day`
  );
}

/** Ledger rows as the query returns them (INT64 may come back as strings) -> LedgerEntry. */
export function ledgerEntryOf(row: Record<string, unknown>): LedgerEntry {
  return {
    table: String(row.table_name),
    day: String(row.day),
    lakeTable: String(row.lake_table),
    lakeSeq: Number(row.lake_seq),
    dayManifest: String(row.day_manifest),
    fingerprint: String(row.fingerprint),
    outcome: row.outcome === 'unchanged' ? 'unchanged' : 'loaded',
    files: Number(row.files),
    lakeRows: Number(row.lake_rows),
    rows: Number(row.loaded_rows),
    recordedAt: Number(row.recorded_at),
  };
}

/**
 * The numeric column a day's checksum sums: the table's first FLOAT64 column (ticks: price, bars: open), else its
 * first INT64 one (reconciliation: batch_rows).
 */
export function checksumColumn(def: TableDef): string {
  const c = def.columns.find((x) => x.kind === 'f64') ?? def.columns.find((x) => x.kind === 'i64');
  if (!c) throw new Error(`table ${def.name} has no numeric column to checksum`);
  return c.name;
}

/** A dedupe key as one value, so COUNT(DISTINCT ...) counts keys of any width. */
export function keyExpr(def: TableDef): string {
  if (def.dedupeKey.length === 1) return ident(def.dedupeKey[0]!);
  return `CONCAT(${def.dedupeKey.map((k) => `CAST(${ident(k)} AS STRING)`).join(", '|', ")})`;
}

/** Rows, distinct keys and the sum of checksumColumn for one day: what tests and `warehouse status` compare. */
export function dayChecksumSql(ds: DatasetRef, def: TableDef, table: string, day: string): string {
  return (
    `SELECT COUNT(*) AS row_count, COUNT(DISTINCT ${keyExpr(def)}) AS key_count, SUM(${ident(checksumColumn(def))}) AS total ` +
    `FROM ${tableRef(ds, table)} WHERE ${dayFilter(def.timeColumn, day)}`
  );
}
