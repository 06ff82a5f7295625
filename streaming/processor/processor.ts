import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Config } from '../../core/config.ts';
import { DlqShareMonitor } from '../../core/dlq-share.ts';
import type { Logger } from '../../infra/logger.ts';
import {
  emptyOutputs,
  PartitionPipeline,
  pipelineOptionsFrom,
  type PipelineOptions,
  type PipelineOutputs,
  type RawRecord,
} from '../../core/pipeline.ts';
import { HEARTBEAT_KEY } from '../../core/schemas/heartbeat.ts';
import { nowUs } from '../../core/schemas/tick.ts';
import { ExactlyOnceLoop, type BatchOutput, type InputMessage } from '../kafka/exactly-once-loop.ts';
import { CheckpointedPartitions } from '../kafka/checkpointed-partitions.ts';
import type { ReferenceCache } from '../reference-cache.ts';
import { topicName } from '../topics.ts';
import { createProcessorMetrics, observeCommitted } from './metrics.ts';
import { outputMessages } from './outputs.ts';

/**
 * `ticklake process`: consume `ticks.raw`, run each partition's PartitionPipeline, and write enriched ticks, bars,
 * late ticks and dead letters in ONE Kafka transaction per fetched batch (the ExactlyOnceLoop), with the offset and —
 * at most every `snapshotIntervalMs` — a checkpoint of the partition's state (`processor.state`). The committed
 * offset's metadata points at the latest checkpoint, so whoever owns the partition next (this instance after a
 * restart, or another after a rebalance) loads that checkpoint and replays the few records between it and the
 * committed offset with outputs suppressed: the state is exactly what it was, and nothing is counted twice.
 */

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
  private readonly states: CheckpointedPartitions<PartitionPipeline>;
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
    this.states = new CheckpointedPartitions({
      kafka,
      groupId: p.groupId,
      inputTopic: this.topics.raw,
      stateTopic: this.topics.state,
      snapshotIntervalMs: p.snapshotIntervalMs,
      log: opts.log,
      metrics: this.metrics,
      factory: {
        create: (_partition, nextOffset) => PartitionPipeline.create(this.pipelineOptions, nextOffset),
        restore: (_partition, snapshot) => PartitionPipeline.restore(this.pipelineOptions, snapshot),
        replay: (pipeline, m) => pipeline.process(rawRecord(m), this.opts.reference.symbols, 0, emptyOutputs()),
      },
    });
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
        failed: (partition) => this.states.drop(partition),
        assigned: (mine) => this.states.retain(mine),
      },
    });
  }

  async start(): Promise<void> {
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.states.close();
  }

  private async processBatch(partition: number, messages: InputMessage[]): Promise<BatchOutput> {
    const firstOffset = messages[0]!.offset;
    const pipeline = await this.states.ensure(partition, firstOffset);
    const out = emptyOutputs();
    const processedTs = nowUs();
    const reference = this.opts.reference.symbols;
    for (const m of messages) {
      const record = rawRecord(m);
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
      pipeline.process(record, reference, processedTs, out);
    }
    return this.outputsOf(partition, out, messages);
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

  /** The batch's outputs, with the checkpoint part (a new checkpoint at most every `snapshotIntervalMs`). */
  private outputsOf(partition: number, out: PipelineOutputs, messages: readonly InputMessage[]): BatchOutput {
    const records = messages.length;
    const checkpoint = this.states.checkpoint(partition);
    return {
      topicMessages: outputMessages(out, this.topics, partition, nowUs()),
      beforeOffsets: checkpoint.beforeOffsets,
      committed: () => {
        checkpoint.committed();
        this.metrics.out.inc({ kind: 'enriched' }, out.enriched.length);
        this.metrics.out.inc({ kind: 'bars' }, out.bars.length);
        this.metrics.out.inc({ kind: 'late' }, out.late.length);
        observeCommitted(this.metrics, messages, out, nowUs());
        this.metrics.duplicates.inc(out.duplicates);
        for (const r of out.rejected) this.metrics.dlq.inc({ reason: r.reason });
        this.metrics.records.inc(records);
        this.watchOutputs(records, out);
      },
    };
  }
}

/** A consumed Kafka message as the pipeline's input record. */
export function rawRecord(m: InputMessage | KafkaMessage): RawRecord {
  return {
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value,
    offset: m.offset,
    timestampMs: Number(m.timestamp),
  };
}
