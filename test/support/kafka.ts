import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  timestamp: string;
}

/**
 * Everything committed in `topic` right now (read_committed), in offset order per partition. The end is the high
 * watermark at call time; transaction markers occupy offsets too, so we stop when a partition's fetches run dry
 * at or past its last data offset.
 */
export async function readTopic(kafka: Kafka, topic: string, opts: { idleMs?: number; timeoutMs?: number } = {}) {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const groupId = `test-reader-${randomBytes(5).toString('hex')}`;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 16 << 20,
  });
  const out: ReadMessage[] = [];
  let last = Date.now();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const position = new Map<number, bigint>();
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages as KafkaMessage[]) {
          out.push({
            partition: batch.partition,
            offset: m.offset,
            key: m.key ? m.key.toString() : null,
            value: m.value,
            timestamp: m.timestamp,
          });
        }
        position.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
        last = Date.now();
      },
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    const idle = opts.idleMs ?? 1500;
    for (;;) {
      const done = ends.every((e) => Number(e.high) === 0 || (position.get(e.partition) ?? 0n) >= BigInt(e.high) - 1n);
      if (done && Date.now() - last > idle / 3) break;
      if (Date.now() - last > idle && ends.every((e) => Number(e.high) <= 1 || position.has(e.partition))) break;
      if (Date.now() > deadline) throw new Error(`reading ${topic} timed out`);
      await sleep(50);
    }
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
  out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  return out;
}

/** Waits until `groupId` has committed the end of every partition of `topic` (a non-transactional input). */
export async function waitForCaughtUp(
  kafka: Kafka,
  groupId: string,
  topic: string,
  timeoutMs = 120_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    const ends = await admin.fetchTopicOffsets(topic);
    for (;;) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const behind = ends.filter((e) => {
        const c = committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1';
        return BigInt(c) < BigInt(e.high);
      });
      if (!behind.length) return;
      if (Date.now() > deadline)
        throw new Error(`group ${groupId} still behind on ${behind.map((b) => b.partition).join(',')}`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Fences `transactionalId` the way a restarted instance would: registering it again makes the coordinator abort
 * the dead owner's open transaction now, instead of when it times out. Until then that transaction pins the last
 * stable offset of every partition it wrote, and read_committed readers see nothing past it.
 */
export async function fenceTransactionalId(kafka: Kafka, transactionalId: string): Promise<void> {
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const txn = await producer.transaction();
    await txn.abort();
  } finally {
    await producer.disconnect();
  }
}

/** Deletes every topic whose name starts with `prefix` (a test run's namespace); missing topics are fine. */
export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}
