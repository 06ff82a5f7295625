/**
 * @platformatic/kafka 2.x (pure TypeScript, Node >= 22). Tuned as its docs advise: Buffers without serialisers,
 * large `send` batches with several outstanding (the idempotent producer forces maxInflights to 1 per connection),
 * no compression, a high stream watermark and large fetches. Keys go through `compatibilityPartitioner`, the
 * Java/kafkajs murmur2 (the default partitioner maps keys differently).
 *
 * There is no batch consumer API: a transform "batch" is whatever the stream has buffered when the previous
 * transaction ended, at most FETCH_MAX_BYTES_PER_PARTITION of values (the most one kafkajs eachBatch can hold), so
 * both clients commit transactions of comparable size. Offsets go in with `addOffset(lastMessageOfPartition)`, one
 * call at a time: the client deduplicates concurrent calls into one request. `addOffset` sends the generation and
 * member id the message was fetched under (KIP-447).
 *
 * The transaction timeout is the client's request `timeout` (InitProducerId is sent with it, there is no separate
 * option), so transactional producers run with timeout = TRANSACTION_TIMEOUT_MS.
 */
import {
  compatibilityPartitioner,
  Consumer,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  type Message,
  type MessagesStream,
  type MessageToProduce,
} from '@platformatic/kafka';
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

/** Messages the stream may buffer before it stops fetching (default 1024). */
const HIGH_WATER_MARK = 16_384;

type Msg = Message<Buffer, Buffer, Buffer, Buffer>;

const create: DriverFactory = async ({ brokers, clientId }) => {
  const closers = new Set<() => Promise<void>>();
  const track = (close: () => Promise<void>) => {
    closers.add(close);
    return async () => {
      closers.delete(close);
      await close().catch(() => {});
    };
  };

  const idempotentProducer = () => {
    const producer = new Producer({
      clientId,
      bootstrapBrokers: brokers,
      idempotent: true,
      partitioner: compatibilityPartitioner,
      autocreateTopics: false,
    });
    return { producer, close: track(() => producer.close(true)) };
  };
  const transactionalProducer = (transactionalId: string) => {
    const producer = new Producer({
      clientId,
      bootstrapBrokers: brokers,
      idempotent: true,
      transactionalId,
      partitioner: compatibilityPartitioner,
      autocreateTopics: false,
      timeout: TRANSACTION_TIMEOUT_MS,
    });
    return { producer, close: track(() => producer.close(true)) };
  };
  const groupStream = async (groupId: string, topic: string) => {
    const consumer = new Consumer({
      clientId,
      bootstrapBrokers: brokers,
      groupId,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      minBytes: 1,
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
      maxWaitTime: FETCH_MAX_WAIT_MS,
      highWaterMark: HIGH_WATER_MARK,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      rebalanceTimeout: REBALANCE_TIMEOUT_MS,
    });
    const close = track(() => consumer.close(true));
    const stream = (await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    })) as MessagesStream<Buffer, Buffer, Buffer, Buffer>;
    return { consumer, stream, close };
  };
  const toProduce = (topic: string, records: BenchRecord[]): MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] =>
    records.map((r) => ({ topic, key: Buffer.from(r.key), value: r.value }));

  const driver: ClientDriver = {
    name: 'platformatic',
    version: packageVersion('@platformatic/kafka', import.meta.url),
    groupMetadataInTransactions: true,

    async produce(topic, records) {
      const { producer, close } = idempotentProducer();
      await inWindow(chunks(records, PRODUCE_CHUNK), PRODUCE_WINDOW, (c) =>
        producer.send({ messages: toProduce(topic, c) }),
      );
      await close();
    },

    async consume(topic, groupId, count, hooks) {
      const { stream, close } = await groupStream(groupId, topic);
      let seen = 0;
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.on('data', () => {
          if (seen++ === 0) hooks?.firstRecords?.();
          if (seen === count) resolve();
        });
      });
      await close();
    },

    async transform({ input, output, groupId, transactionalId, count, hooks }) {
      const { consumer, stream, close: closeConsumer } = await groupStream(groupId, input);
      const { producer, close: closeProducer } = transactionalProducer(transactionalId);
      const next = batches(stream, FETCH_MAX_BYTES_PER_PARTITION);
      let committed = 0;
      let index = 0;
      while (committed < count) {
        const messages = await next();
        if (index === 0) hooks?.firstRecords?.();
        const last = new Map<number, Msg>();
        for (const m of messages) last.set(m.partition, m);
        const info: TransformBatch = { index: index++, records: messages.length, partitions: [...last.keys()] };
        const tx = await producer.beginTransaction();
        try {
          const forward = messages.map((m) => ({ topic: output, key: m.key, value: m.value }));
          for (const c of chunksByBytes(forward, (m) => m.value.length + RECORD_OVERHEAD_BYTES, FORWARD_CHUNK_BYTES)) {
            await tx.send({ messages: c });
          }
          await hooks?.forwarded?.(info);
          await tx.addConsumer(consumer);
          for (const m of last.values()) await tx.addOffset(m);
          await hooks?.offsetsAdded?.(info);
          await tx.commit();
        } catch (err) {
          await tx.abort().catch(() => {});
          throw err;
        }
        committed += info.records;
        hooks?.committed?.(info);
      }
      stream.removeAllListeners('readable');
      await closeConsumer();
      await closeProducer();
    },

    async sendConcurrently(topic, batches) {
      const { producer, close } = idempotentProducer();
      await Promise.all(batches.map((b) => producer.send({ messages: toProduce(topic, b) })));
      await close();
    },

    async abortThenCommit(topic, transactionalId, records, committed) {
      const { producer, close } = transactionalProducer(transactionalId);
      const aborted = await producer.beginTransaction();
      await aborted.send({ messages: toProduce(topic, records) });
      await aborted.abort();
      const tx = await producer.beginTransaction();
      await tx.send({ messages: toProduce(topic, committed) });
      await tx.commit();
      await close();
    },

    async openTransaction(topic, transactionalId, records) {
      const { producer } = transactionalProducer(transactionalId);
      const tx = await producer.beginTransaction();
      await tx.send({ messages: toProduce(topic, records) });
    },

    async commitAsSuccessor(topic, transactionalId, records) {
      const { producer, close } = transactionalProducer(transactionalId);
      const tx = await producer.beginTransaction();
      await tx.send({ messages: toProduce(topic, records) });
      await tx.commit();
      await close();
    },

    async close() {
      await Promise.all([...closers].map((c) => c().catch(() => {})));
      closers.clear();
    },
  };
  return driver;
};

/**
 * Pull-mode reader over a MessagesStream: each call resolves with what is buffered (at least one message), up to
 * `maxBytes` of values. Rejects once the stream errored or ended.
 */
function batches(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, maxBytes: number): () => Promise<Msg[]> {
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  stream.on('readable', poke);
  stream.once('error', (err: Error) => {
    failure = err;
    poke();
  });
  stream.once('end', () => {
    ended = true;
    poke();
  });
  let carry: Msg | undefined;
  return async () => {
    for (;;) {
      const out: Msg[] = [];
      let bytes = 0;
      if (carry) {
        out.push(carry);
        bytes += carry.value?.length ?? 0;
        carry = undefined;
      }
      for (;;) {
        const m = stream.read() as Msg | null;
        if (m === null) break;
        const b = m.value?.length ?? 0;
        if (out.length > 0 && bytes + b > maxBytes) {
          carry = m;
          break;
        }
        out.push(m);
        bytes += b;
      }
      if (out.length > 0) return out;
      if (failure) throw failure;
      if (ended) throw new Error('the message stream ended');
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
}

export default create;
