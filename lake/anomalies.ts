import { canonicalJson, fnv1a64 } from '../core/models/hash.ts';
import { storedAnomalyRow, type AnomalyRow } from '../core/schemas/model.ts';
import { TickLakeError } from '../core/errors.ts';
import { commit } from './manifest.ts';
import { partitionOf, partitionRange } from './layout.ts';
import { planScan } from './reader.ts';
import type { Storage } from './storage/storage.ts';
import { anomaliesTable, storedSchema, toColumns, type TableDef } from './tables.ts';
import { encodeColumns, upload } from './writer.ts';

/**
 * Writes a day of scored bars to the `anomalies` table, replacing what the day held: per event-hour partition one
 * file named by a hash of its rows, swapped in by a replace commit conditional on the partition's live files. A
 * rerun with the same rows finds its file already live and commits nothing; with other rows (a new model) it
 * replaces the old file. Partitions of the day left without rows are emptied.
 */
export interface WriteAnomalyDayResult {
  committed: number;
  unchanged: number;
  rows: number;
}

const HOURS = 24;
const MAX_ATTEMPTS = 5;

export async function writeAnomalyDay(
  storage: Storage,
  day: string,
  rows: readonly AnomalyRow[],
  now: () => number = Date.now,
): Promise<WriteAnomalyDayResult> {
  const dayStart = Date.parse(`${day}T00:00:00Z`) * 1000;
  const def = anomaliesTable as TableDef;
  const byPartition = new Map<string, AnomalyRow[]>();
  for (const r of rows) {
    const p = partitionOf(r.windowStart);
    if (!p.startsWith(`dt=${day}/`)) {
      throw new TickLakeError('INTERNAL', `anomaly row ${r.symbol}@${r.windowStart} is not of day ${day}`);
    }
    const list = byPartition.get(p);
    if (list === undefined) byPartition.set(p, [r]);
    else list.push(r);
  }
  const result: WriteAnomalyDayResult = { committed: 0, unchanged: 0, rows: rows.length };
  for (let h = 0; h < HOURS; h++) {
    const partition = partitionOf(dayStart + h * 3_600_000_000);
    const mine = (byPartition.get(partition) ?? [])
      .slice()
      .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.windowStart - b.windowStart))
      .map(storedAnomalyRow);
    const file =
      mine.length === 0
        ? null
        : encodeColumns(
            def,
            partition,
            `anomalies/${partition}/scored-${fnv1a64(canonicalJson(mine))}.parquet`,
            toColumns(def, mine),
            mine.length,
            [],
          );
    const { startUs, endUs } = partitionRange(partition);
    for (let attempt = 1; ; attempt++) {
      const plan = await planScan(storage, def.name, { fromUs: startUs, toUs: endUs });
      const live = plan.files.map((f) => f.entry).filter((e) => e.partition === partition);
      if (file === null ? live.length === 0 : live.length === 1 && live[0]!.path === file.key) {
        result.unchanged++;
        break;
      }
      const entry = file === null ? null : await upload(storage, file, now());
      const r = await commit(
        storage,
        def.name,
        storedSchema(def),
        { kind: 'replace', partition, remove: live.map((e) => e.path), add: entry ? [entry] : [] },
        { now },
      );
      if (r.status === 'committed') {
        result.committed++;
        break;
      }
      if (r.status === 'noop') {
        result.unchanged++;
        break;
      }
      // conflict: the partition changed under us (compaction, a concurrent run); plan again on what is live now.
      if (attempt >= MAX_ATTEMPTS) {
        throw new TickLakeError('UPSTREAM_UNAVAILABLE', `anomalies ${partition}: ${MAX_ATTEMPTS} conflicting commits`);
      }
    }
  }
  return result;
}
