import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Transaction } from 'kafkajs';
import type { Logger } from '../../infra/logger.ts';
import { isConcurrentTransaction, PartitionProducers } from './partition-producers.ts';
import { chunkTopicMessages, type TopicMessages } from './chunk-messages.ts';
import { MAX_BATCH_BYTES } from '../topics.ts';

/**
 * Kafka's exactly-once consume → transform → produce, for any transform: a read_committed group consumer of one
 * input topic, and per fetched batch ONE transaction holding the handler's output records and the batch's input
 * offset (with metadata the handler may set, e.g. a pointer to a checkpoint). A batch whose transaction fails left
 * nothing behind in Kafka; the handler is told so it can drop the in-memory state that ran ahead, and the batch is
 * fetched again. Zombies are fenced per input partition (PartitionProducers). The processor is one caller; the
 * speed layer is the next.
 */

export interface InputMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
}

export interface BatchOutput {
  /** Output records, sent first. */
  topicMessages: TopicMessages[];
  /**
   * Inside the transaction after the outputs: more sends whose results decide the offset's metadata (a checkpoint
   * record and its offset). Returns the metadata to commit with the input offset.
   */
  beforeOffsets?: (tx: Transaction) => Promise<string | undefined>;
  /** After the commit: what the handler keeps only once it is durable. */
  committed?: () => void;
}

export interface ExactlyOnceHandler {
  /** The outputs of one input batch of one partition; state may change in memory only. */
  process(partition: number, messages: InputMessage[]): Promise<BatchOutput>;
  /** The batch's transaction failed (or `process` threw): the partition's in-memory state is not to be trusted. */
  failed(partition: number, err: unknown): void;
  /** The partitions of the input topic this member owns after a rebalance. */
  assigned?(partitions: ReadonlySet<number>): void;
}

export interface ExactlyOnceLoopOptions {
  kafka: Kafka;
  groupId: string;
  inputTopic: string;
  handler: ExactlyOnceHandler;
  log: Logger;
  /** Times each batch from fetch to commit (a histogram's startTimer). */
  batchTimer?: () => () => void;
  /** The consumer stopped for good (kafkajs gave up): the process should exit and be restarted. */
  onFatal?: (err: Error) => void;
  /**
   * Partitions of one fetch processed at once, each in its own transaction (default 1). kafkajs fetches again only
   * when the whole fetch is done, so one at a time makes a record wait for every other partition's commit.
   */
  concurrentPartitions?: number;
}

export class ExactlyOnceLoop {
  private readonly consumer;
  private readonly producers: PartitionProducers;
  private stopped = false;

  constructor(private readonly opts: ExactlyOnceLoopOptions) {
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      readUncommitted: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    this.producers = new PartitionProducers(opts.kafka, `${opts.groupId}-${opts.inputTopic}`, opts.log);
  }

  async start(): Promise<void> {
    const { inputTopic, handler, log } = this.opts;
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const mine = new Set((e.payload.memberAssignment[inputTopic] ?? []).map((p: number) => p));
      void this.producers.assigned(mine);
      handler.assigned?.(mine);
      log.info('partitions assigned', { partitions: [...mine].sort((a, b) => a - b) });
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.opts.onFatal?.(e.payload.error);
    });
    await this.consumer.subscribe({ topic: inputTopic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.opts.concurrentPartitions ?? 1,
      eachBatch: async ({ batch, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const end = this.opts.batchTimer?.();
        try {
          const output = await handler.process(batch.partition, batch.messages);
          await this.commit(batch.partition, batch.messages[batch.messages.length - 1]!.offset, output);
          output.committed?.();
        } catch (err) {
          handler.failed(batch.partition, err);
          log.warn('batch failed; state dropped, will rebuild', {
            partition: batch.partition,
            error: (err as Error).message,
          });
          // Rethrown as a plain (retriable) error: kafkajs then re-fetches the batch instead of stopping the consumer.
          throw new Error(`batch of partition ${batch.partition} failed: ${(err as Error).message}`, { cause: err });
        } finally {
          end?.();
        }
      },
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.consumer.disconnect().catch(() => {});
    await this.producers.close();
  }

  /**
   * One transaction for the batch. While the broker is still completing the id's previous transaction, the same
   * producer tries again with the same outputs (they are already computed, the state is unchanged by a retry):
   * failing the batch instead would drop the partition's state and replace the producer, whose initialisation
   * aborts a transaction again, so a restarted process went through a dozen state rebuilds before settling.
   */
  private async commit(partition: number, lastOffset: string, output: BatchOutput): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commitOnce(partition, lastOffset, output);
      } catch (err) {
        if (this.stopped || attempt >= CONCURRENT_TX_ATTEMPTS || !isConcurrentTransaction(err)) {
          await this.producers.failed(partition, err);
          throw err;
        }
        this.opts.log.debug('previous transaction still completing; retrying the commit', { partition, attempt });
        await sleep(Math.min(2_000, 50 * 2 ** attempt));
      }
    }
  }

  private async commitOnce(partition: number, lastOffset: string, output: BatchOutput): Promise<void> {
    const producer = await this.producers.get(partition);
    const tx = await producer.transaction();
    try {
      // Requests of at most half a topic's max.message.bytes (dead letters can carry megabyte originals).
      for (const chunk of chunkTopicMessages(output.topicMessages, MAX_BATCH_BYTES / 2)) {
        await tx.sendBatch({ acks: -1, topicMessages: chunk });
      }
      const metadata = await output.beforeOffsets?.(tx);
      await sendOffsetsRetrying(tx, {
        consumerGroupId: this.opts.groupId,
        topics: [
          {
            topic: this.opts.inputTopic,
            partitions: [
              // kafkajs passes `metadata` through to OffsetCommit although its types omit it.
              { partition, offset: (BigInt(lastOffset) + 1n).toString(), metadata: metadata ?? null } as {
                partition: number;
                offset: string;
              },
            ],
          },
        ],
      });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => {});
      throw err;
    }
  }
}

/** Attempts of one batch's commit while the broker reports a concurrent transaction (~6 s of backoff in all). */
const CONCURRENT_TX_ATTEMPTS = 8;

/**
 * kafkajs retries CONCURRENT_TRANSACTIONS on produce but not on AddOffsetsToTxn. A batch with no output records
 * starts its transaction with the offsets, and when it follows the previous commit closely the coordinator refuses
 * it until it has finished that one (milliseconds): without a retry the batch failed and its partition's state was
 * rebuilt, seconds of latency (docs/BENCHMARKS.md "Tick → webhook"). Nothing was added to the transaction by the
 * refused request, so sending the offsets again is safe.
 */
async function sendOffsetsRetrying(tx: Transaction, offsets: Parameters<Transaction['sendOffsets']>[0]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await tx.sendOffsets(offsets);
      return;
    } catch (err) {
      if (!isConcurrentTransaction(err) || attempt >= 20) throw err;
      await sleep(Math.min(5 * 2 ** attempt, 200));
    }
  }
}
