import type { Kafka, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Config } from '../../core/config.ts';
import { retryWithBackoff } from '../../core/retry.ts';
import { topicName } from '../../core/topics.ts';
import {
  deliveryKey,
  deliveryStateSchema,
  type DeliveryState,
  type WebhookDeadLetter,
} from '../../core/schemas/webhook.ts';
import type { Logger } from '../../infra/logger.ts';
import { readPartitionRange } from '../kafka/range-reader.ts';

const { CompressionTypes } = kafkajs;

/** Where the dispatcher keeps deliveries that are not finished, and its dead letters. */
export interface DeliveryStore {
  /** Everything unfinished, as of the last write before the previous process stopped. */
  load(): Promise<DeliveryState[]>;
  /** Records (or updates) deliveries; resolves once durable. */
  put(records: readonly DeliveryState[]): Promise<void>;
  /** Marks deliveries finished. */
  finish(keys: readonly { endpoint: string; webhookId: string }[]): Promise<void>;
  /** Writes dead letters; resolves once durable (callers finish the delivery only after that). */
  deadLetter(letters: readonly WebhookDeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

type Write = { topic: string; key: string; value: string | null };

/**
 * The store on Kafka: `webhooks.state` (compacted, one partition) and `webhooks.dlq`. All writes go through one
 * ordered pipeline — one send in flight, writes arriving meanwhile batched into the next — so a delivery's
 * tombstone can never overtake its pending record, and a burst of alerts costs one round trip, not one each.
 */
export class KafkaDeliveryStore implements DeliveryStore {
  private readonly producer: Producer;
  private readonly stateTopic: string;
  private readonly dlqTopic: string;
  private queue: Array<{ writes: Write[]; done: () => void; fail: (e: unknown) => void }> = [];
  private sending = false;
  private connected: Promise<void> | null = null;
  /** State keys with a record sent (or being sent) and no tombstone yet. */
  private readonly written = new Set<string>();

  constructor(
    private readonly kafka: Kafka,
    config: Config,
    private readonly log: Logger,
    /**
     * How long writes wait to be batched. A delivery that succeeds within it is never written at all (its record
     * and tombstone cancel out); only `submit`'s resolution waits for it, never an attempt.
     */
    private readonly lingerMs = 5,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.stateTopic = topicName(config, 'webhooksState');
    this.dlqTopic = topicName(config, 'webhooksDlq');
  }

  private connect(): Promise<void> {
    this.connected ??= this.producer.connect();
    return this.connected;
  }

  async load(): Promise<DeliveryState[]> {
    await this.connect();
    // Retried: a topic created a moment ago may still answer "not the leader" while its partition loads.
    const range = await retryWithBackoff(
      async () => {
        const admin = this.kafka.admin();
        await admin.connect();
        try {
          return (await admin.fetchTopicOffsets(this.stateTopic)).find((p) => p.partition === 0);
        } finally {
          await admin.disconnect();
        }
      },
      {
        backoff: { initialMs: 100, maxMs: 2_000, multiplier: 2, jitter: 0.3 },
        giveUp: (_err, attempt) => attempt >= 10,
      },
    );
    const latest = new Map<string, DeliveryState>();
    if (!range) return [];
    await readPartitionRange(
      this.kafka,
      { topic: this.stateTopic, partition: 0, from: BigInt(range.low), to: BigInt(range.high) },
      (m) => {
        const key = m.key?.toString() ?? '';
        if (!m.value) {
          latest.delete(key);
          return;
        }
        const parsed = deliveryStateSchema.safeParse(safeJson(m.value.toString()));
        // A record we cannot read is a bug or a foreign writer: say so, never crash on it.
        if (!parsed.success) this.log.error('unreadable webhook delivery state, ignored', { key, offset: m.offset });
        else latest.set(key, parsed.data);
      },
    );
    // Each of them has a record in the topic, so finishing it needs a tombstone.
    for (const key of latest.keys()) this.written.add(key);
    return [...latest.values()];
  }

  put(records: readonly DeliveryState[]): Promise<void> {
    return this.write(
      records.map((r) => ({
        topic: this.stateTopic,
        key: deliveryKey(r.endpoint, r.webhookId),
        value: JSON.stringify(r),
      })),
    );
  }

  finish(keys: readonly { endpoint: string; webhookId: string }[]): Promise<void> {
    const tombstones: Write[] = [];
    for (const k of keys) {
      const key = deliveryKey(k.endpoint, k.webhookId);
      // Records of this delivery not sent yet need not be: it is finished.
      for (const group of this.queue) {
        group.writes = group.writes.filter((w) => w.topic !== this.stateTopic || w.key !== key || w.value === null);
      }
      // Only a delivery that has a record in the topic needs a tombstone.
      if (this.written.has(key)) tombstones.push({ topic: this.stateTopic, key, value: null });
    }
    return this.write(tombstones);
  }

  deadLetter(letters: readonly WebhookDeadLetter[]): Promise<void> {
    return this.write(letters.map((l) => ({ topic: this.dlqTopic, key: l.endpoint ?? '', value: JSON.stringify(l) })));
  }

  private write(writes: Write[]): Promise<void> {
    if (!writes.length) return Promise.resolve();
    return new Promise<void>((done, fail) => {
      this.queue.push({ writes, done, fail });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length) {
        if (this.lingerMs > 0) await new Promise((r) => setTimeout(r, this.lingerMs));
        const batch = this.queue;
        this.queue = [];
        const byTopic = new Map<string, Array<{ key: string; value: string | null }>>();
        for (const w of batch.flatMap((b) => b.writes)) {
          if (w.topic === this.stateTopic) {
            if (w.value === null) this.written.delete(w.key);
            else this.written.add(w.key);
          }
          let list = byTopic.get(w.topic);
          if (!list) byTopic.set(w.topic, (list = []));
          list.push({ key: w.key, value: w.value });
        }
        if (!byTopic.size) {
          for (const b of batch) b.done();
          continue;
        }
        try {
          await this.connect();
          await this.producer.sendBatch({
            acks: -1,
            compression: CompressionTypes.None,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          });
          for (const b of batch) b.done();
        } catch (err) {
          for (const b of batch) b.fail(err);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  async close(): Promise<void> {
    while (this.sending || this.queue.length) await new Promise((r) => setTimeout(r, 10));
    if (this.connected) await this.producer.disconnect();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
