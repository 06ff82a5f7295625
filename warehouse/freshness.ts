import { dayListSchema, loadSnapshot, parseJson, snapshotDays } from '../lake/manifest.ts';
import type { Storage } from '../lake/storage/storage.ts';
import { WAREHOUSE_TABLES } from './tables.ts';
import type { Warehouse } from './warehouse.ts';

/**
 * How far the warehouse has got, per table, from the load ledger: the latest day loaded with rows, and the
 * latest event time in it. The ledger names the lake's day list each load read (content-addressed, so it still
 * says exactly what was loaded after the lake moved on); its partition refs carry the max event time, so nothing
 * in BigQuery is scanned beyond the ledger.
 */
export interface TableFreshness {
  table: string;
  /** The latest event time loaded, µs; null when nothing is loaded (or the day list is gone and unmatched). */
  maxEventUs: number | null;
  /** When the ledger last recorded a decision for the table (ms); null when never. */
  lastRecordedMs: number | null;
}

export async function warehouseFreshness(wh: Warehouse, storage: Storage): Promise<TableFreshness[]> {
  const out: TableFreshness[] = [];
  for (const t of WAREHOUSE_TABLES) {
    const entries = [...(await wh.ledger(t.name)).values()];
    const lastRecordedMs = entries.length ? Math.max(...entries.map((e) => e.recordedAt)) : null;
    const loaded = entries.filter((e) => e.rows > 0 && e.dayManifest).sort((a, b) => (a.day < b.day ? 1 : -1))[0];
    let maxEventUs: number | null = null;
    if (loaded) {
      const snap = await loadSnapshot(storage, t.def.name);
      const ref = snap ? snapshotDays(snap).find((d) => d.manifest === loaded.dayManifest) : undefined;
      if (ref) maxEventUs = ref.maxTs;
      else {
        // The lake changed the day since: the list the load read is still there until vacuum removes it.
        const bytes = await storage.get(loaded.dayManifest);
        const parts = bytes ? parseJson(dayListSchema, bytes, `day list ${loaded.dayManifest}`).partitions : [];
        if (parts.length) maxEventUs = Math.max(...parts.map((p) => p.maxTs));
      }
    }
    out.push({ table: t.name, maxEventUs, lastRecordedMs });
  }
  return out;
}
