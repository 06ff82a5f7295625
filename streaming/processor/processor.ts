import { gunzipSync, gzipSync } from 'node:zlib';
import type { Admin, Kafka, Transaction } from 'kafkajs';
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
import { ExactlyOnceLoop, type BatchOutput, type InputMessage } from '../kafka/exactly-once-loop.ts';
import { readPartitionRange } from '../kafka/range-reader.ts';
import type { ReferenceCache } from '../reference-cache.ts';
import { topicName } from '../topics.ts';
import { createProcessorMetrics } from './metrics.ts';
import { outputMessages } from './outputs.ts';

/**
 * `ticklake process`: consume `ticks.raw`, run each partition's PartitionPipeline, and write enriched ticks, bars,
 * late ticks and dead letters in ONE Kafka transaction per fetched batch (the ExactlyOnceLoop), with the offset and —
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
  private readonly loop: ExactlyOnceLoop;
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
    this.metrics = createProcessorMetrics(opts.registry);
    this.dlqShare = new DlqShareMonitor({ warnShare: p.dlqWarnShare });
    this.loop = new ExactlyOnceLoop({
      kafka,
      groupId: p.groupId,
      inputTopic: this.topics.raw,
      log: opts.log,
      onFatal: opts.onFatal,
      concurrentPartitions: p.concurrentPartitions,
      batchTimer: () => this.metrics.batch.startTimer(),
      handler: {
        process: (partition, messages) => this.processBatch(partition, messages),
        // The transaction aborted, so the in-memory state ran ahead of what Kafka has: drop it and rebuild.
        failed: (partition) => this.owned.delete(partition),
        // State is trusted only while offsets line up (ensureState); forget what we no longer own.
        assigned: (mine) => {
          for (const q of [...this.owned.keys()]) if (!mine.has(q)) this.owned.delete(q);
          this.metrics.owned.set(this.owned.size);
        },
      },
    });
  }

  async start(): Promise<void> {
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await (await this.adminClient?.catch(() => undefined))?.disconnect().catch(() => {});
  }

  private async processBatch(partition: number, messages: InputMessage[]): Promise<BatchOutput> {
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
    return this.outputsOf(partition, owned, out, messages.length);
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

  /** The batch's outputs, and at most every `snapshotIntervalMs` a checkpoint the committed offset points at. */
  private outputsOf(partition: number, owned: OwnedPartition, out: PipelineOutputs, records: number): BatchOutput {
    const due =
      !owned.checkpoint || Date.now() - owned.lastCheckpointAt >= this.opts.config.processor.snapshotIntervalMs;
    let checkpoint = owned.checkpoint;
    return {
      topicMessages: outputMessages(out, this.topics, partition, nowUs()),
      beforeOffsets: async (tx: Transaction) => {
        if (due) {
          const snap = owned.pipeline.snapshot();
          const [meta] = await tx.send({
            topic: this.topics.state,
            acks: -1,
            messages: [{ key: String(partition), value: gzipSync(JSON.stringify(snap)), partition }],
          });
          checkpoint = { o: meta!.baseOffset!, n: snap.nextOffset };
        }
        return JSON.stringify(checkpoint);
      },
      committed: () => {
        if (due) {
          owned.checkpoint = checkpoint;
          owned.lastCheckpointAt = Date.now();
        }
        this.metrics.out.inc({ kind: 'enriched' }, out.enriched.length);
        this.metrics.out.inc({ kind: 'bars' }, out.bars.length);
        this.metrics.out.inc({ kind: 'late' }, out.late.length);
        this.metrics.late.inc(out.late.length);
        this.metrics.duplicates.inc(out.duplicates);
        for (const r of out.rejected) this.metrics.dlq.inc({ reason: r.reason });
        this.metrics.records.inc(records);
        this.watchOutputs(records, out);
      },
    };
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
