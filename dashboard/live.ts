import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { z } from 'zod';
import type { Config } from '../core/config.ts';
import { alertSchema, type Alert } from '../core/schemas/alert.ts';
import { barSchema, type Bar } from '../core/schemas/bar.ts';
import { dlqRecordSchema } from '../core/schemas/dlq.ts';
import { enrichedTickSchema } from '../core/schemas/enriched.ts';
import { lateTickSchema } from '../core/schemas/late.ts';
import { topicName, type TopicKey } from '../core/topics.ts';
import type { DependencySignal } from '../infra/health.ts';
import type { Logger } from '../infra/logger.ts';

/**
 * The dashboard's one Kafka consumer: bars, alerts, enriched ticks, dead letters and late ticks, in a consumer
 * group of its own per server instance (so every instance sees every partition), starting at the end of each
 * topic. Every browser is served from what this consumer reads (the SSE fan-out in sse.ts): the number of open
 * dashboards never changes what Kafka serves. It commits nothing: history comes from the lake, not from offsets.
 * A record that does not parse is counted and skipped; nothing a producer writes can stop the consumer.
 */
export interface LiveHandlers {
  bar(bar: Bar): void;
  alert(alert: Alert): void;
  trade(symbol: string, price: number, tsUs: number, source: string): void;
  quote(source: string): void;
  deadLetter(reason: string): void;
  late(): void;
  invalid(topic: string): void;
}

const TOPICS = ['bars', 'alerts', 'enriched', 'dlq', 'late'] as const satisfies readonly TopicKey[];

export class LiveFeed {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly names: Record<(typeof TOPICS)[number], string>;
  readonly groupId: string;

  constructor(
    kafka: Kafka,
    config: Config,
    private readonly handlers: LiveHandlers,
    private readonly log: Logger,
    private readonly kafkaHealth?: DependencySignal,
  ) {
    this.names = Object.fromEntries(TOPICS.map((t) => [t, topicName(config, t)])) as typeof this.names;
    this.groupId = `${config.topics.prefix}${config.dashboard.groupPrefix}-${randomBytes(4).toString('hex')}`;
    this.consumer = kafka.consumer({ groupId: this.groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    this.admin = kafka.admin();
  }

  /** Resolves once the group is joined and every partition is positioned at its end (records after this are seen). */
  async start(timeoutMs = 60_000): Promise<void> {
    await this.admin.connect();
    await this.consumer.connect();
    let joined!: () => void;
    let failed!: (err: Error) => void;
    const positioned = new Promise<void>((resolve, reject) => ((joined = resolve), (failed = reject)));
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      void this.seekToEnd(payload.memberAssignment).then(joined, (err: Error) => failed(err));
    });
    this.consumer.on(this.consumer.events.FETCH, () => this.kafkaHealth?.ok());
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.kafkaHealth?.failed(payload.error);
      this.log.warn('dashboard consumer crashed; kafkajs restarts it', { error: payload.error.message });
    });
    await this.consumer.subscribe({ topics: Object.values(this.names), fromBeginning: false });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, message }) => this.handle(topic, message.value),
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      positioned,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`dashboard consumer did not join within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    this.kafkaHealth?.ok();
  }

  private async seekToEnd(assignment: Record<string, number[]>): Promise<void> {
    for (const [topic, partitions] of Object.entries(assignment)) {
      const ends = await this.admin.fetchTopicOffsets(topic);
      for (const p of partitions) {
        const high = ends.find((e) => e.partition === p)?.high;
        if (high !== undefined) this.consumer.seek({ topic, partition: p, offset: high });
      }
    }
  }

  private parse<S extends z.ZodType>(topic: string, schema: S, value: Buffer | null): z.infer<S> | undefined {
    if (!value) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(value.toString('utf8'));
    } catch {
      this.handlers.invalid(topic);
      return undefined;
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      this.handlers.invalid(topic);
      return undefined;
    }
    return r.data as z.infer<S>;
  }

  private handle(topic: string, value: Buffer | null): void {
    const n = this.names;
    const h = this.handlers;
    if (topic === n.enriched) {
      const t = this.parse(topic, enrichedTickSchema, value);
      if (!t) return;
      if (t.type === 'trade') h.trade(t.symbol, t.price, t.ts, t.source);
      else h.quote(t.source);
    } else if (topic === n.bars) {
      const b = this.parse(topic, barSchema, value);
      if (b) h.bar(b);
    } else if (topic === n.alerts) {
      const a = this.parse(topic, alertSchema, value);
      if (a) h.alert(a);
    } else if (topic === n.dlq) {
      const d = this.parse(topic, dlqRecordSchema, value);
      if (d) h.deadLetter(d.reason);
    } else if (topic === n.late) {
      if (this.parse(topic, lateTickSchema, value)) h.late();
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }
}
