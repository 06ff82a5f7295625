/**
 * @confluentinc/kafka-javascript 1.x (librdkafka bindings), built from source by bench/kafka-clients/build-confluent.sh
 * into the ticklake cache and loaded from there (the factory throws when it is not built).
 *
 * Uses the native (node-rdkafka style) API, not the KafkaJS-compatible one: the latter wraps every message in a
 * promise and measured ~40 % slower here for both producing and consuming. Tuned as librdkafka's docs advise for
 * throughput: the producer batches by itself (linger.ms 5, batch.size 1 MB), so every record is handed to
 * `produce` at once and the queue is sized to hold a workload; delivery reports come through the background poll
 * thread. Keys go through `murmur2_random`, the Java/kafkajs partitioner (librdkafka's default maps keys
 * differently); no compression. Consumers read batches with `consume(n)`, n about one partition fetch
 * (FETCH_MAX_BYTES_PER_PARTITION) of values, returning as soon as the first records are there.
 *
 * transform: one transaction per consumed batch, which may span partitions. `sendOffsetsToTransaction` takes the
 * consumer and sends its group metadata (generation, member id) in TxnOffsetCommit v3 (KIP-447); with
 * read_committed, librdkafka's offset fetch asks for stable offsets. The forwarded records are not awaited before
 * the offsets unless a `forwarded` hook asks for it (~20 % faster): `commitTransaction` flushes them and fails if
 * any failed. Rebalances go through a rebalance_cb that counts revocations, and a batch whose partitions were
 * revoked or lost meanwhile is aborted, not committed (FencedBatch).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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
import { CONFLUENT_PACKAGE, confluentInstallDir, confluentUnavailable } from '../confluent-install.ts';
import { FETCH_MAX_BYTES, FETCH_MAX_BYTES_PER_PARTITION, FETCH_MAX_WAIT_MS } from '../support.ts';

/** The part of the package's native API used here (its own types are not installed where tsc looks). */
interface RdError extends Error {
  code: number;
  isFatal?: boolean;
}
interface TopicPartition {
  topic: string;
  partition: number;
}
type Callback<T = unknown> = (err: RdError | null | undefined, value?: T) => void;
interface RdMessage {
  value: Buffer | null;
  key?: Buffer | string | null;
  partition: number;
  offset: number;
}
interface RdClient {
  connect(options: object, cb: Callback): void;
  on(event: 'event.error', listener: (err: RdError) => void): this;
}
interface RdProducer extends RdClient {
  produce(
    topic: string,
    partition: number | null,
    value: Buffer | null,
    key: string | Buffer | null | undefined,
    timestamp: number | null,
    opaque?: Acks,
  ): boolean;
  on(event: 'delivery-report', listener: (err: RdError | null, report: { opaque?: Acks }) => void): this;
  on(event: 'event.error', listener: (err: RdError) => void): this;
  setPollInBackground(set: boolean): void;
  disconnect(timeoutMs: number, cb: Callback): void;
  initTransactions(timeoutMs: number, cb: Callback): void;
  beginTransaction(cb: Callback): void;
  commitTransaction(timeoutMs: number, cb: Callback): void;
  abortTransaction(timeoutMs: number, cb: Callback): void;
  sendOffsetsToTransaction(
    offsets: { topic: string; partition: number; offset: number }[],
    consumer: RdConsumer,
    timeoutMs: number,
    cb: Callback,
  ): void;
}
interface RdConsumer extends RdClient {
  subscribe(topics: string[]): void;
  assign(partitions: TopicPartition[]): void;
  unassign(): void;
  incrementalAssign(partitions: TopicPartition[]): void;
  incrementalUnassign(partitions: TopicPartition[]): void;
  rebalanceProtocol(): string;
  assignmentLost(): boolean;
  consume(count: number, cb: Callback<RdMessage[]>): void;
  setDefaultConsumeTimeout(ms: number): void;
  setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void;
  disconnect(cb: Callback): void;
}
interface RdKafka {
  Producer: new (conf: Record<string, unknown>) => RdProducer;
  KafkaConsumer: new (conf: Record<string, unknown>, topicConf?: Record<string, unknown>) => RdConsumer;
}

