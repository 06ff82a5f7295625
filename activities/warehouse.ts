import { Warehouse, type LoadResult, type WarehouseDeps } from '../warehouse/warehouse.ts';
import { warehouseTable } from '../warehouse/tables.ts';
import { activityContext, heartbeating } from './lake.ts';

/**
 * Warehouse loads as Temporal activities. Idempotent by the loader's design: a day is replaced as a whole from what
 * the lake holds, and the ledger row comes last, so a retry after a crash at any point loads the same rows again
 * (never twice). Only table names, days and counts cross Temporal; the files are read from the lake by reference.
 */
export interface WarehouseActivityDeps extends Omit<WarehouseDeps, 'heartbeat'> {
  heartbeatMs?: number;
}

export interface LoadDayInput {
  /** Warehouse (`ticks`) or lake (`raw`) table name. */
  table: string;
  /** `YYYY-MM-DD`. */
  day: string;
  /** Load even when the ledger says the lake day is unchanged (backfill). */
  force?: boolean;
}

export type LoadDayOutcome = LoadResult;

export function createWarehouseActivities(deps: WarehouseActivityDeps) {
  const heartbeatMs = deps.heartbeatMs ?? 5_000;
  const warehouse = () => new Warehouse({ ...deps, heartbeat: () => activityContext()?.heartbeat() });
  return {
    /**
     * Days of `table` to load: those whose lake day list the ledger has not seen; with `all`, every lake day in
     * the range (a backfill).
     */
    async findWarehouseDays(input: { table: string; from?: string; to?: string; all?: boolean }): Promise<string[]> {
      const wh = warehouse();
      const t = warehouseTable(input.table);
      if (!input.all) return wh.dueDays(t.name, input);
      return wh.lakeDays(t.name, input);
    },

    async loadWarehouseDay(input: LoadDayInput): Promise<LoadDayOutcome> {
      return heartbeating(heartbeatMs, () => warehouse().loadDay(input.table, input.day, { force: input.force }));
    },
  };
}

export type WarehouseActivities = ReturnType<typeof createWarehouseActivities>;
