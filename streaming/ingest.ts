import type { Kafka } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DependencySignal } from '../infra/health.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../infra/logger.ts';
import { BAR_INTERVAL_US } from '../core/schemas/bar.ts';
import { TickProducer } from './producer.ts';
import { publishReference } from './reference-cache.ts';
import type { CreatedSource } from './sources/index.ts';
import { ensureTopics, topicName, topicSpecs } from './topics.ts';

export interface IngestOptions {
  config: Config;
  kafka: Kafka;
  created: CreatedSource;
  /** Tick `source` name used in heartbeats. */
  sourceName: string;
  log: Logger;
  registry?: Registry;
  signal: AbortSignal;
  heartbeatIntervalMs?: number;
  /** On a bounded source's end, push every partition's watermark past all windows so every bar is final. */
  finalWatermark?: boolean;
  /** Told of every send's outcome (see TickProducer). */
  kafkaHealth?: DependencySignal;
  /** Called once the producer is connected and records may flow. */
  onProducing?: () => void;
}

/** Ingest's own metrics, by source: what arrives, and when it last did (the "source silent" alert). */
function createIngestMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    records: new Counter({
      name: 'ticklake_ingest_records_total',
      help: 'Records read from the source and accepted for ticks.raw, by source',
      labelNames: ['source'],
      registers,
    }),
    lastRecord: new Gauge({
      name: 'ticklake_ingest_last_record_timestamp_seconds',
      help: 'Wall-clock time the source last delivered a record',
      labelNames: ['source'],
      registers,
    }),
    lastEvent: new Gauge({
      name: 'ticklake_ingest_max_event_timestamp_seconds',
      help: 'Latest event time (tick ts) the source delivered',
      labelNames: ['source'],
      registers,
    }),
  };
}

export interface IngestResult {
  records: number;
  maxEventTs: number | null;
  seconds: number;
}

const TS_FIELD = /"ts":(\d{13,16})/;

/** The event time of a tick's JSON, read without parsing the whole record (once per batch, for heartbeats). */
function eventTimeOf(value: string | Buffer): number | undefined {
  const text = typeof value === 'string' ? value.slice(0, 400) : value.subarray(0, 400).toString('utf8');
  const m = TS_FIELD.exec(text);
  return m ? Number(m[1]) : undefined;
}

const ingestByRegistry = new WeakMap<Registry, ReturnType<typeof createIngestMetrics>>();

/** One metric set per registry (a test may run several ingests into one). */
export function ingestMetrics(registry?: Registry): ReturnType<typeof createIngestMetrics> {
  if (!registry) return createIngestMetrics();
  let m = ingestByRegistry.get(registry);
  if (!m) ingestByRegistry.set(registry, (m = createIngestMetrics(registry)));
  return m;
}

/** `ticklake ingest`: one source into `ticks.raw`, with reference data first and heartbeats throughout. */
export async function runIngest(opts: IngestOptions): Promise<IngestResult> {
  const { config, kafka, log } = opts;
  const started = Date.now();
  await ensureTopics(kafka, config);
  const partitions = topicSpecs(config).raw.partitions;

  if (opts.created.universe.length) {
    const refProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await refProducer.connect();
    await publishReference(refProducer, topicName(config, 'referenceSymbols'), opts.created.universe);
    await refProducer.disconnect();
    log.info('reference published', { symbols: opts.created.universe.length });
  }

  const producer = new TickProducer(kafka, {
    topic: topicName(config, 'raw'),
    ...config.producer,
    log,
    registry: opts.registry,
    kafkaHealth: opts.kafkaHealth,
  });
  await producer.connect();
  opts.onProducing?.();
  const metrics = ingestMetrics(opts.registry);
  const labels = { source: opts.sourceName };
  let records = 0;
  let maxTs: number | null = null;
  let lastHeartbeat = Date.now();
  const interval = opts.heartbeatIntervalMs ?? 1000;
  const { source } = opts.created;
  try {
    for await (const batch of source.batches(opts.signal)) {
      await producer.send(batch);
      records += batch.length;
      const last = batch[batch.length - 1];
      const ts = last ? eventTimeOf(last.value) : undefined;
      if (ts !== undefined && (maxTs === null || ts > maxTs)) maxTs = ts;
      metrics.records.inc(labels, batch.length);
      metrics.lastRecord.set(labels, Date.now() / 1000);
      if (maxTs !== null) metrics.lastEvent.set(labels, maxTs / 1e6);
      if (maxTs !== null && Date.now() - lastHeartbeat >= interval) {
        await producer.sendHeartbeats(maxTs, opts.sourceName, partitions);
        lastHeartbeat = Date.now();
      }
    }
    if (maxTs !== null) {
      const p = config.processor;
      const end =
        opts.finalWatermark && !opts.signal.aborted
          ? maxTs + BAR_INTERVAL_US + (p.outOfOrdernessMs + p.allowedLatenessMs) * 1000 + 1
          : maxTs;
      await producer.sendHeartbeats(end, opts.sourceName, partitions);
    }
    await producer.flush();
  } finally {
    await source.close();
    await producer.close();
  }
  return { records, maxEventTs: maxTs, seconds: (Date.now() - started) / 1000 };
}