/** librdkafka's RD_KAFKA_RESP_ERR__QUEUE_FULL: the producer queue is full, produce again after some deliveries. */
const ERR_QUEUE_FULL = -184;
/** librdkafka's RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, the rebalance callback's "assign" (else it revokes). */
const ERR_ASSIGN_PARTITIONS = -175;
/** Messages the producer queue may hold (librdkafka's default 100,000): a produce workload fits at once. */
const QUEUE_MAX_MESSAGES = 2_000_000;
/** Timeout of every transactional call (init, offsets, commit, abort); the calls fail after it. */
const TXN_CALL_TIMEOUT_MS = 30_000;
/** How long `consume(n)` waits for the first record of a batch before it returns an empty one. */
const CONSUME_WAIT_MS = 500;
/** Records per `consume(n)` before the mean record size is known (~1 MiB of the benchmark's ~200 B ticks). */
const FIRST_BATCH = 5_000;
const MAX_BATCH = 50_000;

/** Counts the delivery reports of one send; settles once all came, rejecting on the first failed one. */
class Acks {
  private left = 0;
  private sealed = false;
  private failure: Error | undefined;
  private settle?: { resolve: () => void; reject: (e: Error) => void };
  readonly done: Promise<void>;

  constructor() {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  }

  sent(): void {
    this.left++;
  }

  /** No more sends: settles now if every report is in. */
  seal(): void {
    this.sealed = true;
    this.check();
  }

  report(err: RdError | null): void {
    this.left--;
    if (err) this.fail(err);
    else this.check();
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.settle?.reject(this.failure);
  }

  private check(): void {
    if (this.sealed && this.left === 0 && !this.failure) this.settle?.resolve();
  }
}

/**
 * The batch's partitions were revoked or lost while it was processed. After losing its assignment librdkafka resets
 * the member id and generation ("" and -1, as the broker takes a pre-KIP-447 TxnOffsetCommit) and rejoins, so the
 * group metadata it sends no longer fences records fetched before: without this check, a zombie resumed after its
 * session expired went on with the records it had prefetched and committed them a second time (probe: with
 * librdkafka's own rebalance handling, ~5,000 duplicates).
 */
class FencedBatch extends Error {
  constructor(batch: TransformBatch) {
    super(`partitions revoked or lost during transaction ${batch.index}; aborted it`);
    this.name = 'FencedBatch';
  }
}

const promised = <T = unknown>(call: (cb: Callback<T>) => void) =>
  new Promise<T>((resolve, reject) => call((err, value) => (err ? reject(err) : resolve(value as T))));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function load(): Promise<{ kafka: RdKafka; version: string }> {
  const why = confluentUnavailable();
  if (why) throw new Error(why);
  const require = createRequire(join(confluentInstallDir(), 'package.json'));
  const entry = require.resolve(CONFLUENT_PACKAGE);
  const pkg = require(`${CONFLUENT_PACKAGE}/package.json`) as { version: string };
  const mod = (await import(pathToFileURL(entry).href)) as { default: RdKafka };
  return { kafka: mod.default, version: pkg.version };
}

