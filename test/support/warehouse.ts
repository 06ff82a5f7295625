import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { BigQuery } from '@google-cloud/bigquery';
import type { Bar } from '../../core/schemas/bar.ts';
import { rowCount } from '../../lake/columns.ts';
import { scanLatest } from '../../lake/reader.ts';
import type { Storage } from '../../lake/storage/storage.ts';
import type { TableDef } from '../../lake/tables.ts';
import { checksumColumn, dayChecksumSql } from '../../warehouse/sql.ts';
import { LEDGER_TABLE, warehouseTable } from '../../warehouse/tables.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/** A dataset name no other run uses (BigQuery ids: letters, digits, underscores). */
export const uniqueDataset = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

export interface DaySum {
  rows: number;
  keys: number;
  total: number;
}

/** The lake's day as the warehouse must hold it: one row per dedupe key (scanLatest, lake/order.ts). */
export async function lakeDaySum(storage: Storage, def: TableDef, day: string): Promise<DaySum> {
  const fromUs = Date.parse(`${day}T00:00:00Z`) * 1000;
  const col = checksumColumn(def);
  const keys = new Set<string>();
  let rows = 0;
  let total = 0;
  for await (const cols of scanLatest(storage, def, { fromUs, toUs: fromUs + 86_400_000_000 })) {
    const n = rowCount(cols);
    rows += n;
    for (let i = 0; i < n; i++) {
      keys.add(def.dedupeKey.map((k) => String(cols[k]![i])).join('|'));
      total += (cols[col]![i] as number | null) ?? 0;
    }
  }
  return { rows, keys: keys.size, total };
}

/** `n` one-minute bars per symbol from `startUs`, at `revision`, prices shifted by it so revisions differ. */
export function makeBars(n: number, startUs: number, revision: number, symbols = ['AAPL', 'MSFT']): Bar[] {
  const out: Bar[] = [];
  for (const [s, symbol] of symbols.entries()) {
    for (let i = 0; i < n; i++) {
      const windowStart = startUs + i * 60_000_000;
      const open = 100 + s * 50 + i / 10 + revision;
      out.push({
        v: 1,
        symbol,
        windowStart,
        windowEnd: windowStart + 60_000_000,
        open,
        high: open + 1,
        low: open - 1,
        close: open + 0.5,
        volume: 1000 + i + revision * 10,
        vwap: open + 0.25,
        trades: 10 + revision,
        firstTs: windowStart + 1,
        lastTs: windowStart + 59_000_000,
        revision,
      });
    }
  }
  return out;
}

/** The warehouse's day as `lakeDaySum` counts the lake's (rows, distinct keys, sum of the checksum column). */
export async function warehouseDaySum(wh: Warehouse, table: string, day: string): Promise<DaySum> {
  const t = warehouseTable(table);
  const [row] = await wh.query(dayChecksumSql(wh.ref, t.def, t.name, day));
  return { rows: Number(row!.row_count), keys: Number(row!.key_count), total: Number(row!.total ?? 0) };
}

/** The ledger's rows for one day, oldest first: what each load decided. */
export async function ledgerOutcomes(wh: Warehouse, table: string, day: string): Promise<string[]> {
  const rows = await wh.query<{ outcome: string }>(
    `SELECT outcome FROM \`${wh.ref.projectId}.${wh.ref.dataset}.${LEDGER_TABLE}\`
     WHERE table_name = '${table}' AND day = '${day}' ORDER BY recorded_at`,
  );
  return rows.map((r) => r.outcome);
}

/**
 * Replaces a lake file in place with one another writer made: the table's columns, but `price` as text. The
 * manifest still lists it, so a load must refuse it (SCHEMA_INCOMPATIBLE naming the file and the column).
 */
export async function overwriteWithTextPrice(storage: Storage, path: string, day: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wh-bad-'));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    await con.run(`COPY (SELECT 'x' AS id, 's' AS source, 'AAPL' AS symbol, 1::BIGINT AS seq, 'trade' AS type,
        TIMESTAMPTZ '${day} 08:00:00+00' AS ts, TIMESTAMPTZ '${day} 08:00:01+00' AS recv_ts, '1.5' AS price)
      TO '${dir}/bad.parquet' (FORMAT parquet)`);
    await storage.put(path, await readFile(`${dir}/bad.parquet`));
  } finally {
    con.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Teardown of a test's warehouse: its dataset, and every object of its lake storage. */
export async function dropWarehouseAndLake(bq: BigQuery, dataset: string, storage: Storage): Promise<void> {
  await bq
    .dataset(dataset)
    .delete({ force: true })
    .catch(() => undefined);
  for (const o of await storage.list('')) await storage.delete(o.key);
}
