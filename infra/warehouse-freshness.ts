import { startGaugePoller, type GaugePoller } from './gauge-poller.ts';
import { Gauge, type Registry } from 'prom-client';
import type { Storage } from '../lake/storage/storage.ts';
import { warehouseFreshness } from '../warehouse/freshness.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import type { Logger } from './logger.ts';

/** `ticklake_warehouse_*` freshness gauges, refreshed from the load ledger by the worker every interval. */
export function freshnessGauges(registry: Registry) {
  return {
    maxEvent: new Gauge({
      name: 'ticklake_warehouse_max_event_timestamp_seconds',
      help: 'Latest event time loaded into the warehouse table (from the load ledger)',
      labelNames: ['table'],
      registers: [registry],
    }),
    lastLedger: new Gauge({
      name: 'ticklake_warehouse_last_ledger_timestamp_seconds',
      help: 'When the load ledger last recorded a decision for the table',
      labelNames: ['table'],
      registers: [registry],
    }),
  };
}

export function startFreshnessMonitor(opts: {
  warehouse: Warehouse;
  storage: Storage;
  registry: Registry;
  intervalMs: number;
  log: Logger;
}): GaugePoller {
  const g = freshnessGauges(opts.registry);
  // No dataset yet (before the first `warehouse apply`) is the common failure: the poller says it once.
  return startGaugePoller({
    what: 'warehouse freshness from the load ledger',
    read: () => warehouseFreshness(opts.warehouse, opts.storage),
    apply: (tables) => {
      for (const t of tables) {
        if (t.maxEventUs !== null) g.maxEvent.set({ table: t.table }, t.maxEventUs / 1e6);
        if (t.lastRecordedMs !== null) g.lastLedger.set({ table: t.table }, t.lastRecordedMs / 1000);
      }
    },
    intervalMs: opts.intervalMs,
    log: opts.log,
  });
}
