import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import type { Logger } from '../infra/logger.ts';
import { referenceSymbolSchema, type ReferenceSymbol } from '../core/schemas/reference.ts';

/**
 * The symbol master as a live map: the shipped file, overlaid by the compacted `reference.symbols` topic, which
 * is read to its end before `start` returns and tailed after. `catchUp` lets a caller that meets an unknown
 * symbol first make sure it is not merely behind the topic (ingest publishes new symbols before their ticks).
 */
export class ReferenceCache {
  private readonly map: Map<string, ReferenceSymbol>;
  private consumer?: Consumer;
  private admin?: Admin;
  private readonly position = new Map<number, bigint>();
  private readonly groupId = `ticklake-reference-${randomBytes(6).toString('hex')}`;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    shipped: readonly ReferenceSymbol[],
    private readonly log: Logger,
  ) {
    this.map = new Map(shipped.map((r) => [r.symbol, r]));
  }

  get symbols(): ReadonlyMap<string, ReferenceSymbol> {
    return this.map;
  }

  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.consumer = this.kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        this.position.set(partition, BigInt(message.offset) + 1n);
        if (!message.value) {
          if (message.key) this.map.delete(message.key.toString());
          return;
        }
        try {
          const row = referenceSymbolSchema.parse(JSON.parse(message.value.toString('utf8')));
          this.map.set(row.symbol, row);
        } catch (err) {
          this.log.warn('ignoring invalid reference record', { offset: message.offset, error: (err as Error).message });
        }
      },
    });
    await this.catchUp(30_000);
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
        // A leader election in progress (e.g. a topic created a moment ago): transient.
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

/** Publishes symbols to the compacted topic (key = symbol) and waits for the acknowledgement. */
export async function publishReference(
  producer: Producer,
  topic: string,
  rows: readonly ReferenceSymbol[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) {
    await producer.send({
      topic,
      acks: -1,
      messages: rows.slice(i, i + 5000).map((r) => ({ key: r.symbol, value: JSON.stringify(r) })),
    });
  }
}
