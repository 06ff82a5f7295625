import { Kafka, logLevel } from 'kafkajs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig } from '../../infra/config.ts';
import { processHealth } from '../../infra/health.ts';
import { createLogger } from '../../infra/logger.ts';
import { temporalMetrics } from '../../infra/temporal/metrics.ts';
import { freshnessGauges } from '../../infra/warehouse-freshness.ts';
import { reconciliationGauges } from '../../infra/reconciliation-metrics.ts';
import { ingestMetrics } from '../../streaming/ingest.ts';
import { lagGauge } from '../../streaming/kafka/consumer-lag.ts';
import { createProcessorMetrics } from '../../streaming/processor/metrics.ts';
import { TickProducer } from '../../streaming/producer.ts';
import { sinkMetrics } from '../../streaming/sink/metrics.ts';
import { createAlertMetrics } from '../../streaming/alerts/metrics.ts';
import { createWebhookMetrics } from '../../streaming/webhooks/metrics.ts';
import { createModelMetrics } from '../../streaming/models/metrics.ts';

/**
 * Every metric name a ticklake process can export, read from the registries the processes build (each module's
 * own metric factory, the health gauges, prom-client's process metrics with the `ticklake_` prefix), with the
 * series names Prometheus sees (histograms as _bucket, _sum and _count). Nothing connects anywhere.
 */
export async function exportedMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ticklake_' });
  processHealth(loadConfig({ env: {} }), 'test', registry);
  createProcessorMetrics(registry);
  sinkMetrics(registry);
  ingestMetrics(registry);
  lagGauge(registry);
  temporalMetrics(registry);
  freshnessGauges(registry);
  reconciliationGauges(registry);
  createAlertMetrics(registry);
  createWebhookMetrics(registry);
  createModelMetrics(registry);
  const kafka = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
  new TickProducer(kafka, {
    topic: 't',
    maxBufferedRecords: 1,
    batchSize: 1,
    lingerMs: 0,
    compression: 'none',
    log: createLogger({}, 'error'),
    registry,
  });
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    const type = String(m.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(`${m.name}${s}`);
    else names.add(m.name);
  }
  return names;
}

/** Prometheus's own series about its targets. */
export const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/**
 * Metrics that queries may name before the code that exports them lands, each with the issue that adds it. Remove
 * an entry when its metric exists (the test then finds it among the exported names and fails on a stale entry).
 */
export const PLANNED_METRICS: Record<string, string> = {};

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);

/**
 * The metric names a PromQL expression selects. Not a parser, but PromQL's lexical rules are few: with strings,
 * label matchers, ranges and grouping clauses removed, an identifier is a function or aggregation when a
 * parenthesis follows it, a keyword, or a metric name.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const rest = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}
