import { z } from 'zod';
import { TickLakeError } from '../core/errors.ts';
import { ALERT_SCHEMA_VERSION, type Alert } from '../core/schemas/alert.ts';
import { BAR_SCHEMA_VERSION, type Bar } from '../core/schemas/bar.ts';
import { ENRICHED_SCHEMA_VERSION, type EnrichedTick } from '../core/schemas/enriched.ts';
import type { ReconciliationRow } from '../core/schemas/reconciliation.ts';
import type { StoredAnomalyRow } from '../core/schemas/model.ts';
import { TICK_SCHEMA_VERSION, type Tick } from '../core/schemas/tick.ts';
import type { CellValue, ColumnKind, ColumnSpec, Columns } from './columns.ts';

/**
 * The lake's tables, one declaration each: columns (each naming the core type's field it stores, so rows -> columns
 * and columns -> rows both derive from it), the event-time column that picks the dt=/hour= partition, the dedupe
 * key compaction keeps one row per, and a schema version.
 *
 * Column names are snake_case so the Parquet files load into BigQuery and SQL engines as they are.
 * Evolution: a new version may only append nullable columns (`since` = the version that added them); older
 * files then read those columns as null. Anything else (drop, rename, retype, reorder, tighten nullability)
 * is rejected by checkEvolution.
 */

/** The fields of a row type, of every member of a union (a trade's `price` and a quote's `bid`); any for unknown. */
export type FieldOf<Row> = unknown extends Row ? string : Row extends unknown ? Extract<keyof Row, string> : never;

// _Row only types the declarations (col() below checks field names against it); the stored def is plain strings,
// so a TableDef<Tick> is usable where a TableDef<unknown> is expected.
export interface ColumnDef<_Row = unknown> extends ColumnSpec {
  /** Table version that added the column; columns added after version 1 must be nullable. */
  since: number;
  /** The row's field this column stores. */
  field: string;
  /**
   * A field only one side of a discriminated union has (a trade's `price`): stored for rows whose `when.field` is
   * `when.is`, null for the others, and read back only onto rows of that side.
   */
  when?: { field: string; is: string };
  /** The field is optional in the core type (zod `.optional()`): a null cell reads back as no field, not null. */
  optional?: boolean;
}

export interface TableDef<Row = unknown> {
  name: string;
  version: number;
  columns: readonly ColumnDef<Row>[];
  /** Fields every row carries with a fixed value and the lake does not store (message schema versions). */
  fixed?: Readonly<Record<string, string | number>>;
  /** TIMESTAMP column partitioned on (UTC dt/hour) and sorted by after the symbol. */
  timeColumn: string;
  symbolColumn: string;
  /** Rows with equal values in these columns are one row; compaction keeps one. */
  dedupeKey: readonly string[];
  /** Among duplicates keep the row with the highest value here (bars: revision); otherwise the first seen. */
  keepMax?: string;
}

export const storedSchemaSchema = z.object({
  version: z.number().int().positive(),
  columns: z.array(
    z.object({
      name: z.string().min(1),
      kind: z.enum(['string', 'dict', 'f64', 'i64', 'i32', 'ts', 'strlist']),
      nullable: z.boolean(),
    }),
  ),
});
export type StoredSchema = z.infer<typeof storedSchemaSchema>;

interface ColOpts<Row> {
  nullable?: boolean;
  since?: number;
  optional?: boolean;
  when?: { field: FieldOf<Row>; is: string };
}

const col = <Row>(name: string, kind: ColumnKind, field: FieldOf<Row>, opts: ColOpts<Row> = {}): ColumnDef<Row> => ({
  name,
  kind,
  nullable: opts.nullable ?? (opts.optional === true || opts.when !== undefined),
  since: opts.since ?? 1,
  field,
  ...(opts.when ? { when: opts.when } : {}),
  ...(opts.optional ? { optional: true } : {}),
});

function tickColumns(): ColumnDef<Tick>[] {
  type R = Tick;
  const trade: ColOpts<R> = { when: { field: 'type', is: 'trade' } };
  const quote: ColOpts<R> = { when: { field: 'type', is: 'quote' } };
  return [
    col<R>('id', 'string', 'id'),
    col<R>('source', 'dict', 'source'),
    col<R>('symbol', 'dict', 'symbol'),
    col<R>('seq', 'i64', 'seq'),
    col<R>('type', 'dict', 'type'),
    col<R>('ts', 'ts', 'ts'),
    col<R>('recv_ts', 'ts', 'recvTs'),
    col<R>('exchange', 'dict', 'exchange', { optional: true }),
    col<R>('conditions', 'strlist', 'conditions', { optional: true }),
    col<R>('price', 'f64', 'price', trade),
    col<R>('size', 'f64', 'size', trade),
    col<R>('bid', 'f64', 'bid', quote),
    col<R>('bid_size', 'f64', 'bidSize', quote),
    col<R>('ask', 'f64', 'ask', quote),
    col<R>('ask_size', 'f64', 'askSize', quote),
  ];
}

