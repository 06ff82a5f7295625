import { z } from 'zod';
import { TickLakeError } from '../core/errors.ts';
import type { Alert } from '../core/schemas/alert.ts';
import type { Bar } from '../core/schemas/bar.ts';
import type { EnrichedTick } from '../core/schemas/enriched.ts';
import type { Tick } from '../core/schemas/tick.ts';
import type { CellValue, ColumnKind, ColumnSpec, Columns } from './columns.ts';

/**
 * The lake's tables, one declaration each: columns (with the row -> column mapping), the event-time column
 * that picks the dt=/hour= partition, the dedupe key compaction keeps one row per, and a schema version.
 *
 * Column names are snake_case so the Parquet files load into BigQuery and SQL engines as they are.
 * Evolution: a new version may only append nullable columns (`since` = the version that added them); older
 * files then read those columns as null. Anything else (drop, rename, retype, reorder, tighten nullability)
 * is rejected by checkEvolution.
 */
export interface ColumnDef<Row> extends ColumnSpec {
  /** Table version that added the column; columns added after version 1 must be nullable. */
  since: number;
  // Method syntax on purpose: a TableDef<Tick> must be usable where a TableDef<unknown> is expected.
  get(row: Row): CellValue | undefined;
}

export interface TableDef<Row = unknown> {
  name: string;
  version: number;
  columns: readonly ColumnDef<Row>[];
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

const col = <Row>(
  name: string,
  kind: ColumnKind,
  get: (row: Row) => CellValue | undefined,
  opts: { nullable?: boolean; since?: number } = {},
): ColumnDef<Row> => ({ name, kind, nullable: opts.nullable ?? false, since: opts.since ?? 1, get });

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function tickColumns<R extends Tick>(): ColumnDef<R>[] {
  return [
    col<R>('id', 'string', (t) => t.id),
    col<R>('source', 'dict', (t) => t.source),
    col<R>('symbol', 'dict', (t) => t.symbol),
    col<R>('seq', 'i64', (t) => t.seq),
    col<R>('type', 'dict', (t) => t.type),
    col<R>('ts', 'ts', (t) => t.ts),
    col<R>('recv_ts', 'ts', (t) => t.recvTs),
    col<R>('exchange', 'dict', (t) => t.exchange ?? null, { nullable: true }),
    col<R>('conditions', 'strlist', (t) => t.conditions ?? null, { nullable: true }),
    col<R>('price', 'f64', (t) => (t.type === 'trade' ? t.price : null), { nullable: true }),
    col<R>('size', 'f64', (t) => (t.type === 'trade' ? t.size : null), { nullable: true }),
    col<R>('bid', 'f64', (t) => (t.type === 'quote' ? t.bid : null), { nullable: true }),
    col<R>('bid_size', 'f64', (t) => (t.type === 'quote' ? t.bidSize : null), { nullable: true }),
    col<R>('ask', 'f64', (t) => (t.type === 'quote' ? t.ask : null), { nullable: true }),
    col<R>('ask_size', 'f64', (t) => (t.type === 'quote' ? t.askSize : null), { nullable: true }),
  ];
}

/** Trades and quotes in one table: the side-specific columns are null on the other side. */
export const rawTable: TableDef<Tick> = {
  name: 'raw',
  version: 1,
  columns: tickColumns<Tick>(),
  timeColumn: 'ts',
  symbolColumn: 'symbol',
  dedupeKey: ['id'],
};

export const enrichedTable: TableDef<EnrichedTick> = {
  name: 'enriched',
  version: 1,
  columns: [
    ...tickColumns<EnrichedTick>(),
    col<EnrichedTick>('name', 'string', (t) => t.name, { nullable: true }),
    col<EnrichedTick>('sector', 'dict', (t) => t.sector, { nullable: true }),
    col<EnrichedTick>('currency', 'dict', (t) => t.currency, { nullable: true }),
    col<EnrichedTick>('listing_exchange', 'dict', (t) => t.listingExchange, { nullable: true }),
    col<EnrichedTick>('mid', 'f64', (t) => num(t.mid), { nullable: true }),
    col<EnrichedTick>('spread_bps', 'f64', (t) => num(t.spreadBps), { nullable: true }),
    col<EnrichedTick>('log_return', 'f64', (t) => num(t.logReturn), { nullable: true }),
    col<EnrichedTick>('session_vwap', 'f64', (t) => num(t.sessionVwap), { nullable: true }),
    col<EnrichedTick>('ewma_vol', 'f64', (t) => num(t.ewmaVol), { nullable: true }),
    col<EnrichedTick>('processed_ts', 'ts', (t) => t.processedTs),
  ],
  timeColumn: 'ts',
  symbolColumn: 'symbol',
  dedupeKey: ['id'],
};

/** Bars are re-emitted with a higher revision on late trades: compaction keeps the highest revision. */
export const barsTable: TableDef<Bar> = {
  name: 'bars',
  version: 1,
  columns: [
    col<Bar>('symbol', 'dict', (b) => b.symbol),
    col<Bar>('window_start', 'ts', (b) => b.windowStart),
    col<Bar>('window_end', 'ts', (b) => b.windowEnd),
    col<Bar>('open', 'f64', (b) => b.open),
    col<Bar>('high', 'f64', (b) => b.high),
    col<Bar>('low', 'f64', (b) => b.low),
    col<Bar>('close', 'f64', (b) => b.close),
    col<Bar>('volume', 'f64', (b) => b.volume),
    col<Bar>('vwap', 'f64', (b) => b.vwap),
    col<Bar>('trades', 'i64', (b) => b.trades),
    col<Bar>('first_ts', 'ts', (b) => b.firstTs),
    col<Bar>('last_ts', 'ts', (b) => b.lastTs),
    col<Bar>('revision', 'i32', (b) => b.revision),
  ],
  timeColumn: 'window_start',
  symbolColumn: 'symbol',
  dedupeKey: ['symbol', 'window_start'],
  keepMax: 'revision',
};

export const alertsTable: TableDef<Alert> = {
  name: 'alerts',
  version: 2,
  columns: [
    col<Alert>('id', 'string', (a) => a.id),
    col<Alert>('rule', 'dict', (a) => a.rule),
    col<Alert>('symbol', 'dict', (a) => a.symbol),
    col<Alert>('severity', 'dict', (a) => a.severity),
    col<Alert>('ts', 'ts', (a) => a.ts),
    col<Alert>('window_start', 'ts', (a) => a.windowStart),
    col<Alert>('value', 'f64', (a) => a.value),
    col<Alert>('threshold', 'f64', (a) => a.threshold),
    col<Alert>('message', 'string', (a) => a.message),
    col<Alert>('emitted_ts', 'ts', (a) => a.emittedTs),
    col<Alert>('source', 'dict', (a) => a.source ?? null, { nullable: true, since: 2 }),
    col<Alert>('model_version', 'dict', (a) => a.modelVersion ?? null, { nullable: true, since: 2 }),
  ],
  timeColumn: 'ts',
  symbolColumn: 'symbol',
  dedupeKey: ['id'],
};

/** The one registry of lake tables (the sink's `raw | enriched | bars | alerts`). */
export const TABLES = { raw: rawTable, enriched: enrichedTable, bars: barsTable, alerts: alertsTable } as const;
export type TableName = keyof typeof TABLES;

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
      v = c.get(row);
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
      const v = c.get(rows[i]!) ?? null;
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
