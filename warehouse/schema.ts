import type { ColumnKind } from '../lake/columns.ts';
import type { TableDef } from '../lake/tables.ts';

/**
 * BigQuery table schemas, derived from the lake's table definitions: one declaration per table (lake/tables.ts),
 * so a column added to the lake appears in the warehouse load with the right type. Load jobs must carry the schema
 * (the BigQuery emulator does not infer one from Parquet, and declaring it keeps real BigQuery from guessing). It
 * also matters for modes: lake files declare every column OPTIONAL (lake/columns.ts), and real BigQuery refuses to
 * append OPTIONAL Parquet columns to REQUIRED fields when the job infers the schema, while the same load with the
 * table's schema given explicitly succeeds (reported in googleapis/python-bigquery#2373). Not verifiable here.
 */
export interface BigQueryField {
  name: string;
  type: 'STRING' | 'FLOAT64' | 'INT64' | 'TIMESTAMP';
  mode: 'REQUIRED' | 'NULLABLE' | 'REPEATED';
}

const TYPES: Record<ColumnKind, BigQueryField['type']> = {
  string: 'STRING',
  dict: 'STRING',
  f64: 'FLOAT64',
  i64: 'INT64',
  i32: 'INT64',
  ts: 'TIMESTAMP',
  strlist: 'STRING',
};

export function bigquerySchemaOf(def: TableDef<unknown>): { fields: BigQueryField[] } {
  return {
    fields: def.columns.map((c) => ({
      name: c.name,
      type: TYPES[c.kind],
      mode: c.kind === 'strlist' ? 'REPEATED' : c.nullable ? 'NULLABLE' : 'REQUIRED',
    })),
  };
}
