import { describe, expect, it } from 'vitest';
import { TABLES, type TableDef } from '../../../lake/tables.ts';
import { bigquerySchemaOf } from '../../../warehouse/schema.ts';

describe('BigQuery schemas from lake tables', () => {
  it('maps every column with its type and mode', () => {
    const raw = bigquerySchemaOf(TABLES.raw as TableDef<unknown>);
    const byName = Object.fromEntries(raw.fields.map((f) => [f.name, f]));
    expect(byName.ts).toEqual({ name: 'ts', type: 'TIMESTAMP', mode: 'REQUIRED' });
    expect(byName.price).toEqual({ name: 'price', type: 'FLOAT64', mode: 'NULLABLE' });
    expect(byName.symbol).toEqual({ name: 'symbol', type: 'STRING', mode: 'REQUIRED' });
    expect(byName.seq!.type).toBe('INT64');
    expect(byName.conditions!.mode).toBe('REPEATED');
    for (const def of Object.values(TABLES)) {
      expect(bigquerySchemaOf(def as TableDef<unknown>).fields.map((f) => f.name)).toEqual(
        def.columns.map((c) => c.name),
      );
    }
  });
});
