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
}): { poll(): Promise<void>; stop(): void } {
  const g = freshnessGauges(opts.registry);
  let failing = false;
  let running: Promise<void> | undefined;
  const poll = () =>
    (running ??= warehouseFreshness(opts.warehouse, opts.storage)
      .then((tables) => {
        for (const t of tables) {
          if (t.maxEventUs !== null) g.maxEvent.set({ table: t.table }, t.maxEventUs / 1e6);
          if (t.lastRecordedMs !== null) g.lastLedger.set({ table: t.table }, t.lastRecordedMs / 1000);
        }
        if (failing) opts.log.info('warehouse freshness readable again');
        failing = false;
      })
      .catch((err: Error) => {
        // No dataset yet (before the first `warehouse apply`) is the common case: say it once.
        if (!failing) opts.log.warn('could not read warehouse freshness from the load ledger', { error: err.message });
        failing = true;
      })
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void poll(), opts.intervalMs);
  timer.unref();
  void poll();
  return { poll, stop: () => clearInterval(timer) };
}
