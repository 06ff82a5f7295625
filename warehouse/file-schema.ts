import { TickLakeError } from '../core/errors.ts';
import { checkInputColumns, inputColumns } from '../lake/duckdb-rewrite.ts';
import { sqlString as duckString, withDuckDb } from '../lake/duckdb.ts';
import type { TableDef } from '../lake/tables.ts';

/**
 * A lake file must fit the table before it is loaded: every column known with its type, every required column
 * present. SCHEMA_INCOMPATIBLE (non-retryable) names the file and the column; nothing of the day is replaced.
 */
export async function checkFileSchema(def: TableDef, path: string, local: string): Promise<void> {
  const present = await withDuckDb((con) =>
    inputColumns(con, `read_parquet(${duckString(local)}, hive_partitioning = false)`),
  );
  try {
    checkInputColumns(def, present);
    const missing = def.columns.find((c) => !c.nullable && !present.has(c.name));
    if (missing) {
      throw new TickLakeError('SCHEMA_INCOMPATIBLE', `table ${def.name}: required column ${missing.name} is missing`, {
        details: { table: def.name, column: missing.name },
      });
    }
  } catch (err) {
    const e = err as TickLakeError;
    throw new TickLakeError(e.code ?? 'SCHEMA_INCOMPATIBLE', `${path}: ${e.message}`, {
      cause: err,
      details: { ...e.details, file: path },
    });
  }
}
