import type { Admin, Kafka } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';
import type { DependencySignal } from '../../infra/health.ts';
import type { Logger } from '../../infra/logger.ts';

/**
 * Consumer lag per partition, from the broker's view: the topic's high watermark minus the group's committed
 * offset, read with an admin client every `intervalMs`. Committed offsets, not fetch positions, because that is
 * what a restart resumes from (the processor commits in its transactions, the sink after each manifest commit).
 * Every member of a group reports every partition of it, so the series do not move on a rebalance; dashboards
 * and alerts take `max by (group, topic, partition)` across instances. On a transactional topic the high
 * watermark counts commit markers too: a caught-up partition may show a lag of 1.
 */

export interface LagTarget {
  groupId: string;
  topic: string;
}

export interface LagMonitorOptions {
  kafka: Kafka;
  consumers: readonly LagTarget[];
  registry: Registry;
  intervalMs: number;
  /** Each read tells the process's health whether Kafka answered. */
  kafkaHealth?: DependencySignal;
  log: Logger;
}

export interface LagMonitor {
  /** Reads once now (also done every interval). */
  poll(): Promise<void>;
  stop(): Promise<void>;
}

/** Lag of one partition: everything from the committed offset (or the log's start, when none) to the end. */
export function partitionLag(high: string, low: string, committed: string | undefined): number {
  const end = BigInt(high);
  const from = committed === undefined || BigInt(committed) < 0n ? BigInt(low) : BigInt(committed);
  const lag = end - from;
  return Number(lag < 0n ? 0n : lag);
}

const gauges = new WeakMap<Registry, Gauge>();

export function lagGauge(registry: Registry): Gauge {
  let g = gauges.get(registry);
  if (!g) {
    g = new Gauge({
      name: 'ticklake_consumer_lag',
      help: "Records between a consumer group's committed offset and the partition's high watermark",
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
    });
    gauges.set(registry, g);
  }
  return g;
}

export function startLagMonitor(opts: LagMonitorOptions): LagMonitor {
  const gauge = lagGauge(opts.registry);
  // No retries inside a read: the next interval is the retry, and a read never outlives its interval by much.
  let admin: Admin | undefined;
  let connected = false;
  let running: Promise<void> | undefined;
  let stopped = false;
  let warned = false;

  const read = async () => {
    admin ??= opts.kafka.admin({ retry: { retries: 0 } });
    if (!connected) {
      await admin.connect();
      connected = true;
    }
    for (const { groupId, topic } of opts.consumers) {
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const byPartition = new Map(
        (committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]),
      );
      for (const e of ends) {
        gauge.set(
          { group: groupId, topic, partition: String(e.partition) },
          partitionLag(e.high, e.low, byPartition.get(e.partition)),
        );
      }
    }
  };

  const poll = (): Promise<void> => {
    running ??= read()
      .then(() => {
        opts.kafkaHealth?.ok();
        if (warned) opts.log.info('consumer lag readable again');
        warned = false;
      })
      .catch(async (err: Error) => {
        opts.kafkaHealth?.failed(err);
        if (!warned) opts.log.warn('could not read consumer lag', { error: err.message });
        warned = true;
        // Start the next read from a fresh connection.
        connected = false;
        await admin?.disconnect().catch(() => {});
        admin = undefined;
      })
      .finally(() => (running = undefined));
    return running;
  };

  const timer = setInterval(() => void poll(), opts.intervalMs);
  timer.unref();
  void poll();
  return {
    poll,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await running;
      await admin?.disconnect().catch(() => {});
    },
  };
}
