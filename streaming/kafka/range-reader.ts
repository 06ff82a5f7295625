import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { TickLakeError } from '../../core/errors.ts';

/**
 * Reads offsets [from, to) of one partition. kafkajs has no manual assignment, so this joins a throwaway group,
 * seeks the wanted partition, pauses the others, and deletes the group when done. Used for recovery only
 * (loading a checkpoint, replaying records after it), never on the hot path.
 */
export async function readPartitionRange(
  kafka: Kafka,
  opts: { topic: string; partition: number; from: bigint; to: bigint; timeoutMs?: number },
  onMessage: (message: KafkaMessage) => void,
): Promise<number> {
  if (opts.from >= opts.to) return 0;
  const groupId = `ticklake-reader-${randomBytes(6).toString('hex')}`;
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 8 * 1024 * 1024, maxWaitTimeInMs: 200 });
  let count = 0;
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [opts.topic] });
    const others = meta.topics[0]!.partitions.map((p) => p.partitionId).filter((p) => p !== opts.partition);
    await consumer.connect();
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    let finished = false;
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (finished || batch.partition !== opts.partition) return;
        for (const m of batch.messages) {
          const off = BigInt(m.offset);
          if (off < opts.from) continue;
          if (off >= opts.to) break;
          onMessage(m);
          count++;
        }
        if (BigInt(batch.lastOffset()) >= opts.to - 1n) {
          finished = true;
          resolveDone();
        }
      },
    });
    if (others.length) consumer.pause([{ topic: opts.topic, partitions: others }]);
    consumer.seek({ topic: opts.topic, partition: opts.partition, offset: opts.from.toString() });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<void>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new TickLakeError(
                'UPSTREAM_UNAVAILABLE',
                `reading ${opts.topic}[${opts.partition}] ${opts.from}..${opts.to} timed out`,
              ),
            ),
          opts.timeoutMs ?? 120_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return count;
  } finally {
    await consumer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}
