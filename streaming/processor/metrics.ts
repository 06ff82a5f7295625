import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The processor's Prometheus metrics (`ticklake_processor_*`). */
export function createProcessorMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    records: new Counter({ name: 'ticklake_processor_records_total', help: 'Raw records consumed', registers }),
    out: new Counter({
      name: 'ticklake_processor_output_records_total',
      help: 'Records written, by topic kind',
      labelNames: ['kind'],
      registers,
    }),
    dlq: new Counter({
      name: 'ticklake_processor_dlq_total',
      help: 'Dead-lettered records by reason',
      labelNames: ['reason'],
      registers,
    }),
    dlqShare: new Gauge({
      name: 'ticklake_processor_dlq_share',
      help: 'Share of input records dead-lettered in the last closed window (see processor.dlqWarnShare)',
      registers,
    }),
    unknownSymbols: new Counter({
      name: 'ticklake_processor_unknown_symbol_ticks_total',
      help: 'Ticks accepted without symbol-master data (processor.unknownSymbols=accept)',
      registers,
    }),
    registeredSymbols: new Gauge({
      name: 'ticklake_processor_unregistered_symbols',
      help: 'Distinct symbols seen that the symbol master lacks',
      registers,
    }),
    duplicates: new Counter({
      name: 'ticklake_processor_duplicates_total',
      help: 'Duplicate ticks dropped',
      registers,
    }),
    late: new Counter({ name: 'ticklake_processor_late_total', help: 'Trades too late for their bar', registers }),
    recoveries: new Counter({
      name: 'ticklake_processor_recoveries_total',
      help: 'Partition state rebuilds',
      registers,
    }),
    replayed: new Counter({
      name: 'ticklake_processor_replayed_records_total',
      help: 'Records replayed in recovery',
      registers,
    }),
    batch: new Histogram({
      name: 'ticklake_processor_batch_seconds',
      help: 'Process + transaction time per batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    owned: new Gauge({ name: 'ticklake_processor_owned_partitions', help: 'Partitions with live state', registers }),
  };
}
export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;
