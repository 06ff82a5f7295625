import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The speed layer's Prometheus metrics (`ticklake_alerts_*`). */
export function createAlertMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    records: new Counter({ name: 'ticklake_alerts_records_total', help: 'Raw records evaluated', registers }),
    alerts: new Counter({
      name: 'ticklake_alerts_emitted_total',
      help: 'Alerts committed to the alerts topic, by rule and severity',
      labelNames: ['rule', 'severity'],
      registers,
    }),
    evaluationLag: new Histogram({
      name: 'ticklake_alerts_evaluation_lag_seconds',
      help: 'Wall time at evaluation minus the event time of the tick that raised the alert',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    rulesReloads: new Counter({
      name: 'ticklake_alerts_rules_reloads_total',
      help: 'Rules file reloads, by outcome (applied, refused)',
      labelNames: ['outcome'],
      registers,
    }),
    recoveries: new Counter({ name: 'ticklake_alerts_recoveries_total', help: 'Partition state rebuilds', registers }),
    replayed: new Counter({
      name: 'ticklake_alerts_replayed_records_total',
      help: 'Records replayed in recovery',
      registers,
    }),
    batch: new Histogram({
      name: 'ticklake_alerts_batch_seconds',
      help: 'Evaluate + transaction time per batch',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    owned: new Gauge({ name: 'ticklake_alerts_owned_partitions', help: 'Partitions with live state', registers }),
  };
}
