import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Config } from '../core/config.ts';
import { TickLakeError } from '../core/errors.ts';
import { retentionHours, TOPIC_CATALOG, topicName, type TopicEntry, type TopicKey } from '../core/topics.ts';

// kafkajs is CommonJS and Node's ESM loader can't see this named export: take it from the default export.
const { ConfigResourceTypes } = kafkajs;

// The catalog (names, schemas, keys, retention) is core/topics.ts; this module applies it to a cluster.
export { TOPIC_CATALOG, topicName, type TopicKey } from '../core/topics.ts';

export interface TopicSpec {
  name: string;
  partitions: number;
  configs: Record<string, string>;
}

const HOUR_MS = 3_600_000;
/** Largest record batch a data topic accepts; writers keep each request's batch to half of it. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** The desired state of every topic, from the catalog and config. */
export function topicSpecs(config: Config): Record<TopicKey, TopicSpec> {
  const spec = (key: TopicKey): TopicSpec => {
    const e: TopicEntry = TOPIC_CATALOG[key];
    const hours = retentionHours(config, e.retention);
    // Processor transactions write large batches: room for 8 MiB record batches on every data topic.
    const configs: Record<string, string> =
      hours === null
        ? { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': String(HOUR_MS) }
        : {
            'cleanup.policy': 'delete',
            'retention.ms': String(Math.round(hours * HOUR_MS)),
            'max.message.bytes': String(MAX_BATCH_BYTES),
          };
    // Checkpoints (one per input partition) can outgrow a data batch; the DLQ keeps 2 MiB originals as base64.
    if (e.gzip) configs['max.message.bytes'] = String(16 * 1024 * 1024);
    return { name: topicName(config, key), partitions: e.partitions === 1 ? 1 : config.topics.partitions, configs };
  };
  return Object.fromEntries(Object.keys(TOPIC_CATALOG).map((k) => [k, spec(k as TopicKey)])) as Record<
    TopicKey,
    TopicSpec
  >;
}

export interface ApplyReport {
  created: string[];
  partitionsIncreased: Array<{ topic: string; from: number; to: number }>;
  configsUpdated: Array<{ topic: string; keys: string[] }>;
  unchanged: string[];
  warnings: string[];
}

/**
 * Creates missing topics, raises partition counts and sets configs to the declared values. Idempotent: a second
 * run reports everything unchanged. Never lowers partitions (Kafka can't) or deletes anything.
 */
export async function applyTopics(admin: Admin, specs: TopicSpec[], replicationFactor: number): Promise<ApplyReport> {
  const report: ApplyReport = { created: [], partitionsIncreased: [], configsUpdated: [], unchanged: [], warnings: [] };
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length) {
    const topics: ITopicConfig[] = missing.map((s) => ({
      topic: s.name,
      numPartitions: s.partitions,
      replicationFactor,
      configEntries: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
    }));
    await admin.createTopics({ topics, waitForLeaders: true });
    report.created.push(...missing.map((s) => s.name));
  }
  const present = specs.filter((s) => existing.has(s.name));
  if (!present.length) return report;

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({
      type: ConfigResourceTypes.TOPIC,
      name: s.name,
      configNames: Object.keys(s.configs),
    })),
  });
  for (const s of present) {
    let changed = false;
    const current = metadata.topics.find((t) => t.name === s.name)?.partitions.length ?? 0;
    if (current < s.partitions) {
      try {
        await admin.createPartitions({ topicPartitions: [{ topic: s.name, count: s.partitions }] });
      } catch (err) {
        // Another process applying the same config at the same moment may have grown it first: fine if it did.
        const now = await admin.fetchTopicMetadata({ topics: [s.name] });
        if ((now.topics[0]?.partitions.length ?? 0) < s.partitions) throw err;
      }
      report.partitionsIncreased.push({ topic: s.name, from: current, to: s.partitions });
      changed = true;
    } else if (current > s.partitions) {
      report.warnings.push(
        `${s.name} has ${current} partitions, config asks ${s.partitions}: Kafka cannot reduce them`,
      );
    }
    const entries = described.resources.find((r) => r.resourceName === s.name)?.configEntries ?? [];
    const differing = Object.entries(s.configs).filter(
      ([k, v]) => entries.find((e) => e.configName === k)?.configValue !== v,
    );
    if (differing.length) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: s.name,
            // alterConfigs replaces the topic's whole dynamic config: always send every declared key.
            configEntries: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
          },
        ],
      });
      report.configsUpdated.push({ topic: s.name, keys: differing.map(([k]) => k) });
      changed = true;
    }
    if (!changed) report.unchanged.push(s.name);
  }
  return report;
}

/**
 * What every process does at start: make sure its topics exist as declared. Retried, because several processes
 * starting together race to create the same topics and Kafka may still be electing leaders for new ones.
 */
export async function ensureTopics(kafka: Kafka, config: Config, attempts = 5): Promise<ApplyReport> {
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const specs = Object.values(topicSpecs(config));
      const report = await applyTopics(admin, specs, config.topics.replicationFactor);
      await waitForLeaders(
        admin,
        specs.map((s) => s.name),
      );
      return report;
    } catch (err) {
      if (attempt >= attempts) throw err;
      await sleep(200 * 2 ** attempt);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}

/** Until every partition of `topics` has a leader: a topic another process just created may not have one yet. */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const meta = await admin.fetchTopicMetadata({ topics });
    if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    if (Date.now() > deadline) {
      throw new TickLakeError('UPSTREAM_UNAVAILABLE', `topics without a leader after ${timeoutMs} ms`);
    }
    await sleep(100);
  }
}
