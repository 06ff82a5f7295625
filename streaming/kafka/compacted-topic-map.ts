import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../infra/logger.ts';

export interface CompactedTopicMapOptions<V> {
  /** What the records are, for the consumer group's name and log lines (`reference`, `model`). */
  what: string;
  /** Parses a record's value; throws on anything invalid. The key it returns is the map's key. */
  parse: (value: Buffer, key: string | undefined) => { key: string; value: V };
  /** Entries before the topic's (the shipped symbol master). */
  initial?: Iterable<[string, V]>;
  applied?: (value: V) => void;
  invalid?: (reason: string) => void;
}

/**
 * A compacted topic as a live map, the latest value per key: read to its end before `start` returns and tailed
 * after, on a consumer group of its own that commits nothing (every instance reads the whole topic). A tombstone
 * deletes its key; a record that does not parse is logged, reported and skipped, so the key keeps what it had.
 */
export class CompactedTopicMap<V> {
  private readonly map: Map<string, V>;
  private consumer?: Consumer;
  private admin?: Admin;
  private readonly position = new Map<number, bigint>();
  private readonly groupId: string;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly opts: CompactedTopicMapOptions<V>,
  ) {
    this.map = new Map(opts.initial ?? []);
    this.groupId = `ticklake-${opts.what}-${randomBytes(6).toString('hex')}`;
  }

  get entries(): ReadonlyMap<string, V> {
    return this.map;
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
          if (key !== undefined) this.map.delete(key);
          return;
        }
        try {
          const parsed = this.opts.parse(message.value, key);
          this.map.set(parsed.key, parsed.value);
          this.opts.applied?.(parsed.value);
        } catch (err) {
          const reason = (err as Error).message;
          this.opts.invalid?.(reason);
          this.log.warn(`ignoring invalid ${this.opts.what} record`, {
            offset: message.offset,
            key,
            error: reason.slice(0, 300),
          });
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
