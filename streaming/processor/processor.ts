import { gunzipSync, gzipSync } from 'node:zlib';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Config } from '../../core/config.ts';
import { DlqShareMonitor } from '../../core/dlq-share.ts';
import { TickLakeError } from '../../core/errors.ts';
import type { Logger } from '../../infra/logger.ts';
import {
  checkpointRefSchema,
  emptyOutputs,
  PartitionPipeline,
  pipelineOptionsFrom,
  type CheckpointRef,
  type PipelineOptions,
  type PipelineOutputs,
  type RawRecord,
} from '../../core/pipeline.ts';
import { HEARTBEAT_KEY } from '../../core/schemas/heartbeat.ts';
import { nowUs } from '../../core/schemas/tick.ts';
import { chunkTopicMessages } from '../kafka/chunk-messages.ts';
import { readPartitionRange } from '../kafka/range-reader.ts';
import type { ReferenceCache } from '../reference-cache.ts';
import { MAX_BATCH_BYTES, topicName } from '../topics.ts';
import { createProcessorMetrics } from './metrics.ts';
import { outputMessages } from './outputs.ts';
import { PartitionProducers } from './partition-producers.ts';

/**
 * `ticklake process`: consume `ticks.raw`, run each partition's PartitionPipeline, and write enriched ticks, bars,
 * late ticks and dead letters in ONE Kafka transaction per fetched batch, together with the consumer offset and —
 * at most every `snapshotIntervalMs` — a checkpoint of the partition's state (`processor.state`). The committed
 * offset's metadata points at the latest checkpoint, so whoever owns the partition next (this instance after a
 * restart, or another after a rebalance) loads that checkpoint and replays the few records between it and the
 * committed offset with outputs suppressed: the state is exactly what it was, and nothing is counted twice.
 */

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
  /** Names this instance in logs and metrics. Fencing is per partition (see PartitionProducers), not per instance. */
  instanceId: string;
  /** Called when the consumer stops for good (kafkajs gave up); the process should exit and be restarted. */
  onFatal?: (err: Error) => void;
}

