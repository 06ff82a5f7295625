import type { Consumer, Kafka } from 'kafkajs';
import type { Config } from '../../core/config.ts';
import { alertSchema, type Alert } from '../../core/schemas/alert.ts';
import { topicName } from '../../core/topics.ts';
import type { Logger } from '../../infra/logger.ts';
import type { WebhookDispatcher } from './dispatcher.ts';

/** Batches handed to the dispatcher and not yet recorded before fetching waits for them (bounds memory). */
const MAX_UNRECORDED_BATCHES = 64;

/**
 * `ticklake webhooks`: the `alerts` topic (read_committed, so only alerts whose transaction committed) into a
 * WebhookDispatcher. A batch's offset is committed only after the dispatcher has recorded its deliveries, so
 * an alert is either recorded (and resumed after a crash) or consumed again.
 */
export class AlertConsumer {
  private readonly consumer: Consumer;
  private readonly topic: string;
  readonly groupId: string;
  /** Per partition, the commit of the latest batch (chained after every earlier one). */
  private readonly commits = new Map<number, Promise<void>>();
  private unrecorded = 0;
  private broken: Error | null = null;

  constructor(
    kafka: Kafka,
    config: Config,
    private readonly dispatcher: WebhookDispatcher,
    private readonly log: Logger,
    private readonly onCrash: (err: Error) => void,
  ) {
    this.topic = topicName(config, 'alerts');
    this.groupId = `${config.topics.prefix}${config.webhooks.groupId}`;
    this.consumer = kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      // A quiet topic answers a fetch as soon as one alert lands; this bounds only the empty polls.
      maxWaitTimeInMs: 100,
      retry: { retries: 10 },
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (!e.payload.restart) onCrash(e.payload.error);
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    // A new group starts at the beginning of the topic's retention: no alert produced before it existed is skipped.
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: async ({ batch }) => {
        const alerts: Alert[] = [];
        for (const m of batch.messages) {
          const parsed = m.value ? alertSchema.safeParse(safeJson(m.value.toString())) : null;
          if (parsed?.success) {
            alerts.push(parsed.data);
            continue;
          }
          const detail = `${this.topic}[${batch.partition}]@${m.offset}: ${
            parsed
              ? parsed.error.issues.map((i) => `${i.path.join('.') || '<value>'}: ${i.message}`).join('; ')
              : 'empty value'
          }`;
          this.log.warn('not an alert; dead-lettered', { detail });
          await this.dispatcher.rejectInput(m.value, detail);
        }
        // Not awaited here: the next fetch starts while this batch is being recorded (its first attempts are already
        // out). Offsets are committed in order, each once its batch — and so every batch before it — is recorded.
        const recorded = this.dispatcher.submit(alerts);
        const offset = (BigInt(batch.lastOffset()) + 1n).toString();
        const p = batch.partition;
        const prev = this.commits.get(p) ?? Promise.resolve();
        const next = prev.then(() =>
          recorded.then(
            () => {
              // After a batch failed to record, no later offset may be committed: that would skip it.
              if (this.broken) return;
              return this.consumer.commitOffsets([{ topic: this.topic, partition: p, offset }]).catch((err: Error) =>
                // A later batch's commit covers this offset; until then a restart re-reads it (at least once).
                this.log.warn('alerts offset commit failed', { partition: p, error: err.message }),
              );
            },
            (err: Error) => {
              this.log.error('alerts batch not recorded; its offset is not committed', {
                partition: p,
                error: err.message,
              });
              if (!this.broken) {
                this.broken = err;
                this.onCrash(err);
              }
            },
          ),
        );
        this.commits.set(p, next);
        if (++this.unrecorded > MAX_UNRECORDED_BATCHES) await next;
        void next.finally(() => this.unrecorded--);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    await Promise.all(this.commits.values());
    await this.consumer.disconnect();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
