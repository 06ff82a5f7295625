import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { anomalyModelSchema, type AnomalyModel } from '../../core/schemas/model.ts';
import type { Logger } from '../../infra/logger.ts';

/**
 * The latest anomaly model per symbol, from the compacted `models` topic: read from the beginning before `start`
 * returns, and tailed after, so a version published while the speed layer runs is scored with from the next bar
 * (no restart). A record that does not parse is logged, counted and skipped: the symbol keeps the model it had.
 */
export interface ModelCacheEvents {
  /** A model became the symbol's current one. */
  loaded?: (model: AnomalyModel) => void;
  invalid?: (reason: string) => void;
}

export class ModelCache {
  private readonly map = new Map<string, AnomalyModel>();
  private consumer?: Consumer;
  private admin?: Admin;
  private readonly position = new Map<number, bigint>();
  private readonly groupId = `ticklake-models-${randomBytes(6).toString('hex')}`;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly events: ModelCacheEvents = {},
  ) {}

  get(symbol: string): AnomalyModel | undefined {
    return this.map.get(symbol);
  }

  get size(): number {
    return this.map.size;
  }

  versions(): Record<string, string> {
    return Object.fromEntries([...this.map].map(([s, m]) => [s, m.version]));
  }

  async start(timeoutMs = 30_000): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.consumer = this.kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        this.position.set(partition, BigInt(message.offset) + 1n);
        const key = message.key?.toString();
        if (!message.value) {
          if (key) this.map.delete(key);
          return;
        }
        try {
          const model = anomalyModelSchema.parse(JSON.parse(message.value.toString('utf8')));
          if (key !== undefined && key !== model.symbol) throw new Error(`key ${key} but symbol ${model.symbol}`);
          this.map.set(model.symbol, model);
          this.events.loaded?.(model);
        } catch (err) {
          const reason = (err as Error).message;
          this.events.invalid?.(reason);
          this.log.warn('ignoring invalid model record', { offset: message.offset, key, error: reason.slice(0, 300) });
        }
      },
    });
    await this.catchUp(timeoutMs);
  }

  /** Waits (bounded) until everything in the topic now has been applied. Returns false on timeout. */
  async catchUp(timeoutMs: number): Promise<boolean> {
    if (!this.admin) return true;
    const deadline = Date.now() + timeoutMs;
    let ends: Array<{ partition: number; high: string; low: string }>;
    for (;;) {
      try {
        ends = await this.admin.fetchTopicOffsets(this.topic);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
    for (;;) {
      const behind = ends.some((e) => BigInt(e.high) > (this.position.get(e.partition) ?? BigInt(e.low)));
      if (!behind) return true;
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => {});
    await this.admin?.deleteGroups([this.groupId]).catch(() => {});
    await this.admin?.disconnect().catch(() => {});
  }
}

/** Publishes models to the compacted topic (key = symbol) and waits for the acknowledgement. */
export async function publishModels(producer: Producer, topic: string, models: readonly AnomalyModel[]): Promise<void> {
  for (let i = 0; i < models.length; i += 500) {
    await producer.send({
      topic,
      acks: -1,
      messages: models.slice(i, i + 500).map((m) => ({ key: m.symbol, value: JSON.stringify(m) })),
    });
  }
}