/** Trades and quotes in one table: the side-specific columns are null on the other side. */
export const rawTable: TableDef<Tick> = {
  name: 'raw',
  version: 1,
  columns: tickColumns(),
  fixed: { v: TICK_SCHEMA_VERSION },
  timeColumn: 'ts',
  symbolColumn: 'symbol',
  dedupeKey: ['id'],
};

const nullable = { nullable: true };

export const enrichedTable: TableDef<EnrichedTick> = {
  name: 'enriched',
  version: 1,
  columns: [
    ...tickColumns(),
    col<EnrichedTick>('name', 'string', 'name', nullable),
    col<EnrichedTick>('sector', 'dict', 'sector', nullable),
    col<EnrichedTick>('currency', 'dict', 'currency', nullable),
    col<EnrichedTick>('listing_exchange', 'dict', 'listingExchange', nullable),
    col<EnrichedTick>('mid', 'f64', 'mid', nullable),
    col<EnrichedTick>('spread_bps', 'f64', 'spreadBps', nullable),
    col<EnrichedTick>('log_return', 'f64', 'logReturn', nullable),
    col<EnrichedTick>('session_vwap', 'f64', 'sessionVwap', nullable),
    col<EnrichedTick>('ewma_vol', 'f64', 'ewmaVol', nullable),
    col<EnrichedTick>('processed_ts', 'ts', 'processedTs'),
  ],
  fixed: { v: TICK_SCHEMA_VERSION, ev: ENRICHED_SCHEMA_VERSION },
  timeColumn: 'ts',
  symbolColumn: 'symbol',
  dedupeKey: ['id'],
};

/** Bars are re-emitted with a higher revision on late trades: compaction keeps the highest revision. */
export const barsTable: TableDef<Bar> = {
  name: 'bars',
  version: 1,
  columns: [
    col<Bar>('symbol', 'dict', 'symbol'),
    col<Bar>('window_start', 'ts', 'windowStart'),
    col<Bar>('window_end', 'ts', 'windowEnd'),
    col<Bar>('open', 'f64', 'open'),
    col<Bar>('high', 'f64', 'high'),
    col<Bar>('low', 'f64', 'low'),
    col<Bar>('close', 'f64', 'close'),
    col<Bar>('volume', 'f64', 'volume'),
    col<Bar>('vwap', 'f64', 'vwap'),
    col<Bar>('trades', 'i64', 'trades'),
    col<Bar>('first_ts', 'ts', 'firstTs'),
    col<Bar>('last_ts', 'ts', 'lastTs'),
    col<Bar>('revision', 'i32', 'revision'),
  ],
  fixed: { v: BAR_SCHEMA_VERSION },
  timeColumn: 'window_start',
  symbolColumn: 'symbol',
  dedupeKey: ['symbol', 'window_start'],
  keepMax: 'revision',
};

export const alertsTable: TableDef<Alert> = {
  name: 'alerts',
  version: 2,
  columns: [
    col<Alert>('id', 'string', 'id'),
    col<Alert>('rule', 'dict', 'rule'),
    col<Alert>('symbol', 'dict', 'symbol'),
    col<Alert>('severity', 'dict', 'severity'),
    col<Alert>('ts', 'ts', 'ts'),
    col<Alert>('window_start', 'ts', 'windowStart'),
    col<Alert>('value', 'f64', 'value'),
    col<Alert>('threshold', 'f64', 'threshold'),
    col<Alert>('message', 'string', 'message'),
    col<Alert>('emitted_ts', 'ts', 'emittedTs'),
    col<Alert>('source', 'dict', 'source', { optional: true, since: 2 }),
    col<Alert>('model_version', 'dict', 'modelVersion', { optional: true, since: 2 }),
  ],
  fixed: { v: ALERT_SCHEMA_VERSION },
  timeColumn: 'ts',
  symbolColumn: 'symbol',
  dedupeKey: ['id'],
};

/**
 * What a reconciliation run found per stream table, partition and window range (core/reconcile/). Written by the
 * batch layer, not a sink. A re-run of the same range adds a row with the same key and a later run_ts, the one
 * compaction and the warehouse keep.
 */
