import type { DuckDBConnection } from '@duckdb/node-api';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TickLakeError } from '../core/errors.ts';
import type { ColumnDef, TableDef } from './tables.ts';
import type { ColumnKind } from './columns.ts';
import { sqlIdent as ident, sqlString as str, type DuckDb } from './duckdb.ts';
import { sortColumns } from './order.ts';
import { parquetFileFacts, type FileFacts } from './duckdb-facts.ts';

/**
 * The rewrite step of compaction, done by DuckDB: local Parquet files of one partition in; out, files of
 * about a target size holding one row per dedupe key, sorted, in exactly the table's current schema, with
 * the facts the manifest keeps about each file read back from the written file.
 *
 * Same rows in the same order as lake/order.ts (`sortOrder` + `dedupe`, the reference the tests compare
 * against): sorted by symbol, event time, dedupe key, then input position (input file in the given order,
 * row within the file); per key the first row in that order is kept, or with `keepMax` the highest value
 * (nulls lowest), ties going to the first. Strings compare by UTF-8 bytes here and by UTF-16 code units in
 * JS: the same order unless a string has characters outside the BMP (symbols are ASCII by schema).
 *
 * Inputs of an older schema version read their missing columns as NULL (`union_by_name`); an input column
 * the table definition does not know, or of another type, is INPUT_INVALID, so a compactor older than the
 * data never drops columns.
 */
export const DUCKDB_TYPES: Record<ColumnKind, string> = {
  string: 'VARCHAR',
  dict: 'VARCHAR',
  f64: 'DOUBLE',
  i64: 'BIGINT',
  i32: 'INTEGER',
  ts: 'TIMESTAMP WITH TIME ZONE',
  strlist: 'VARCHAR[]',
};

export interface RewriteOptions {
  targetBytes: number;
  /** DuckDB rounds row groups up to a multiple of its 2048-row vectors; the facts record the real sizes. */
  rowGroupRows: number;
  /** Rows and bytes of the inputs: the first guess at bytes per output row. */
  inputRows: number;
  inputBytes: number;
  /** Outputs are written as `<outDir>/part-<nnnn>.parquet`. */
  outDir: string;
  /** Default: `aggregate` when the inputs are small against DuckDB's memory limit, else `window`. */
  dedupe?: DedupeStrategy;
  /** Called as soon as output `n` is final, before its facts are read: the caller may start uploading it. */
  onFile?: (n: number, file: string) => void;
  /** Told the wall time of each step: `write` (dedupe, sort, COPY), `facts` (reading them back). */
  onTiming?: (step: 'write' | 'facts', ms: number) => void;
}

export interface RewrittenFile extends FileFacts {
  /** Local path of the written file. */
  file: string;
}

