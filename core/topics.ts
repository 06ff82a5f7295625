import type { z } from 'zod';
import type { Config } from './config.ts';
import { pipelineSnapshotSchema } from './pipeline.ts';
import { speedLayerSnapshotSchema } from './alerts/snapshot.ts';
import { alertSchema } from './schemas/alert.ts';
import { anomalyModelSchema } from './schemas/model.ts';
import { barSchema } from './schemas/bar.ts';
import { dlqRecordSchema } from './schemas/dlq.ts';
import { enrichedTickSchema } from './schemas/enriched.ts';
import { heartbeatSchema } from './schemas/heartbeat.ts';
import { lateTickSchema } from './schemas/late.ts';
import { referenceSymbolSchema } from './schemas/reference.ts';
import { tickSchema } from './schemas/tick.ts';
import { deliveryStateSchema, webhookDeadLetterSchema } from './schemas/webhook.ts';

/**
 * The topic catalog: every Kafka topic ticklake owns, with its message schema (the parser of its values), what
 * its key is, and how long it keeps data. `ticklake topics apply` builds the topics from it, producers take their
 * topic names and keys from it, consumers (the sink, the processor's recovery) parse with its schemas.
 * Names are logical (`ticks.raw`); topicName() applies the configured prefix.
 */
export type Retention =
  /** topics.retentionHours: the stream's working data. */
  | 'stream'
  /** topics.dlqRetentionHours: records kept for inspection and reconciliation (dead letters, late trades). */
  | 'audit'
  /** topics.alertsRetentionHours. */
  | 'alerts'
  /** Log-compacted: the latest value per key, forever. */
  | 'compacted';

export interface TopicEntry {
  name: string;
  /** The value's schema; null where nothing produces the topic yet. */
  schema: z.ZodType | null;
  /** A second value kind sharing the topic, told apart by its key (ticks.raw's heartbeats). */
  control?: { key: string; schema: z.ZodType };
  key: 'symbol' | 'original key' | 'input partition' | 'endpoint/webhook-id' | 'endpoint';
  retention: Retention;
  /** Partitions: `topics.partitions`, or one for small compacted tables read whole. */
  partitions: 'configured' | 1;
  /** Values are gzip'd JSON (checkpoints), else plain JSON. */
  gzip?: boolean;
}

const entry = <E extends TopicEntry>(e: E): E => e;

export const TOPIC_CATALOG = {
  raw: entry({
    name: 'ticks.raw',
    schema: tickSchema,
    control: { key: '__heartbeat__', schema: heartbeatSchema },
    key: 'symbol',
    retention: 'stream',
    partitions: 'configured',
  }),
  enriched: entry({
    name: 'ticks.enriched',
    schema: enrichedTickSchema,
    key: 'symbol',
    retention: 'stream',
    partitions: 'configured',
  }),
  bars: entry({ name: 'bars.1m', schema: barSchema, key: 'symbol', retention: 'stream', partitions: 'configured' }),
  late: entry({
    name: 'ticks.late',
    schema: lateTickSchema,
    key: 'symbol',
    retention: 'audit',
    partitions: 'configured',
  }),
  dlq: entry({
    name: 'ticks.dlq',
    schema: dlqRecordSchema,
    key: 'original key',
    retention: 'audit',
    partitions: 'configured',
  }),
  alerts: entry({ name: 'alerts', schema: alertSchema, key: 'symbol', retention: 'alerts', partitions: 'configured' }),
  referenceSymbols: entry({
    name: 'reference.symbols',
    schema: referenceSymbolSchema,
    key: 'symbol',
    retention: 'compacted',
    partitions: 1,
  }),
  // The anomaly model per symbol (core/models/), latest version kept; the speed layer reads it whole and tails it.
  models: entry({ name: 'models', schema: anomalyModelSchema, key: 'symbol', retention: 'compacted', partitions: 1 }),
  processorState: entry({
    name: 'processor.state',
    schema: pipelineSnapshotSchema,
    key: 'input partition',
    retention: 'compacted',
    partitions: 'configured',
    gzip: true,
  }),
  alertsState: entry({
    name: 'alerts.state',
    schema: speedLayerSnapshotSchema,
    key: 'input partition',
    retention: 'compacted',
    partitions: 'configured',
    gzip: true,
  }),
  // Unfinished webhook deliveries (core/schemas/webhook.ts): read whole at start, so one partition.
  webhooksState: entry({
    name: 'webhooks.state',
    schema: deliveryStateSchema,
    key: 'endpoint/webhook-id',
    retention: 'compacted',
    partitions: 1,
  }),
  webhooksDlq: entry({
    name: 'webhooks.dlq',
    schema: webhookDeadLetterSchema,
    key: 'endpoint',
    retention: 'audit',
    partitions: 1,
  }),
} as const satisfies Record<string, TopicEntry>;

export type TopicKey = keyof typeof TOPIC_CATALOG;

export function topicName(config: Config, key: TopicKey): string {
  return `${config.topics.prefix}${TOPIC_CATALOG[key].name}`;
}

/** Retention in hours from config, or null for compacted topics. */
export function retentionHours(config: Config, retention: Retention): number | null {
  const t = config.topics;
  if (retention === 'stream') return t.retentionHours;
  if (retention === 'audit') return t.dlqRetentionHours;
  if (retention === 'alerts') return t.alertsRetentionHours;
  return null;
}
