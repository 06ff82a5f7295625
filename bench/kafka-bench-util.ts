/** Pieces the Kafka latency benchmarks share: group readiness, a paced loop, fresh topics, a latency summary line. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';

/** Wall time in ms with sub-ms resolution, comparable across the processes of one machine. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Until `groupId` is stable with a member holding partitions, so no sample includes the group's start-up. */
export async function joined(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (;;) {
      const g = (await admin.describeGroups([groupId])).groups[0];
      if (g?.state === 'Stable' && g.members.length > 0 && g.members.every((m) => m.memberAssignment.length > 0))
        return;
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Creates `topic` and waits until every partition has a leader: a fresh topic can refuse produces for a while. */
export async function createTopicReady(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: false });
    for (let ok = false; !ok;) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => null);
      ok = !!meta && meta.topics[0]!.partitions.every((p) => p.leader >= 0);
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Deletes every topic and consumer group whose name starts with `prefix` (a bench's own), ignoring failures. */
export async function deleteByPrefix(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

/**
 * Calls `fn(i)` `rate` times a second for `seconds` (or until `signal` aborts), not waiting for any of them; returns
 * the rate held.
 */
export async function paced(
  rate: number,
  seconds: number,
  fn: (i: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<number> {
  const total = rate * seconds;
  const start = nowMs();
  const inflight: Promise<void>[] = [];
  let i = 0;
  for (; i < total && !signal?.aborted; i++) {
    const wait = start + (i * 1000) / rate - nowMs();
    if (wait > 0) await sleep(wait);
    inflight.push(fn(i));
  }
  await Promise.all(inflight);
  return i / ((nowMs() - start) / 1000);
}

export function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

/** One line: n, the rate held, p50/p90/p99[/p99.9]/max in ms. */
export function latencyLine(title: string, xs: readonly number[], held: number, withP999 = false): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => quantile(s, p).toFixed(1);
  return (
    `${title}: n=${s.length} at ${held.toFixed(1)}/s — p50 ${q(0.5)} ms, p90 ${q(0.9)}, p99 ${q(0.99)}` +
    (withP999 ? `, p99.9 ${q(0.999)}` : '') +
    `, max ${(s.at(-1) ?? NaN).toFixed(1)}\n`
  );
}