export const reconciliationTable: TableDef<ReconciliationRow> = {
  name: 'reconciliation',
  version: 1,
  columns: [
    col<ReconciliationRow>('table_name', 'dict', 'table'),
    col<ReconciliationRow>('lake_partition', 'string', 'partition'),
    col<ReconciliationRow>('window_start', 'ts', 'windowStart'),
    col<ReconciliationRow>('window_end', 'ts', 'windowEnd'),
    col<ReconciliationRow>('run_id', 'string', 'runId'),
    col<ReconciliationRow>('run_ts', 'ts', 'runTs'),
    col<ReconciliationRow>('batch_rows', 'i64', 'batchRows'),
    col<ReconciliationRow>('stream_rows', 'i64', 'streamRows'),
    col<ReconciliationRow>('matched', 'i64', 'matched'),
    col<ReconciliationRow>('late', 'i64', 'late'),
    col<ReconciliationRow>('missing_partition', 'i64', 'missingPartition'),
    col<ReconciliationRow>('disagreement', 'i64', 'disagreement'),
    col<ReconciliationRow>('late_ticks', 'i64', 'lateTicks'),
    col<ReconciliationRow>('examples', 'strlist', 'examples'),
  ],
  timeColumn: 'window_start',
  // The stream table reconciled stands in for a symbol: files are sorted and pruned by it.
  symbolColumn: 'table_name',
  dedupeKey: ['table_name', 'lake_partition', 'window_start', 'window_end'],
  keepMax: 'run_ts',
};

/**
 * The anomaly model's score of every closed bar (core/models/, written by the batch scoring workflow, not the sink):
 * one row per (symbol, window_start), a day's rows replaced as a whole by each scoring run.
 */
export const anomaliesTable: TableDef<StoredAnomalyRow> = {
  name: 'anomalies',
  version: 1,
  columns: [
    col<StoredAnomalyRow>('symbol', 'dict', 'symbol'),
    col<StoredAnomalyRow>('window_start', 'ts', 'windowStart'),
    col<StoredAnomalyRow>('score', 'f64', 'score'),
    col<StoredAnomalyRow>('price_z', 'f64', 'priceZ'),
    col<StoredAnomalyRow>('volume_z', 'f64', 'volumeZ'),
    col<StoredAnomalyRow>('kind', 'dict', 'kind'),
    col<StoredAnomalyRow>('model_version', 'dict', 'modelVersion'),
    col<StoredAnomalyRow>('flagged', 'i32', 'flagged'),
    col<StoredAnomalyRow>('revision', 'i32', 'revision'),
  ],
  timeColumn: 'window_start',
  symbolColumn: 'symbol',
  dedupeKey: ['symbol', 'window_start'],
};

/** The one registry of lake tables: the sink's (SINK_TABLE_NAMES) and the batch layer's own. */
export const TABLES = {
  raw: rawTable,
  enriched: enrichedTable,
  bars: barsTable,
  alerts: alertsTable,
  reconciliation: reconciliationTable,
  anomalies: anomaliesTable,
} as const;
export type TableName = keyof typeof TABLES;
/** The tables the sink lands from topics; the rest are written by batch workflows. */
export const SINK_TABLE_NAMES = ['raw', 'enriched', 'bars', 'alerts'] as const satisfies readonly TableName[];
export type SinkTableName = (typeof SINK_TABLE_NAMES)[number];

export function storedSchema(def: TableDef): StoredSchema {
  return { version: def.version, columns: def.columns.map(({ name, kind, nullable }) => ({ name, kind, nullable })) };
}

function schemaError(table: string, message: string): TickLakeError {
  return new TickLakeError('SCHEMA_INCOMPATIBLE', `table ${table}: incompatible schema change: ${message}`, {
    details: { table },
  });
}

/**
 * Throws unless `next` only appends nullable columns to `prev` (or is identical). A writer on an older
 * version than the lake's (a rolling deploy) is fine as long as its columns are a prefix of the lake's.
 */
export function checkEvolution(table: string, prev: StoredSchema, next: StoredSchema): void {
  const [older, newer] = next.version >= prev.version ? [prev, next] : [next, prev];
  if (older.version === newer.version && JSON.stringify(older) !== JSON.stringify(newer)) {
    throw schemaError(table, `version ${newer.version} has two different column lists; bump the version`);
  }
  older.columns.forEach((c, i) => {
    const n = newer.columns[i];
    if (!n) throw schemaError(table, `column ${c.name} was dropped in version ${newer.version}`);
    if (n.name !== c.name) throw schemaError(table, `column ${i} is ${n.name} in v${newer.version}, ${c.name} before`);
    if (n.kind !== c.kind) throw schemaError(table, `column ${c.name} changed type ${c.kind} -> ${n.kind}`);
    if (n.nullable !== c.nullable) throw schemaError(table, `column ${c.name} changed nullability`);
  });
  for (const added of newer.columns.slice(older.columns.length)) {
    if (!added.nullable) throw schemaError(table, `added column ${added.name} must be nullable`);
  }
}

