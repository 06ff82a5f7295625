import type { Admin, Kafka } from 'kafkajs';
import type { Client } from '@temporalio/client';
import type { Config } from '../core/config.ts';
import { topicName, type TopicKey } from '../core/topics.ts';
import { partitionLag } from '../streaming/kafka/consumer-lag.ts';
import { sinkGroupId } from '../streaming/sink/sink.ts';
import { SEARCH_ATTRIBUTES } from '../workflows/constants.ts';

/**
 * Pipeline health for the dashboard: rates counted from what the live consumer reads (ticks, dead letters, late
 * ticks per source and reason), consumer lag of the pipeline's groups read from Kafka's admin API (the numbers
 * `ticklake_consumer_lag` exports), and the last batch runs as Temporal lists them, linked into the Temporal UI.
 */

/** Counts per second over the last `seconds`, by label. */
export class RateWindow {
  private readonly buckets = new Map<number, Map<string, number>>();

  constructor(private readonly seconds = 60) {}

  add(label: string, nowMs: number, n = 1): void {
    const s = Math.floor(nowMs / 1000);
    let b = this.buckets.get(s);
    if (!b) this.buckets.set(s, (b = new Map()));
    b.set(label, (b.get(label) ?? 0) + n);
    for (const k of this.buckets.keys()) if (k <= s - this.seconds) this.buckets.delete(k);
  }

  /** Per label, events per second over the window's complete seconds (the current one excluded). */
  perSecond(nowMs: number): Record<string, number> {
    const now = Math.floor(nowMs / 1000);
    const sums: Record<string, number> = {};
    for (const [s, b] of this.buckets) {
      if (s >= now || s < now - this.seconds) continue;
      for (const [label, n] of b) sums[label] = (sums[label] ?? 0) + n;
    }
    for (const k of Object.keys(sums)) sums[k] = sums[k]! / this.seconds;
    return sums;
  }
}

export interface LagTarget {
  name: string;
  groupId: string;
  topic: string;
}

/** The pipeline's consumer groups and what they read (the processor, the speed layer, each sink table). */
export function lagTargets(config: Config): LagTarget[] {
  const sink = (table: 'raw' | 'enriched' | 'bars' | 'alerts', topic: TopicKey): LagTarget => ({
    name: `sink ${table}`,
    groupId: sinkGroupId(config, table),
    topic: topicName(config, topic),
  });
  return [
    { name: 'processor', groupId: config.processor.groupId, topic: topicName(config, 'raw') },
    { name: 'speed layer', groupId: config.alerts.groupId, topic: topicName(config, 'raw') },
    sink('raw', 'raw'),
    sink('enriched', 'enriched'),
    sink('bars', 'bars'),
    sink('alerts', 'alerts'),
  ];
}

export interface GroupLag {
  name: string;
  groupId: string;
  topic: string;
  /** Summed over partitions; null when the group has committed nothing (not running). */
  lag: number | null;
}

export async function readLag(admin: Admin, targets: readonly LagTarget[]): Promise<GroupLag[]> {
  const out: GroupLag[] = [];
  for (const t of targets) {
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(t.topic),
      admin.fetchOffsets({ groupId: t.groupId, topics: [t.topic] }),
    ]);
    const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, p.offset]));
    const any = [...byPartition.values()].some((o) => BigInt(o) >= 0n);
    const lag = any
      ? ends.reduce((sum, e) => sum + partitionLag(e.high, e.low, byPartition.get(e.partition)), 0)
      : null;
    out.push({ name: t.name, groupId: t.groupId, topic: t.topic, lag });
  }
  return out;
}

/** The batch work the health panel lists: workflow type → what people call it. */
export const RUN_KINDS = [
  { kind: 'compaction sweep', type: 'compactionSweepWorkflow' },
  { kind: 'compaction', type: 'compactPartitionWorkflow' },
  { kind: 'load sweep', type: 'warehouseLoadSweepWorkflow' },
  { kind: 'warehouse load', type: 'warehouseLoadWorkflow' },
  // The reconciliation workflow's type (issue #12); listed by name so its runs show up as soon as they exist.
  { kind: 'reconciliation', type: 'reconciliationWorkflow' },
] as const;

export interface RunInfo {
  kind: string;
  workflowId: string;
  runId: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  outcome: string | null;
  url: string;
}

export function temporalUiBase(config: Config): string {
  return (config.dashboard.temporalUiUrl ?? `http://127.0.0.1:${config.stack.temporalUiPort}`).replace(/\/+$/, '');
}

export function runUrl(base: string, namespace: string, workflowId: string, runId: string): string {
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

export async function readRuns(client: Client, config: Config, perKind = 3): Promise<RunInfo[]> {
  const base = temporalUiBase(config);
  const out: RunInfo[] = [];
  for (const { kind, type } of RUN_KINDS) {
    let n = 0;
    for await (const w of client.workflow.list({ query: `WorkflowType = '${type}'`, pageSize: perKind })) {
      const outcome = w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome);
      out.push({
        kind,
        workflowId: w.workflowId,
        runId: w.runId,
        status: w.status.name,
        startTime: w.startTime.toISOString(),
        closeTime: w.closeTime?.toISOString() ?? null,
        outcome: typeof outcome === 'string' ? outcome : null,
        url: runUrl(base, config.temporal.namespace, w.workflowId, w.runId),
      });
      if (++n >= perKind) break;
    }
  }
  return out;
}

export function kafkaAdmin(kafka: Kafka): Admin {
  return kafka.admin({ retry: { retries: 0 } });
}
