/**
 * kafkajs 2.x, the project's client. Tuned as its docs advise: large `send` batches (kafkajs has no linger; batching
 * is the caller's), several sends outstanding, no compression; consumers with large fetches and eachBatch. The
 * idempotent producer keeps maxInFlightRequests at 1, which kafkajs requires for idempotence and transactions (it
 * also serialises produce requests per broker by a lock). `sendOffsets` carries no group generation (no KIP-447).
 */
import { CompressionTypes, Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import {
  HEARTBEAT_INTERVAL_MS,
  REBALANCE_TIMEOUT_MS,
  SESSION_TIMEOUT_MS,
  TRANSACTION_TIMEOUT_MS,
  type BenchRecord,
  type ClientDriver,
  type DriverFactory,
  type TransformBatch,
} from '../driver.ts';
import {
  chunks,
  chunksByBytes,
  FETCH_MAX_BYTES,
  FETCH_MAX_BYTES_PER_PARTITION,
  FETCH_MAX_WAIT_MS,
  FORWARD_CHUNK_BYTES,
  inWindow,
  packageVersion,
  PRODUCE_CHUNK,
  PRODUCE_WINDOW,
  RECORD_OVERHEAD_BYTES,
} from '../support.ts';

export interface KafkajsVariant {
  /**
   * One transactional producer per input partition, with an id derived from the group, topic and partition (not
   * from the member): the fencing Kafka Streams used before KIP-447. The partition's next owner initialises the same
   * id, which fences a paused previous owner's producer, so its late commit fails instead of duplicating.
   */
  partitionTransactions?: boolean;
}

export const createKafkajsDriver =
  (variant: KafkajsVariant): DriverFactory =>
  async ({ brokers, clientId }) => {
    const kafka = new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });
    const open = new Set<{ disconnect(): Promise<void> }>();
    const track = <T extends { disconnect(): Promise<void> }>(c: T): T => {
      open.add(c);
      return c;
    };
    const release = async (c: { disconnect(): Promise<void> }) => {
      open.delete(c);
      await c.disconnect().catch(() => {});
    };

    const idempotentProducer = () =>
      track(kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }));
    const transactionalProducer = (transactionalId: string) =>
      track(
        kafka.producer({
          transactionalId,
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: TRANSACTION_TIMEOUT_MS,
          allowAutoTopicCreation: false,
        }),
      );
    const groupConsumer = (groupId: string) =>
      track(
        kafka.consumer({
          groupId,
          readUncommitted: false,
          minBytes: 1,
          maxBytes: FETCH_MAX_BYTES,
          maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
          maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
          sessionTimeout: SESSION_TIMEOUT_MS,
          heartbeatInterval: HEARTBEAT_INTERVAL_MS,
          rebalanceTimeout: REBALANCE_TIMEOUT_MS,
          allowAutoTopicCreation: false,
        }),
      );
    const send = (producer: Producer, topic: string, messages: BenchRecord[]) =>
      producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });

    /** Resolves/rejects `done` from eachBatch, and turns a consumer crash into a rejection. */
    const runUntil = (consumer: Consumer, body: (resolve: () => void, reject: (e: Error) => void) => Promise<void>) =>
      new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, (e) => {
          if (!e.payload.restart) reject(e.payload.error);
        });
        body(resolve, reject).catch(reject);
      });

    const driver: ClientDriver = {
      name: variant.partitionTransactions ? 'kafkajs-partition-txn' : 'kafkajs',
      version: packageVersion('kafkajs', import.meta.url),
      groupMetadataInTransactions: false,

      async produce(topic, records) {
        const producer = idempotentProducer();
        await producer.connect();
        await inWindow(chunks(records, PRODUCE_CHUNK), PRODUCE_WINDOW, (c) => send(producer, topic, c));
        await release(producer);
      },

      async consume(topic, groupId, count, hooks) {
        const consumer = groupConsumer(groupId);
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        let seen = 0;
        await runUntil(consumer, async (resolve) => {
          await consumer.run({
            autoCommit: false,
            partitionsConsumedConcurrently: 6,
            eachBatch: async ({ batch }) => {
              if (seen === 0 && batch.messages.length > 0) hooks?.firstRecords?.();
              seen += batch.messages.length;
              if (seen >= count) resolve();
            },
          });
        });
        await release(consumer);
      },

      async transform({ input, output, groupId, transactionalId, count, hooks }) {
        const consumer = groupConsumer(groupId);
        const shared = variant.partitionTransactions ? undefined : transactionalProducer(transactionalId);
        const perPartition = new Map<number, Promise<Producer>>();
        const producerFor = (partition: number): Promise<Producer> => {
          if (shared) return Promise.resolve(shared);
          let p = perPartition.get(partition);
          if (!p) {
            const producer = transactionalProducer(`${groupId}-${input}-${partition}`);
            p = producer.connect().then(() => producer);
            perPartition.set(partition, p);
          }
          return p;
        };
        await Promise.all([consumer.connect(), shared?.connect()]);
        await consumer.subscribe({ topic: input, fromBeginning: true });
        let committed = 0;
        let index = 0;
        let failed = false;
        await runUntil(consumer, async (resolve, reject) => {
          await consumer.run({
            autoCommit: false,
            partitionsConsumedConcurrently: 1,
            eachBatch: async ({ batch, isRunning, isStale }) => {
              if (failed || committed >= count) return;
              if (!isRunning() || isStale() || batch.messages.length === 0) return;
              if (index === 0) hooks?.firstRecords?.();
              const info: TransformBatch = {
                index: index++,
                records: batch.messages.length,
                partitions: [batch.partition],
              };
              const messages = batch.messages.map((m) => ({ key: m.key, value: m.value }));
              const producer = await producerFor(batch.partition);
              const tx = await producer.transaction();
              try {
                for (const c of chunksByBytes(
                  messages,
                  (m) => (m.value?.length ?? 0) + RECORD_OVERHEAD_BYTES,
                  FORWARD_CHUNK_BYTES,
                )) {
                  await tx.send({ topic: output, acks: -1, compression: CompressionTypes.None, messages: c });
                }
                await hooks?.forwarded?.(info);
                await tx.sendOffsets({
                  consumerGroupId: groupId,
                  topics: [
                    {
                      topic: input,
                      partitions: [
                        { partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
                      ],
                    },
                  ],
                });
                await hooks?.offsetsAdded?.(info);
                await tx.commit();
              } catch (err) {
                failed = true;
                await tx.abort().catch(() => {});
                reject(err as Error);
                return;
              }
              committed += info.records;
              hooks?.committed?.(info);
              if (committed >= count) resolve();
            },
          });
        });
        await release(consumer);
        if (shared) await release(shared);
        for (const p of perPartition.values()) await release(await p);
      },

      async sendConcurrently(topic, batches) {
        const producer = idempotentProducer();
        await producer.connect();
        await Promise.all(batches.map((b) => send(producer, topic, b)));
        await release(producer);
      },

      async abortThenCommit(topic, transactionalId, records, committed) {
        const producer = transactionalProducer(transactionalId);
        await producer.connect();
        const aborted = await producer.transaction();
        await aborted.send({ topic, acks: -1, messages: records });
        await aborted.abort();
        const tx = await producer.transaction();
        await tx.send({ topic, acks: -1, messages: committed });
        await tx.commit();
        await release(producer);
      },

      async openTransaction(topic, transactionalId, records) {
        const producer = transactionalProducer(transactionalId);
        await producer.connect();
        const tx = await producer.transaction();
        await tx.send({ topic, acks: -1, messages: records });
      },

      async commitAsSuccessor(topic, transactionalId, records) {
        const producer = transactionalProducer(transactionalId);
        await producer.connect();
        const tx = await producer.transaction();
        await tx.send({ topic, acks: -1, messages: records });
        await tx.commit();
        await release(producer);
      },

      async close() {
        await Promise.all([...open].map((c) => release(c)));
      },
    };
    return driver;
  };

export default createKafkajsDriver({});
