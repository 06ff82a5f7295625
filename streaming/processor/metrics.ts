import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PipelineOutputs } from '../../core/pipeline.ts';
import { LeanHistogram } from '../../infra/lean-histogram.ts';

/** Seconds, from a few milliseconds up to an hour behind (a replay of old data lands in +Inf). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];

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
    late: new Counter({
      name: 'ticklake_processor_late_total',
      help: 'Trades too late for their bar, by reason',
      labelNames: ['reason'],
      registers,
    }),
    ticksOut: new Counter({
      name: 'ticklake_processor_enriched_ticks_total',
      help: 'Ticks enriched and written to ticks.enriched, by source',
      labelNames: ['source'],
      registers,
    }),
    // Observed per record: the lean kind (see infra/lean-histogram.ts).
    processingLatency: new LeanHistogram({
      name: 'ticklake_processor_processing_latency_seconds',
      help: "From a raw record's Kafka timestamp (when ingest sent it) to the commit of its batch's outputs",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    eventLatency: new LeanHistogram({
      name: 'ticklake_processor_event_latency_seconds',
      help: "From a tick's event time (ts) to the commit of its enriched record",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
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

/** One committed batch's latencies and per-source counts (observed per record: they are what the histograms mean). */
export function observeCommitted(
  metrics: ProcessorMetrics,
  /** The batch's input records (their Kafka timestamps, ms). */
  records: readonly { timestamp: string }[],
  out: PipelineOutputs,
  nowUs: number,
): void {
  const nowMs = nowUs / 1000;
  for (const r of records) metrics.processingLatency.observe(Math.max(0, nowMs - Number(r.timestamp)) / 1000);
  const bySource = new Map<string, number>();
  for (const t of out.enriched) {
    metrics.eventLatency.observe(Math.max(0, nowUs - t.ts) / 1e6);
    bySource.set(t.source, (bySource.get(t.source) ?? 0) + 1);
  }
  for (const [source, n] of bySource) metrics.ticksOut.inc({ source }, n);
  for (const l of out.late) metrics.late.inc({ reason: l.reason });
}
