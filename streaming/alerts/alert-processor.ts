import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Registry } from 'prom-client';
import { AlertEngine, sourceOwner, type ModelScorer } from '../../core/alerts/engine.ts';
import type { ResolvedRule } from '../../core/alerts/rules.ts';
import { SpeedLayerPartition } from '../../core/alerts/partition.ts';
import type { Config } from '../../core/config.ts';
import { emptyOutputs, PartitionPipeline, pipelineOptionsFrom, type PipelineOptions } from '../../core/pipeline.ts';
import type { Alert } from '../../core/schemas/alert.ts';
import { nowUs } from '../../core/schemas/tick.ts';
import type { Logger } from '../../infra/logger.ts';
import { CheckpointedPartitions } from '../kafka/checkpointed-partitions.ts';
import { ExactlyOnceLoop, type BatchOutput, type InputMessage } from '../kafka/exactly-once-loop.ts';
import { rawRecord } from '../processor/processor.ts';
import type { ReferenceCache } from '../reference-cache.ts';
import { topicName } from '../topics.ts';
import { createAlertMetrics } from './metrics.ts';

/**
 * `ticklake alerts`, the speed layer: consume `ticks.raw`, run each partition through the same pure core as the
 * processor (validate → dedupe → enrich → bars, core/pipeline.ts) and then the alert rules (core/alerts/), and write
 * the alerts to `alerts` in ONE Kafka transaction per fetched batch with the input offset (the ExactlyOnceLoop), so
 * each alert is in the topic once. It reads the raw stream, not `ticks.enriched`, to skip a hop: an enriched tick is
 * visible to a read_committed reader only after the processor's transaction commits (docs/DECISIONS.md §25).
 * State (pipeline + rules) is checkpointed to `alerts.state` like the processor's, so a restart or a rebalance
 * resumes with the same windows, baselines and cooldowns.
 *
 * `deliver`, when given (the embedded WebhookDispatcher's `submit`), gets each batch's alerts as soon as they are
 * evaluated, and the batch commits only once it has resolved (the deliveries durably recorded): the low-latency path
 * to webhooks, without the hop through the `alerts` topic (docs/DECISIONS.md §25). A batch whose transaction aborts is
 * evaluated again and gives the same alerts with the same ids, hence the same `webhook-id`s: delivered at least
 * once, deduplicable by the receiver, never skipped.
 */
export interface AlertProcessorOptions {
  config: Config;
  kafka: Kafka;
  reference: ReferenceCache;
  rules: readonly ResolvedRule[];
  log: Logger;
  registry?: Registry;
  instanceId: string;
  scorers?: Readonly<Record<string, ModelScorer>>;
  /** The input topic's partition count: each source's silence is judged by one partition's engine. */
  partitions: number;
  /** Each batch's alerts as soon as they are evaluated; the batch commits once this resolves (class comment). */
  deliver?: (alerts: readonly Alert[]) => Promise<void>;
  onFatal?: (err: Error) => void;
}

export class AlertProcessor {
  private readonly loop: ExactlyOnceLoop;
  private readonly states: CheckpointedPartitions<SpeedLayerPartition>;
  private readonly pipelineOptions: PipelineOptions;
  private readonly topics;
  private readonly metrics;
  private rules: readonly ResolvedRule[];
  /** Partitions whose engine is live, to swap rules into on a reload. */
  private readonly engines = new Map<number, AlertEngine>();

  constructor(private readonly opts: AlertProcessorOptions) {
    const { config, kafka } = opts;
    this.rules = opts.rules;
    this.topics = {
      raw: topicName(config, 'raw'),
      alerts: topicName(config, 'alerts'),
      state: topicName(config, 'alertsState'),
    };
    this.pipelineOptions = pipelineOptionsFrom(config);
    this.metrics = createAlertMetrics(opts.registry);
    this.states = new CheckpointedPartitions<SpeedLayerPartition>({
      kafka,
      groupId: config.alerts.groupId,
      inputTopic: this.topics.raw,
      stateTopic: this.topics.state,
      snapshotIntervalMs: config.alerts.snapshotIntervalMs,
      log: opts.log,
      metrics: this.metrics,
      factory: {
        create: (partition, nextOffset) =>
          new SpeedLayerPartition(
            PartitionPipeline.create(this.pipelineOptions, nextOffset),
            this.engineFor(partition),
          ),
        restore: (partition, snapshot) => {
          return SpeedLayerPartition.restore(this.pipelineOptions, this.engineFor(partition), snapshot);
        },
        // Outputs of replayed records were committed before: the state moves, the alerts are dropped.
        replay: (state, m: KafkaMessage) => state.apply(rawRecord(m), opts.reference.symbols, 0, []),
      },
    });
    this.loop = new ExactlyOnceLoop({
      kafka,
      groupId: config.alerts.groupId,
      inputTopic: this.topics.raw,
      log: opts.log,
      onFatal: opts.onFatal,
      batchTimer: () => this.metrics.batch.startTimer(),
      handler: {
        process: (partition, messages) => this.processBatch(partition, messages),
        failed: (partition) => {
          this.states.drop(partition);
          this.engines.delete(partition);
        },
        assigned: (mine) => {
          this.states.retain(mine);
          for (const p of [...this.engines.keys()]) if (!mine.has(p)) this.engines.delete(p);
        },
      },
    });
  }

  async start(): Promise<void> {
    // Rules the engines would refuse (a model rule with no scorer registered) fail here, once, not on every batch.
    new AlertEngine(this.rules, { now: nowUs, scorers: this.opts.scorers });
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.states.close();
  }

  /**
   * New rules for every live partition (state kept per rule id, AlertEngine.setRules) and for those recovered
   * later. Throws, changing nothing, when an engine refuses them (e.g. an unknown scorer).
   */
  setRules(rules: readonly ResolvedRule[]): void {
    // Checked on a scratch engine first so a refusal leaves every partition on the old rules.
    new AlertEngine(rules, { now: nowUs, scorers: this.opts.scorers });
    for (const engine of this.engines.values()) engine.setRules(rules);
    this.rules = rules;
  }

  private engineFor(partition: number): AlertEngine {
    const { partitions, scorers } = this.opts;
    const engine = new AlertEngine(this.rules, {
      now: nowUs,
      scorers,
      // Every partition sees every source's heartbeats; one of them speaks for each source's silence.
      ownsSource: (source) => sourceOwner(source, partitions) === partition,
    });
    this.engines.set(partition, engine);
    return engine;
  }

  private async processBatch(partition: number, messages: InputMessage[]): Promise<BatchOutput> {
    const state = await this.states.ensure(partition, messages[0]!.offset);
    const out = emptyOutputs();
    const alerts: Alert[] = [];
    const processedTs = nowUs();
    for (const m of messages) state.apply(rawRecord(m), this.opts.reference.symbols, processedTs, alerts, out);
    if (alerts.length) {
      const now = nowUs();
      for (const a of alerts) this.metrics.evaluationLag.observe(Math.max(0, now - a.ts) / 1e6);
      await this.opts.deliver?.(alerts);
    }
    const checkpoint = this.states.checkpoint(partition);
    return {
      topicMessages: alerts.length
        ? [{ topic: this.topics.alerts, messages: alerts.map((a) => ({ key: a.symbol, value: JSON.stringify(a) })) }]
        : [],
      beforeOffsets: checkpoint.beforeOffsets,
      committed: () => {
        checkpoint.committed();
        this.metrics.records.inc(messages.length);
        for (const a of alerts) this.metrics.alerts.inc({ rule: a.rule, severity: a.severity });
      },
    };
  }
}
