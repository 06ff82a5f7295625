import { gunzipSync, gzipSync } from 'node:zlib';
import type { Consumer, Kafka, Message, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { nowUs } from '../../core/schemas/tick.ts';
import { dlqRecord } from '../dlq.ts';
import { readPartitionRange } from '../kafka/range-reader.ts';
import type { ReferenceCache } from '../reference-cache.ts';
import { MAX_BATCH_BYTES, topicName } from '../topics.ts';
import {
  emptyOutputs,
  PartitionPipeline,
  pipelineOptionsFrom,
  type PipelineOptions,
  type PipelineOutputs,
  type PipelineSnapshot,
  type RawRecord,
} from './pipeline.ts';

/**
 * `ticklake process`: consume `ticks.raw`, run each partition's PartitionPipeline, and write enriched ticks, bars,
 * late ticks and dead letters in ONE Kafka transaction per fetched batch, together with the consumer offset and —
 * at most every `snapshotIntervalMs` — a checkpoint of the partition's state (`processor.state`). The committed
 * offset's metadata points at the latest checkpoint, so whoever owns the partition next (this instance after a
 * restart, or another after a rebalance) loads that checkpoint and replays the few records between it and the
 * committed offset with outputs suppressed: the state is exactly what it was, and nothing is counted twice.
 */

interface CheckpointRef {
  /** Offset of the checkpoint record in processor.state (same partition number as the input). */
  o: string;
  /** The input offset the checkpoint's state reflects (its nextOffset). */
  n: string;
}

interface OwnedPartition {
  pipeline: PartitionPipeline;
  checkpoint?: CheckpointRef;
  lastCheckpointAt: number;
}

export interface ProcessorOptions {
  config: Config;
  kafka: Kafka;
  reference: ReferenceCache;
  log: Logger;
  registry?: Registry;
  /** Distinct per running instance; stable across restarts of the same instance so its old transactions are fenced. */
  instanceId: string;
  /** Called when the consumer stops for good (kafkajs gave up); the process should exit and be restarted. */
  onFatal?: (err: Error) => void;
}

export class StreamProcessor {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly owned = new Map<number, OwnedPartition>();
  private readonly topics;
  private readonly pipelineOptions: PipelineOptions;
  private readonly metrics;
  private stopped = false;

  constructor(private readonly opts: ProcessorOptions) {
    const { config, kafka } = opts;
    const p = config.processor;
    this.topics = {
      raw: topicName(config, 'raw'),
      enriched: topicName(config, 'enriched'),
      bars: topicName(config, 'bars'),
      late: topicName(config, 'late'),
      dlq: topicName(config, 'dlq'),
      state: topicName(config, 'processorState'),
    };
    this.pipelineOptions = pipelineOptionsFrom(config);
    this.consumer = kafka.consumer({
      groupId: p.groupId,
      readUncommitted: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    this.producer = kafka.producer({
      transactionalId: `${p.groupId}-${opts.instanceId}`,
      idempotent: true,
      maxInFlightRequests: 1,
      // A killed instance's open transaction blocks read_committed readers of our outputs until it times out.
      transactionTimeout: 15_000,
    });
    const registers = opts.registry ? [opts.registry] : [];
    this.metrics = {
      records: new Counter({ name: 'ticklake_processor_records_total', help: 'Raw records consumed', registers }),
      out: new Counter({
        name: 'ticklake_processor_output_records_total',
        help: 'Records written, by topic kind',
        labelNames: ['kind'],
        registers,
      }),
      dlq: new Counter({
        name: 'ticklake_processor_dlq_total',
        help: 'Dead-lettered records by reason',
        labelNames: ['reason'],
        registers,
      }),
      duplicates: new Counter({
        name: 'ticklake_processor_duplicates_total',
        help: 'Duplicate ticks dropped',
        registers,
      }),
      late: new Counter({ name: 'ticklake_processor_late_total', help: 'Trades too late for their bar', registers }),
      recoveries: new Counter({
        name: 'ticklake_processor_recoveries_total',
        help: 'Partition state rebuilds',
        registers,
      }),
      replayed: new Counter({
        name: 'ticklake_processor_replayed_records_total',
        help: 'Records replayed in recovery',
        registers,
      }),
      batch: new Histogram({
        name: 'ticklake_processor_batch_seconds',
        help: 'Process + transaction time per batch',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers,
      }),
      owned: new Gauge({ name: 'ticklake_processor_owned_partitions', help: 'Partitions with live state', registers }),
    };
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    // A rebalance may have handed our partitions to someone else: state is trusted only while offsets line up,
    // see ensureState. Forget everything on each join to keep memory to what we own.
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const mine = new Set((e.payload.memberAssignment[this.topics.raw] ?? []).map((p: number) => p));
      for (const p of [...this.owned.keys()]) if (!mine.has(p)) this.owned.delete(p);
      this.metrics.owned.set(this.owned.size);
      this.opts.log.info('partitions assigned', { partitions: [...mine].sort((a, b) => a - b) });
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.opts.onFatal?.(e.payload.error);
    });
    await this.consumer.subscribe({ topic: this.topics.raw, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const end = this.metrics.batch.startTimer();
        try {
          await this.processBatch(batch.partition, batch.messages);
        } catch (err) {
          // The transaction aborted, so the in-memory state ran ahead of what Kafka has: drop it and rebuild.
          this.owned.delete(batch.partition);
          this.opts.log.warn('batch failed; state dropped, will rebuild', {
            partition: batch.partition,
            error: (err as Error).message,
          });
          // Rethrown as a plain (retriable) error: kafkajs then re-fetches the batch instead of stopping the consumer.
          throw new Error(`batch of partition ${batch.partition} failed: ${(err as Error).message}`, { cause: err });
        } finally {
          end();
        }
      },
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.consumer.disconnect().catch(() => {});
    await this.producer.disconnect().catch(() => {});
  }

  private async processBatch(
    partition: number,
    messages: Array<{ key: Buffer | null; value: Buffer | null; offset: string; timestamp: string }>,
  ) {
    const firstOffset = messages[0]!.offset;
    const owned = await this.ensureState(partition, firstOffset);
    const out = emptyOutputs();
    const processedTs = nowUs();
    const reference = this.opts.reference.symbols;
    let caughtUp = false;
    for (const m of messages) {
      const record: RawRecord = {
        key: m.key ? m.key.toString('utf8') : null,
        value: m.value,
        offset: m.offset,
        timestampMs: Number(m.timestamp),
      };
      const before = out.rejected.length;
      owned.pipeline.process(record, reference, processedTs, out);
      if (!caughtUp && out.rejected[before]?.reason === 'unknown_symbol') {
        // Perhaps we are only behind the reference topic (ingest publishes symbols before their ticks): catch up
        // once per batch and judge this record again. A rejected record changed no state, so the retry is clean.
        caughtUp = true;
        if (await this.opts.reference.catchUp(2_000)) {
          out.rejected.pop();
          owned.pipeline.process(record, reference, processedTs, out);
        }
      }
    }
    await this.commit(partition, owned, out, messages[messages.length - 1]!.offset);
    this.metrics.records.inc(messages.length);
  }

  private async commit(partition: number, owned: OwnedPartition, out: PipelineOutputs, lastOffset: string) {
    const nowUsValue = nowUs();
    const t = this.topics;
    const topicMessages: Array<{ topic: string; messages: Message[] }> = [];
    const add = (topic: string, messages: Message[]) => {
      if (messages.length) topicMessages.push({ topic, messages });
    };
    add(
      t.enriched,
      out.enriched.map((e) => ({ key: e.symbol, value: JSON.stringify(e) })),
    );
    add(
      t.bars,
      out.bars.map((b) => ({ key: b.symbol, value: JSON.stringify(b) })),
    );
    add(
      t.late,
      out.late.map((l) => ({
        key: l.tick.symbol,
        value: JSON.stringify({ ...l.tick, lateReason: l.reason, windowStart: l.windowStart, watermark: l.watermark }),
      })),
    );
    add(
      t.dlq,
      out.rejected.map((r) => ({
        key: r.record.key,
        value: JSON.stringify(
          dlqRecord({
            reason: r.reason,
            detail: r.detail,
            sourceTopic: t.raw,
            partition,
            offset: r.record.offset,
            key: r.record.key,
            value: r.record.value,
            component: 'processor',
            nowUs: nowUsValue,
          }),
        ),
      })),
    );

    const tx = await this.producer.transaction();
    try {
      // A topic-partition's records in one request form one record batch, which must stay under the topic's
      // max.message.bytes: send in chunks of at most half of it (dead letters can carry megabyte originals).
      for (const chunk of chunkTopicMessages(topicMessages, MAX_BATCH_BYTES / 2)) {
        await tx.sendBatch({ acks: -1, topicMessages: chunk });
      }
      let checkpoint = owned.checkpoint;
      const due = !checkpoint || Date.now() - owned.lastCheckpointAt >= this.opts.config.processor.snapshotIntervalMs;
      if (due) {
        const snap = owned.pipeline.snapshot();
        const [meta] = await tx.send({
          topic: t.state,
          acks: -1,
          messages: [{ key: String(partition), value: gzipSync(JSON.stringify(snap)), partition }],
        });
        checkpoint = { o: meta!.baseOffset!, n: snap.nextOffset };
      }
      await tx.sendOffsets({
        consumerGroupId: this.opts.config.processor.groupId,
        topics: [
          {
            topic: t.raw,
            partitions: [
              { partition, offset: (BigInt(lastOffset) + 1n).toString(), metadata: JSON.stringify(checkpoint) } as {
                partition: number;
                offset: string;
              },
            ],
          },
        ],
      });
      await tx.commit();
      if (due) {
        owned.checkpoint = checkpoint;
        owned.lastCheckpointAt = Date.now();
      }
    } catch (err) {
      await tx.abort().catch(() => {});
      throw err;
    }
    this.metrics.out.inc({ kind: 'enriched' }, out.enriched.length);
    this.metrics.out.inc({ kind: 'bars' }, out.bars.length);
    this.metrics.out.inc({ kind: 'late' }, out.late.length);
    this.metrics.late.inc(out.late.length);
    this.metrics.duplicates.inc(out.duplicates);
    for (const r of out.rejected) this.metrics.dlq.inc({ reason: r.reason });
  }

  /**
   * The partition's state as of `firstOffset`: the live one if it lines up, else rebuilt from the checkpoint the
   * committed offset points at, plus a suppressed replay of the records between that checkpoint and `firstOffset`.
   */
  private async ensureState(partition: number, firstOffset: string): Promise<OwnedPartition> {
    const live = this.owned.get(partition);
    if (live && live.pipeline.nextOffset === firstOffset) return live;
    this.metrics.recoveries.inc();
    const started = Date.now();
    const ref = await this.committedCheckpoint(partition);
    let pipeline: PartitionPipeline;
    if (ref) {
      let snapshot: PipelineSnapshot | undefined;
      await readPartitionRange(
        this.opts.kafka,
        { topic: this.topics.state, partition, from: BigInt(ref.o), to: BigInt(ref.o) + 1n },
        (m) => (snapshot = JSON.parse(gunzipSync(m.value!).toString('utf8')) as PipelineSnapshot),
      );
      if (!snapshot) throw new Error(`checkpoint ${ref.o} of partition ${partition} not found`);
      pipeline = PartitionPipeline.restore(this.pipelineOptions, snapshot);
    } else {
      pipeline = PartitionPipeline.create(this.pipelineOptions, firstOffset);
    }
    const from = BigInt(pipeline.nextOffset);
    const to = BigInt(firstOffset);
    const sink = emptyOutputs();
    const replayed = await readPartitionRange(this.opts.kafka, { topic: this.topics.raw, partition, from, to }, (m) => {
      pipeline.process(
        {
          key: m.key ? m.key.toString('utf8') : null,
          value: m.value,
          offset: m.offset,
          timestampMs: Number(m.timestamp),
        },
        this.opts.reference.symbols,
        0,
        sink,
      );
      // Outputs of replayed records were committed before: discard them.
      sink.enriched.length = sink.bars.length = sink.late.length = sink.rejected.length = 0;
    });
    pipeline.nextOffset = firstOffset;
    this.metrics.replayed.inc(replayed);
    // lastCheckpointAt 0: checkpoint in the first transaction, so the next recovery replays little.
    const owned: OwnedPartition = { pipeline, checkpoint: ref, lastCheckpointAt: 0 };
    this.owned.set(partition, owned);
    this.metrics.owned.set(this.owned.size);
    this.opts.log.info('partition state ready', {
      partition,
      checkpoint: ref?.n ?? null,
      replayed,
      firstOffset,
      ms: Date.now() - started,
    });
    return owned;
  }

  private async committedCheckpoint(partition: number): Promise<CheckpointRef | undefined> {
    const admin = this.opts.kafka.admin();
    await admin.connect();
    try {
      const [entry] = await admin.fetchOffsets({
        groupId: this.opts.config.processor.groupId,
        topics: [this.topics.raw],
      });
      const p = entry?.partitions.find((x) => x.partition === partition);
      if (!p?.metadata) return undefined;
      return JSON.parse(p.metadata) as CheckpointRef;
    } finally {
      await admin.disconnect();
    }
  }
}

/** Splits outputs into requests of at most `maxBytes` of values each (a single larger record goes alone). */
function chunkTopicMessages(
  topicMessages: Array<{ topic: string; messages: Message[] }>,
  maxBytes: number,
): Array<Array<{ topic: string; messages: Message[] }>> {
  const requests: Array<Array<{ topic: string; messages: Message[] }>> = [];
  let current: Array<{ topic: string; messages: Message[] }> = [];
  let size = 0;
  for (const { topic, messages } of topicMessages) {
    let run: Message[] = [];
    for (const m of messages) {
      const bytes = typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0);
      if (size + bytes > maxBytes && (run.length || current.length)) {
        if (run.length) current.push({ topic, messages: run });
        requests.push(current);
        current = [];
        run = [];
        size = 0;
      }
      run.push(m);
      size += bytes;
    }
    if (run.length) current.push({ topic, messages: run });
  }
  if (current.length) requests.push(current);
  return requests;
}