// read_parquet expands these as glob patterns.
const GLOB = /[*?[]/;
// Input position: file (in list order) then row within the file; the last tie-breaker of the dedupe.
const POS = '((file_index::BIGINT << 32) + file_row_number)';

function sourceOf(inputs: readonly string[]): string {
  if (inputs.length === 0) throw new TickLakeError('INPUT_INVALID', 'rewrite needs at least one input file');
  const globbed = inputs.find((f) => GLOB.test(f));
  if (globbed) throw new TickLakeError('INPUT_INVALID', `input path ${globbed} has characters DuckDB reads as a glob`);
  return `read_parquet([${inputs.map(str).join(', ')}], union_by_name = true, hive_partitioning = false)`;
}

/** Column name -> DuckDB type of what `source` (a `read_parquet(...)` expression) yields. */
export async function inputColumns(con: DuckDBConnection, source: string): Promise<Map<string, string>> {
  const rows = (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJS();
  return new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

function schemaError(def: TableDef, message: string, column: string): TickLakeError {
  return new TickLakeError('SCHEMA_INCOMPATIBLE', `table ${def.name}: ${message}`, {
    details: { table: def.name, column },
  });
}

/**
 * How the row kept per key is found. `aggregate`: arg_min over the sort key, the fastest, but DuckDB cannot
 * spill its states (~150-200 B per input row: 2M rows failed at a 300 MB limit). `window`: row_number() over
 * the key groups, ~10% slower on the whole rewrite, sort-based, spills. `keepMax` tables always use the window.
 */
export type DedupeStrategy = 'aggregate' | 'window';

/** The aggregate is used while input rows times this fits in the memory limit (twice the measured need). */
const AGGREGATE_BYTES_PER_ROW = 400;

export function dedupeStrategyFor(inputRows: number, memoryLimitBytes: number): DedupeStrategy {
  return inputRows * AGGREGATE_BYTES_PER_ROW <= memoryLimitBytes ? 'aggregate' : 'window';
}

/**
 * Throws SCHEMA_INCOMPATIBLE (details.column) unless every column in `present` (name -> DuckDB type, as
 * inputColumns gives) is a column of the table with its type. Compaction and the warehouse loader check inputs with it.
 */
export function checkInputColumns(def: TableDef, present: ReadonlyMap<string, string>): void {
  const byName = new Map<string, ColumnDef<unknown>>(def.columns.map((c) => [c.name, c]));
  for (const [name, type] of present) {
    const c = byName.get(name);
    if (!c) {
      throw schemaError(
        def,
        `input files have a column ${name} that schema version ${def.version} does not know: compact with the newer table definition`,
        name,
      );
    }
    if (type !== DUCKDB_TYPES[c.kind]) {
      throw schemaError(def, `column ${name} is ${type} in the input files, expected ${DUCKDB_TYPES[c.kind]}`, name);
    }
  }
}

/** The rows of `source` deduplicated and sorted, as a SELECT with exactly the table's columns and types. */
export function rewriteQuery(
  def: TableDef,
  source: string,
  present: ReadonlyMap<string, string>,
  strategy: DedupeStrategy = 'aggregate',
): string {
  checkInputColumns(def, present);
  const byName = new Map<string, ColumnDef<unknown>>(def.columns.map((c) => [c.name, c]));
  const sortCols = sortColumns(def);
  const keys = [...def.dedupeKey];
  for (const k of new Set([...sortCols, ...keys])) {
    if (!present.has(k)) throw schemaError(def, `key column ${k} is in none of the input files`, k);
    if (byName.get(k)!.kind === 'strlist') throw schemaError(def, `cannot sort or dedupe by list column ${k}`, k);
  }
  const expr = (name: string) => {
    const c = byName.get(name)!;
    return present.has(name)
      ? `CAST(${ident(name)} AS ${DUCKDB_TYPES[c.kind]})`
      : `CAST(NULL AS ${DUCKDB_TYPES[c.kind]})`;
  };
  const nullable = (name: string) => byName.get(name)!.nullable || !present.has(name);
  // The sort columns include the dedupe key, so once deduplicated they order the rows totally.
  const orderBy = sortCols.map((c) => `${expr(c)} ASC NULLS FIRST`).join(', ');
  const partitionBy = keys.map(expr).join(', ');
  // Within one key group the key columns are equal: only the other sort columns and the position decide.
  const within = sortCols.filter((c) => !keys.includes(c));
  const withinOrder = [...within.map((c) => `${expr(c)} ASC NULLS FIRST`), POS].join(', ');
  // NULL struct fields compare last, so for arg_min a nullable column goes in behind an is-not-null flag
  // to sort first, as in order.ts.
  const withinKey = [...within.flatMap((c) => (nullable(c) ? [`${expr(c)} IS NOT NULL`, expr(c)] : [expr(c)])), POS];
  const keep =
    def.keepMax || strategy === 'window'
      ? `SELECT ${POS} AS p FROM ${source} QUALIFY row_number() OVER (PARTITION BY ${partitionBy}
           ORDER BY ${def.keepMax ? `${expr(def.keepMax)} DESC NULLS LAST, ` : ''}${withinOrder}) = 1`
      : `SELECT arg_min(${POS}, row(${withinKey.join(', ')})) AS p FROM ${source} GROUP BY ${partitionBy}`;
  const columns = def.columns.map((c) => `${expr(c.name)} AS ${ident(c.name)}`).join(', ');
  return `WITH keep AS (${keep})
    SELECT ${columns} FROM ${source} SEMI JOIN keep ON ${POS} = keep.p ORDER BY ${orderBy}`;
}

function copyOptions(def: TableDef, rowGroupRows: number): string {
  if (!Number.isInteger(rowGroupRows) || rowGroupRows < 1) {
    throw new TickLakeError('INPUT_INVALID', `rowGroupRows must be a positive integer, got ${rowGroupRows}`);
  }
  const kv = `{'ticklake.table': ${str(def.name)}, 'ticklake.schema_version': ${str(String(def.version))}}`;
  // No bloom filters: our writer has none, nothing here reads them, and they cost time and ~6% of the file.
  return `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroupRows}, WRITE_BLOOM_FILTER false, KV_METADATA ${kv})`;
}

async function copyTo(con: DuckDBConnection, select: string, file: string, options: string): Promise<number> {
  await con.run(`COPY (${select}) TO ${str(file)} ${options}`);
  return (await stat(file)).size;
}

async function scalar(con: DuckDBConnection, sql: string): Promise<number> {
  return Number((await con.runAndReadAll(sql)).getRows()[0]![0]);
}

/**
 * Deduplicates and sorts the rows of `inputs` (local Parquet files, in input order) into files of at most
 * about `targetBytes`. Rows per file start from the inputs' bytes per row, which overestimates DuckDB's
 * output, so most partitions are one COPY; a file that still comes out over the target is rewritten with
 * proportionally fewer rows, and that guess is kept for the files after it (as before: same inputs, same
 * decisions). Several files go through a temp table of the sorted rows, cut by row ranges.
 */
export async function rewritePartition(
  duckdb: DuckDb,
  def: TableDef,
  inputs: readonly string[],
  opts: RewriteOptions,
): Promise<RewrittenFile[]> {
  const options = copyOptions(def, opts.rowGroupRows);
  const source = sourceOf(inputs);
  const target = opts.targetBytes;
  const outFile = (n: number) => join(opts.outDir, `part-${String(n).padStart(4, '0')}.parquet`);
  const timed = async <T>(step: 'write' | 'facts', fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      opts.onTiming?.(step, performance.now() - t0);
    }
  };
  return duckdb.run(async (con) => {
    const write = (select: string, file: string) => timed('write', () => copyTo(con, select, file, options));
    const factsOf = (file: string) => timed('facts', () => parquetFileFacts(duckdb, con, def, file));
    const strategy = opts.dedupe ?? dedupeStrategyFor(opts.inputRows, duckdb.memoryLimitBytes);
    const query = await timed('write', async () =>
      rewriteQuery(def, source, await inputColumns(con, source), strategy),
    );
    const bytesPerRow = Math.max(1, opts.inputBytes) / Math.max(1, opts.inputRows);
    let rowsPerFile = Math.max(1, Math.floor(target / bytesPerRow));
    const done = async (n: number, file: string): Promise<RewrittenFile> => {
      opts.onFile?.(n, file);
      return { file, ...(await factsOf(file)) };
    };
    if (rowsPerFile >= opts.inputRows) {
      const file = outFile(0);
      const bytes = await write(query, file);
      if (bytes <= target) return [await done(0, file)];
      const rows = await scalar(con, `SELECT num_rows FROM parquet_file_metadata(${str(file)})`);
      if (rows <= 1) return [await done(0, file)];
      rowsPerFile = Math.max(1, Math.floor((rows * target * 0.97) / bytes));
      await rm(file, { force: true });
    }
    // preserve_insertion_order (DuckDB's default) keeps the ORDER BY order as the temp table's rowid order.
    await timed('write', () => con.run(`CREATE TEMP TABLE compaction_rows AS ${query}`));
    const total = await scalar(con, 'SELECT count(*) FROM compaction_rows');
    const out: RewrittenFile[] = [];
    // The first guess comes from the inputs, which compress worse than one sorted output: the first file written
    // corrects it once upwards (rewritten at the corrected size), any file over the target corrects it downwards.
    let calibrated = false;
    for (let from = 0, n = 0; from < total;) {
      const to = Math.min(total, from + rowsPerFile);
      const file = outFile(n);
      const select = `SELECT * FROM compaction_rows WHERE rowid >= ${from} AND rowid < ${to} ORDER BY rowid`;
      const bytes = await write(select, file);
      if (bytes > target && to - from > 1) {
        rowsPerFile = Math.max(1, Math.floor(((to - from) * target * 0.97) / bytes));
        calibrated = true;
        continue;
      }
      if (!calibrated && to < total && bytes < target * 0.8) {
        calibrated = true;
        rowsPerFile = Math.max(rowsPerFile, Math.floor(((to - from) * target * 0.97) / Math.max(1, bytes)));
        continue;
      }
      calibrated = true;
      out.push(await done(n, file));
      from = to;
      n++;
    }
    await con.run('DROP TABLE compaction_rows');
    return out;
  });
}
