import { TickLakeError } from '../core/errors.ts';
import { TABLES, type TableDef, type TableName } from '../lake/tables.ts';
import { bigquerySchemaOf, type BigQueryField } from './schema.ts';

/**
 * The warehouse's tables, one per lake table, with the names analysts query. Schema, day partitioning (on the lake
 * table's event-time column) and clustering (its symbol column) all come from the lake's declaration, so nothing is
 * spelled twice. Tables are created through the API with this metadata: the emulator keeps partitioning and
 * clustering only as metadata, and tables created by DDL there lose it.
 */
export interface WarehouseTable {
  /** BigQuery table id. */
  name: string;
  lake: TableName;
  def: TableDef;
  description: string;
}

export const WAREHOUSE_TABLES: readonly WarehouseTable[] = [
  { name: 'ticks', lake: 'raw', def: TABLES.raw as TableDef, description: 'Every tick as ingested, one row per id' },
  {
    name: 'ticks_enriched',
    lake: 'enriched',
    def: TABLES.enriched as TableDef,
    description: 'Ticks that passed validation, with reference data and session statistics, one row per id',
  },
  {
    name: 'bars_1m',
    lake: 'bars',
    def: TABLES.bars as TableDef,
    description: '1-minute OHLCV bars, the latest revision per (symbol, window_start)',
  },
  { name: 'alerts', lake: 'alerts', def: TABLES.alerts as TableDef, description: 'Alerts raised, one row per id' },
  {
    name: 'reconciliation',
    lake: 'reconciliation',
    def: TABLES.reconciliation as TableDef,
    description: 'Speed vs batch layer differences per stream table, partition and window range, the latest run',
  },
  {
    name: 'anomalies',
    lake: 'anomalies',
    def: TABLES.anomalies as TableDef,
    description:
      'Every closed 1-minute bar scored by the anomaly model, with the model version, one row per (symbol, window_start)',
  },
];

/** A warehouse table by its warehouse name (`ticks`) or its lake name (`raw`). */
export function warehouseTable(name: string): WarehouseTable {
  const t = WAREHOUSE_TABLES.find((w) => w.name === name || w.lake === name);
  if (!t) {
    throw new TickLakeError('INPUT_INVALID', `unknown warehouse table ${JSON.stringify(name)}`, {
      details: { table: name, known: WAREHOUSE_TABLES.map((w) => `${w.name} (lake ${w.lake})`) },
    });
  }
  return t;
}

export interface TableMetadata {
  schema: { fields: BigQueryField[] };
  timePartitioning: { type: 'DAY'; field: string };
  clustering: { fields: string[] };
  description: string;
}

export function tableMetadata(t: WarehouseTable): TableMetadata {
  return {
    schema: bigquerySchemaOf(t.def),
    timePartitioning: { type: 'DAY', field: t.def.timeColumn },
    clustering: { fields: [t.def.symbolColumn] },
    description: `${t.description} (lake table ${t.lake}; loaded by ticklake, do not write by hand)`,
  };
}

/**
 * The load ledger: one row per load decision for a (table, day), keyed by the lake snapshot it read. `fingerprint`
 * names the day's data independently of its files (the Kafka offset ranges they were built from), so a day whose
 * files compaction rewrote is recognised as unchanged; `day_manifest` is the lake's content-addressed day list, which
 * lets a sweep skip unchanged days without opening their part manifests.
 */
export const LEDGER_TABLE = '_load_ledger';

export const LEDGER_SCHEMA: { fields: BigQueryField[] } = {
  fields: [
    { name: 'table_name', type: 'STRING', mode: 'REQUIRED' },
    { name: 'day', type: 'STRING', mode: 'REQUIRED' },
    { name: 'lake_table', type: 'STRING', mode: 'REQUIRED' },
    { name: 'lake_seq', type: 'INT64', mode: 'REQUIRED' },
    { name: 'day_manifest', type: 'STRING', mode: 'REQUIRED' },
    { name: 'fingerprint', type: 'STRING', mode: 'REQUIRED' },
    { name: 'outcome', type: 'STRING', mode: 'REQUIRED' },
    { name: 'files', type: 'INT64', mode: 'REQUIRED' },
    { name: 'lake_rows', type: 'INT64', mode: 'REQUIRED' },
    { name: 'loaded_rows', type: 'INT64', mode: 'REQUIRED' },
    { name: 'recorded_at', type: 'TIMESTAMP', mode: 'REQUIRED' },
  ],
};

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Checks `YYYY-MM-DD` (a real date); the day is inlined into SQL and table names, so nothing else may pass. */
export function parseDay(day: string): string {
  const m = DAY_RE.exec(day);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!d || d.toISOString().slice(0, 10) !== day) {
    throw new TickLakeError('INPUT_INVALID', `not a day (YYYY-MM-DD): ${JSON.stringify(day)}`, { details: { day } });
  }
  return day;
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${parseDay(to)}T00:00:00Z`);
  for (let t = Date.parse(`${parseDay(from)}T00:00:00Z`); t <= end; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  if (out.length === 0) throw new TickLakeError('INPUT_INVALID', `--from ${from} is after --to ${to}`);
  return out;
}

/** Where one day is loaded before it replaces the day in the table: one staging table per (table, day). */
export function stagingTableId(table: string, day: string): string {
  return `_staging_${table}_${parseDay(day).replaceAll('-', '')}`;
}
