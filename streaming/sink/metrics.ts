import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The sink's Prometheus metrics (`ticklake_sink_*`, label `table`). */
function createSinkMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  const labelNames = ['table'];
  return {
    rows: new Counter({ name: 'ticklake_sink_rows_total', help: 'Rows committed to the lake', labelNames, registers }),
    files: new Counter({ name: 'ticklake_sink_files_total', help: 'Files committed', labelNames, registers }),
    bytes: new Counter({ name: 'ticklake_sink_bytes_total', help: 'Parquet bytes committed', labelNames, registers }),
    dlq: new Counter({
      name: 'ticklake_sink_dlq_total',
      help: 'Records that did not fit the table, by reason',
      labelNames: ['table', 'reason'],
      registers,
    }),
    commit: new Histogram({
      name: 'ticklake_sink_commit_seconds',
      help: 'Manifest commit time per flush (after the files are uploaded)',
      labelNames,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    landed: new Histogram({
      name: 'ticklake_sink_landed_latency_seconds',
      help: 'From the newest event time (ts) in a committed file to its manifest commit: the end-to-end delay into the lake',
      labelNames,
      buckets: [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 900, 3600],
      registers,
    }),
    retries: new Counter({
      name: 'ticklake_sink_retries_total',
      help: 'Failed attempts (retried)',
      labelNames,
      registers,
    }),
    pending: new Gauge({
      name: 'ticklake_sink_pending_bytes',
      help: 'Bytes buffered, not yet committed',
      labelNames,
      registers,
    }),
    flush: new Histogram({
      name: 'ticklake_sink_flush_seconds',
      help: 'Encode + upload + commit time per flush',
      labelNames,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}

// Several sinks (one per table) may share a process and its registry: one metric set per registry.
const metricsByRegistry = new WeakMap<Registry, ReturnType<typeof createSinkMetrics>>();

export function sinkMetrics(registry?: Registry): ReturnType<typeof createSinkMetrics> {
  if (!registry) return createSinkMetrics();
  let m = metricsByRegistry.get(registry);
  if (!m) metricsByRegistry.set(registry, (m = createSinkMetrics(registry)));
  return m;
}