const create: DriverFactory = async ({ brokers, clientId }) => {
  const { kafka, version } = await load();
  const base = { 'bootstrap.servers': brokers.join(','), 'client.id': clientId };
  const closers = new Set<() => Promise<void>>();
  const track = (close: () => Promise<void>) => {
    closers.add(close);
    return async () => {
      if (!closers.delete(close)) return;
      await close().catch(() => {});
    };
  };

  /** A connected producer; each message carries the `Acks` of its send as opaque, settled by its delivery report. */
  const producer = async (extra: Record<string, unknown>) => {
    const p = new kafka.Producer({
      ...base,
      'enable.idempotence': true,
      acks: 'all',
      partitioner: 'murmur2_random',
      'compression.codec': 'none',
      'linger.ms': 5,
      'batch.size': 1_000_000,
      'queue.buffering.max.messages': QUEUE_MAX_MESSAGES,
      dr_cb: true,
      ...extra,
    });
    let fatal: RdError | undefined;
    const outstanding = new Set<Acks>();
    p.on('delivery-report', (err, report) => report.opaque?.report(err));
    p.on('event.error', (err) => {
      if (!err.isFatal) return; // librdkafka retries everything else itself
      fatal = err;
      for (const a of outstanding) a.fail(err);
    });
    await promised((cb) => p.connect({}, cb));
    p.setPollInBackground(true);
    const close = track(() => promised((cb) => p.disconnect(10_000, cb)).then(() => {}));

    /** Queues every record (waiting while the queue is full); the `Acks` settle when all were delivered. */
    const send = async (topic: string, records: Iterable<{ key?: string | Buffer | null; value: Buffer | null }>) => {
      const acks = new Acks();
      outstanding.add(acks);
      void acks.done.finally(() => outstanding.delete(acks)).catch(() => {});
      if (fatal) acks.fail(fatal);
      try {
        for (const r of records) {
          for (;;) {
            try {
              p.produce(topic, null, r.value, r.key, null, acks);
              acks.sent();
              break;
            } catch (err) {
              if ((err as RdError).code !== ERR_QUEUE_FULL) throw err;
              await sleep(2);
            }
          }
        }
      } catch (err) {
        acks.fail(err as Error);
      }
      acks.seal();
      return acks;
    };
    const delivered = async (topic: string, records: BenchRecord[]) => (await send(topic, records)).done;
    return { p, send, delivered, close };
  };

  const idempotentProducer = () => producer({});
  const transactionalProducer = async (transactionalId: string) => {
    const t = await producer({ 'transactional.id': transactionalId, 'transaction.timeout.ms': TRANSACTION_TIMEOUT_MS });
    await promised((cb) => t.p.initTransactions(TXN_CALL_TIMEOUT_MS, cb));
    return t;
  };
  const inTransaction = async (
    t: Awaited<ReturnType<typeof producer>>,
    body: () => Promise<void>,
    end: 'commit' | 'abort' = 'commit',
  ) => {
    await promised((cb) => t.p.beginTransaction(cb));
    try {
      await body();
      if (end === 'commit') await promised((cb) => t.p.commitTransaction(TXN_CALL_TIMEOUT_MS, cb));
      else await promised((cb) => t.p.abortTransaction(TXN_CALL_TIMEOUT_MS, cb));
    } catch (err) {
      if (end === 'commit') await promised((cb) => t.p.abortTransaction(TXN_CALL_TIMEOUT_MS, cb)).catch(() => {});
      throw err;
    }
  };

  const groupConsumer = async (groupId: string, topic: string) => {
    // The package's own assign/unassign, counting revocations: a batch consumed before a revocation that reached
    // JS only later must not be committed (see transform).
    let revocations = 0;
    const rebalance = (err: RdError | undefined, partitions: TopicPartition[]) => {
      const cooperative = c.rebalanceProtocol() === 'COOPERATIVE';
      try {
        if (err?.code === ERR_ASSIGN_PARTITIONS) {
          if (cooperative) c.incrementalAssign(partitions);
          else c.assign(partitions);
        } else {
          revocations++;
          if (cooperative) c.incrementalUnassign(partitions);
          else c.unassign();
        }
      } catch {
        // disconnecting: nothing to assign any more
      }
    };
    const c = new kafka.KafkaConsumer(
      {
        ...base,
        'group.id': groupId,
        'isolation.level': 'read_committed',
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'session.timeout.ms': SESSION_TIMEOUT_MS,
        'heartbeat.interval.ms': HEARTBEAT_INTERVAL_MS,
        // librdkafka sends max.poll.interval.ms as the JoinGroup rebalance timeout.
        'max.poll.interval.ms': REBALANCE_TIMEOUT_MS,
        'fetch.min.bytes': 1,
        'fetch.max.bytes': FETCH_MAX_BYTES,
        'max.partition.fetch.bytes': FETCH_MAX_BYTES_PER_PARTITION,
        'fetch.wait.max.ms': FETCH_MAX_WAIT_MS,
        'allow.auto.create.topics': false,
        rebalance_cb: rebalance,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    let fatal: RdError | undefined;
    c.on('event.error', (err) => {
      if (err.isFatal) fatal = err;
    });
    await promised((cb) => c.connect({}, cb));
    c.setDefaultConsumeTimeout(CONSUME_WAIT_MS);
    c.setDefaultIsTimeoutOnlyForFirstMessage(true);
    c.subscribe([topic]);
    const close = track(() => promised((cb) => c.disconnect(cb)).then(() => {}));
    // Batches of about one partition fetch of values, by the mean record size seen so far.
    let records = 0;
    let bytes = 0;
    const next = async () => {
      if (fatal) throw fatal;
      const n = records === 0 ? FIRST_BATCH : Math.round(FETCH_MAX_BYTES_PER_PARTITION / (bytes / records));
      const batch = await promised<RdMessage[]>((cb) => c.consume(Math.max(1, Math.min(MAX_BATCH, n)), cb));
      for (const m of batch) bytes += m.value?.length ?? 0;
      records += batch.length;
      return batch;
    };
    /** True when partitions were revoked or lost since `since` (a `revocations()` value). */
    const stale = async (since: number) => {
      await new Promise<void>((r) => setImmediate(r)); // rebalance callbacks already dispatched to JS run first
      return revocations !== since || c.assignmentLost();
    };
    return { c, next, close, revocations: () => revocations, stale };
  };

  const driver: ClientDriver = {
    name: 'confluent',
    version,
    groupMetadataInTransactions: true,

    async produce(topic, records) {
      const { delivered, close } = await idempotentProducer();
      await delivered(topic, records);
      await close();
    },

    async consume(topic, groupId, count, hooks) {
      const { next, close } = await groupConsumer(groupId, topic);
      let seen = 0;
      while (seen < count) {
        const batch = await next();
        if (seen === 0 && batch.length > 0) hooks?.firstRecords?.();
        seen += batch.length;
      }
      await close();
    },

    async transform({ input, output, groupId, transactionalId, count, hooks }) {
      const [consumer, t] = await Promise.all([groupConsumer(groupId, input), transactionalProducer(transactionalId)]);
      let committed = 0;
      let index = 0;
      while (committed < count) {
        const epoch = consumer.revocations();
        const batch = await consumer.next();
        if (batch.length === 0) continue;
        if (index === 0) hooks?.firstRecords?.();
        const nextOffsets = new Map<number, number>();
        for (const m of batch) nextOffsets.set(m.partition, Math.max(nextOffsets.get(m.partition) ?? 0, m.offset + 1));
        const info: TransformBatch = {
          index: index++,
          records: batch.length,
          partitions: [...nextOffsets.keys()].sort((a, b) => a - b),
        };
        await inTransaction(t, async () => {
          const acks = await t.send(output, batch);
          if (hooks?.forwarded) {
            await acks.done;
            await hooks.forwarded(info);
          }
          const offsets = [...nextOffsets].map(([partition, offset]) => ({ topic: input, partition, offset }));
          await promised((cb) => t.p.sendOffsetsToTransaction(offsets, consumer.c, TXN_CALL_TIMEOUT_MS, cb));
          await hooks?.offsetsAdded?.(info);
          if (await consumer.stale(epoch)) throw new FencedBatch(info);
        });
        committed += info.records;
        hooks?.committed?.(info);
      }
      await consumer.close();
      await t.close();
    },

    async sendConcurrently(topic, batches) {
      const { delivered, close } = await idempotentProducer();
      await Promise.all(batches.map((b) => delivered(topic, b)));
      await close();
    },

    async abortThenCommit(topic, transactionalId, records, committed) {
      const t = await transactionalProducer(transactionalId);
      await inTransaction(t, () => t.delivered(topic, records), 'abort');
      await inTransaction(t, () => t.delivered(topic, committed));
      await t.close();
    },

    async openTransaction(topic, transactionalId, records) {
      const t = await transactionalProducer(transactionalId);
      await promised((cb) => t.p.beginTransaction(cb));
      await t.delivered(topic, records);
    },

    async commitAsSuccessor(topic, transactionalId, records) {
      const t = await transactionalProducer(transactionalId);
      await inTransaction(t, () => t.delivered(topic, records));
      await t.close();
    },

    async close() {
      await Promise.all([...closers].map((close) => close().catch(() => {})));
      closers.clear();
    },
  };
  return driver;
};

export default create;