/** A declaration's own consistency: unique names, key/time columns exist, late columns nullable. */
export function validateTableDef(def: TableDef): void {
  const names = new Set<string>();
  for (const c of def.columns) {
    if (names.has(c.name)) throw schemaError(def.name, `duplicate column ${c.name}`);
    names.add(c.name);
    if (c.since > 1 && !c.nullable)
      throw schemaError(def.name, `column ${c.name} added in v${c.since} must be nullable`);
    if (c.since > def.version) throw schemaError(def.name, `column ${c.name} is from a future version ${c.since}`);
  }
  const time = def.columns.find((c) => c.name === def.timeColumn);
  if (!time || time.kind !== 'ts' || time.nullable) throw schemaError(def.name, `time column must be a non-null ts`);
  for (const k of [...def.dedupeKey, def.symbolColumn, ...(def.keepMax ? [def.keepMax] : [])]) {
    if (!names.has(k)) throw schemaError(def.name, `unknown key column ${k}`);
  }
}

/** The cell a row has for a column: its field, or null when absent or on the other side of a `when`. */
export function cellOf(c: ColumnDef, row: unknown): CellValue {
  const r = row as Record<string, unknown>;
  if (c.when && r[c.when.field] !== c.when.is) return null;
  return (r[c.field] ?? null) as CellValue;
}

function cellProblem(c: ColumnSpec, v: CellValue | undefined): string | null {
  if (v === null || v === undefined) return c.nullable ? null : `${c.name} is required`;
  switch (c.kind) {
    case 'string':
    case 'dict':
      return typeof v === 'string' ? null : `${c.name} must be a string`;
    case 'strlist':
      return Array.isArray(v) && v.every((s) => typeof s === 'string') ? null : `${c.name} must be a string list`;
    case 'f64':
      return typeof v === 'number' && Number.isFinite(v) ? null : `${c.name} must be a finite number`;
    default:
      return typeof v === 'number' && Number.isSafeInteger(v) ? null : `${c.name} must be an integer`;
  }
}

/** Why `row` can't be stored in `def` (null when it can): for the sink to dead-letter instead of crashing. */
export function rowProblem<Row>(def: TableDef<Row>, row: Row): string | null {
  for (const c of def.columns) {
    let v: CellValue | undefined;
    try {
      v = cellOf(c, row);
    } catch {
      return `${c.name} cannot be read from the row`;
    }
    const p = cellProblem(c, v);
    if (p) return p;
  }
  return null;
}

const VALID: Record<ColumnKind, (v: CellValue) => boolean> = {
  string: (v) => typeof v === 'string',
  dict: (v) => typeof v === 'string',
  f64: (v) => typeof v === 'number' && Number.isFinite(v),
  i64: (v) => Number.isSafeInteger(v),
  i32: (v) => Number.isSafeInteger(v),
  ts: (v) => Number.isSafeInteger(v),
  strlist: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
};

/** Rows -> columns; throws INPUT_INVALID naming the first bad row and column. */
export function toColumns<Row>(def: TableDef<Row>, rows: readonly Row[]): Columns {
  const out: Columns = {};
  for (const c of def.columns) {
    const values: CellValue[] = new Array(rows.length);
    const valid = VALID[c.kind];
    for (let i = 0; i < rows.length; i++) {
      const v = cellOf(c, rows[i]);
      // The fast check first; the descriptive one only to word the error.
      if (v === null ? !c.nullable : !valid(v)) {
        throw new TickLakeError('INPUT_INVALID', `table ${def.name}: row ${i}: ${cellProblem(c, v) ?? 'invalid'}`, {
          details: { reason: 'table_schema_mismatch', table: def.name, row: i, column: c.name },
        });
      }
      values[i] = v;
    }
    out[c.name] = values;
  }
  return out;
}

/**
 * Columns -> rows, the inverse of toColumns through the same declaration: each column's cell onto its field (a null
 * cell onto a nullable field as null, an optional one not at all, a side-specific one only on its side's rows),
 * plus the table's fixed fields. Columns the table declares but `cols` lacks (a projection) are left out.
 * The rows are the core's types as far as the lake's rows were valid when written (the sink validates them).
 */
export function fromColumns<Row>(def: TableDef<Row>, cols: Columns): Row[] {
  const d = def as TableDef;
  const plan = d.columns
    .filter((c) => cols[c.name] !== undefined)
    .map((c) => {
      const side = c.when ? d.columns.find((o) => o.field === c.when!.field) : undefined;
      return { c, values: cols[c.name]!, side: side ? cols[side.name] : undefined };
    });
  const n = plan.length ? plan[0]!.values.length : 0;
  const out: Row[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = { ...d.fixed };
    for (const { c, values, side } of plan) {
      if (c.when && side?.[i] !== c.when.is) continue;
      const v = values[i] ?? null;
      if (v === null && c.optional) continue;
      row[c.field] = v;
    }
    out[i] = row as Row;
  }
  return out;
}
