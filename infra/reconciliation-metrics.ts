import { startGaugePoller, type GaugePoller } from './gauge-poller.ts';
import { Gauge, type Registry } from 'prom-client';
import { DIFFERENCE_CLASSES, RECONCILED_TABLES, type ReconciliationRow } from '../core/schemas/reconciliation.ts';
import { readRows } from '../lake/reader.ts';
import type { Storage } from '../lake/storage/storage.ts';
import { reconciliationTable } from '../lake/tables.ts';
import type { Logger } from './logger.ts';

/** `ticklake_reconciliation_*` gauges, refreshed by the worker from the lake's reconciliation table. */
export function reconciliationGauges(registry: Registry) {
  const registers = [registry];
  return {
    mismatches: new Gauge({
      name: 'ticklake_reconciliation_mismatches',
      help: 'Differences between the speed layer and the batch truth in the latest reconciliation of each partition of the lookback, by stream table and class (late, missing_partition, disagreement)',
      labelNames: ['table', 'class'],
      registers,
    }),
    tolerance: new Gauge({
      name: 'ticklake_reconciliation_tolerance',
      help: 'Disagreements tolerated per stream table (reconciliation.tolerance): the alert fires above it',
      labelNames: ['table'],
      registers,
    }),
    lastRun: new Gauge({
      name: 'ticklake_reconciliation_last_run_timestamp_seconds',
      help: 'When the latest reconciliation run of the lookback started, by stream table',
      labelNames: ['table'],
      registers,
    }),
    reconciledUntil: new Gauge({
      name: 'ticklake_reconciliation_reconciled_until_timestamp_seconds',
      help: 'End of the latest window range reconciled, by stream table',
      labelNames: ['table'],
      registers,
    }),
  };
}

export type ReconciliationGaugeValues = {
  table: (typeof RECONCILED_TABLES)[number];
  counts: Record<(typeof DIFFERENCE_CLASSES)[number], number>;
  lastRunUs: number | null;
  untilUs: number | null;
}[];

/** The gauges' values from the latest row of each (table, partition, range): what the current truth says. */
export function gaugeValues(rows: readonly ReconciliationRow[]): ReconciliationGaugeValues {
  return RECONCILED_TABLES.map((table) => {
    const mine = rows.filter((r) => r.table === table);
    return {
      table,
      counts: {
        late: mine.reduce((n, r) => n + r.late, 0),
        missing_partition: mine.reduce((n, r) => n + r.missingPartition, 0),
        disagreement: mine.reduce((n, r) => n + r.disagreement, 0),
      },
      lastRunUs: mine.length ? Math.max(...mine.map((r) => r.runTs)) : null,
      untilUs: mine.length ? Math.max(...mine.map((r) => r.windowEnd)) : null,
    };
  });
}

export function startReconciliationMonitor(opts: {
  storage: Storage;
  registry: Registry;
  intervalMs: number;
  lookbackHours: number;
  tolerance: number;
  log: Logger;
}): GaugePoller {
  const g = reconciliationGauges(opts.registry);
  for (const table of RECONCILED_TABLES) g.tolerance.set({ table }, opts.tolerance);
  return startGaugePoller({
    what: 'the reconciliation table',
    read: async () => {
      const rows: ReconciliationRow[] = [];
      const fromUs = (Date.now() - opts.lookbackHours * 3_600_000) * 1000;
      for await (const part of readRows(opts.storage, reconciliationTable, { fromUs })) rows.push(...part.rows);
      return rows;
    },
    apply: (rows) => {
      for (const v of gaugeValues(rows)) {
        for (const c of DIFFERENCE_CLASSES) g.mismatches.set({ table: v.table, class: c }, v.counts[c]);
        if (v.lastRunUs !== null) g.lastRun.set({ table: v.table }, v.lastRunUs / 1e6);
        if (v.untilUs !== null) g.reconciledUntil.set({ table: v.table }, v.untilUs / 1e6);
      }
    },
    intervalMs: opts.intervalMs,
    log: opts.log,
  });
}