export class StreamProcessor {
  private readonly consumer: Consumer;
  private readonly producers: PartitionProducers;
  private adminClient?: Promise<Admin>;
  private readonly owned = new Map<number, OwnedPartition>();
  private readonly topics;
  private readonly pipelineOptions: PipelineOptions;
  private readonly metrics;
  private readonly dlqShare: DlqShareMonitor;
  /** Symbols met that the symbol master lacks: the reference topic is caught up once for each, then they pass. */
  private readonly unregistered = new Set<string>();
  /** Unknown symbols already announced in the log (the first 100). */
  private readonly reported = new Set<string>();
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
    this.producers = new PartitionProducers(kafka, `${p.groupId}-${this.topics.raw}`, opts.log);
    this.metrics = createProcessorMetrics(opts.registry);
    this.dlqShare = new DlqShareMonitor({ warnShare: p.dlqWarnShare });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    // A rebalance may have handed our partitions to someone else: state is trusted only while offsets line up,
    // see ensureState. Forget everything on each join to keep memory to what we own.
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const mine = new Set((e.payload.memberAssignment[this.topics.raw] ?? []).map((p: number) => p));
      for (const p of [...this.owned.keys()]) if (!mine.has(p)) this.owned.delete(p);
      void this.producers.assigned(mine);
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
    await this.producers.close();
    await (await this.adminClient?.catch(() => undefined))?.disconnect().catch(() => {});
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
    for (const m of messages) {
      const record: RawRecord = {
        key: m.key ? m.key.toString('utf8') : null,
        value: m.value,
        offset: m.offset,
        timestampMs: Number(m.timestamp),
      };
      // The key is the symbol: one not in the master may only mean we are behind the reference topic (ingest
      // publishes symbols before their ticks). Catch up once per such symbol before judging its tick.
      const key = record.key;
      if (key && key !== HEARTBEAT_KEY && !reference.has(key) && !this.unregistered.has(key)) {
        await this.opts.reference.catchUp(2_000);
        if (!reference.has(key)) {
          // Bounded: keys of malformed records could be anything.
          if (this.unregistered.size >= 100_000) this.unregistered.clear();
          this.unregistered.add(key);
        }
      }
      owned.pipeline.process(record, reference, processedTs, out);
    }
    await this.commit(partition, owned, out, messages[messages.length - 1]!.offset);
    this.metrics.records.inc(messages.length);
    this.watchOutputs(messages.length, out);
  }

  /** The loud signals: a new unknown symbol, and a window in which much of the input was dead-lettered. */
  private watchOutputs(records: number, out: PipelineOutputs): void {
    let unknown = 0;
    for (const [symbol, n] of out.unknownSymbols) {
      unknown += n;
      if (this.reported.has(symbol) || this.reported.size >= 100) continue;
      this.reported.add(symbol);
      this.opts.log.warn('accepting ticks of a symbol the symbol master lacks (reference fields null)', {
        symbol,
        setting: 'processor.unknownSymbols',
      });
    }
    this.metrics.unknownSymbols.inc(unknown);
    this.metrics.registeredSymbols.set(this.unregistered.size);
    const window = this.dlqShare.add(
      records,
      out.rejected.map((r) => r.reason),
      Date.now(),
    );
    if (!window) return;
    this.metrics.dlqShare.set(window.share);
    if (window.warn) {
      this.opts.log.warn(
        `${(window.share * 100).toFixed(1)}% of input records were dead-lettered (${window.rejected} of ${window.records})`,
        {
          reasons: Object.fromEntries(window.reasons),
          topic: this.topics.dlq,
          hint: window.reasons[0]?.[0] === 'unknown_symbol' ? 'set processor.unknownSymbols=accept' : undefined,
        },
      );
    }
  }

  private async commit(partition: number, owned: OwnedPartition, out: PipelineOutputs, lastOffset: string) {
    const topicMessages = outputMessages(out, this.topics, partition, nowUs());
    const producer = await this.producers.get(partition);
    const tx = await producer.transaction();
    try {
      // Requests of at most half a topic's max.message.bytes (dead letters can carry megabyte originals).
      for (const chunk of chunkTopicMessages(topicMessages, MAX_BATCH_BYTES / 2)) {
        await tx.sendBatch({ acks: -1, topicMessages: chunk });
      }
      let checkpoint = owned.checkpoint;
      const due = !checkpoint || Date.now() - owned.lastCheckpointAt >= this.opts.config.processor.snapshotIntervalMs;
      if (due) {
        const snap = owned.pipeline.snapshot();
        const [meta] = await tx.send({
          topic: this.topics.state,
          acks: -1,
          messages: [{ key: String(partition), value: gzipSync(JSON.stringify(snap)), partition }],
        });
        checkpoint = { o: meta!.baseOffset!, n: snap.nextOffset };
      }
      await tx.sendOffsets({
        consumerGroupId: this.opts.config.processor.groupId,
        topics: [
          {
            topic: this.topics.raw,
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
      await this.producers.failed(partition, err);
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
      let snapshot: unknown;
      await readPartitionRange(
        this.opts.kafka,
        { topic: this.topics.state, partition, from: BigInt(ref.o), to: BigInt(ref.o) + 1n },
        (m) => (snapshot = m.value ? JSON.parse(gunzipSync(m.value).toString('utf8')) : undefined),
      );
      if (snapshot === undefined) {
        throw new TickLakeError('STATE_CORRUPT', `checkpoint ${ref.o} of partition ${partition} not found`, {
          details: { topic: this.topics.state, partition, offset: ref.o },
        });
      }
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

  /**
   * One admin client for the processor's life: connecting one per recovery cost ~0.3 s per partition, paid in
   * sequence by a fresh processor before its first commit of each partition.
   */
  private admin(): Promise<Admin> {
    if (!this.adminClient) {
      const admin = this.opts.kafka.admin();
      this.adminClient = admin.connect().then(() => admin);
      this.adminClient.catch(() => (this.adminClient = undefined));
    }
    return this.adminClient;
  }

  private async committedCheckpoint(partition: number): Promise<CheckpointRef | undefined> {
    const admin = await this.admin();
    const [entry] = await admin.fetchOffsets({
      groupId: this.opts.config.processor.groupId,
      topics: [this.topics.raw],
    });
    const p = entry?.partitions.find((x) => x.partition === partition);
    if (!p?.metadata) return undefined;
    const ref = checkpointRefSchema.safeParse(JSON.parse(p.metadata));
    if (!ref.success) {
      throw new TickLakeError('STATE_CORRUPT', `offset metadata of partition ${partition} is not a checkpoint ref`, {
        details: { metadata: p.metadata, issues: ref.error.issues },
      });
    }
    return ref.data;
  }
}
