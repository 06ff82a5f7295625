import type { Consumer, Kafka } from 'kafkajs';
import type { Config } from '../../core/config.ts';
import { alertSchema, type Alert } from '../../core/schemas/alert.ts';
import { topicName } from '../../core/topics.ts';
import type { Logger } from '../../infra/logger.ts';
import type { WebhookDispatcher } from './dispatcher.ts';

/**
 * `ticklake webhooks`: the `alerts` topic (read_committed, so only alerts whose transaction committed) into a
 * WebhookDispatcher. A batch's offset is committed only after the dispatcher has recorded its deliveries, so
 * an alert is either recorded (and resumed after a crash) or consumed again.
 */
export class AlertConsumer {
  private readonly consumer: Consumer;
  private readonly topic: string;
  readonly groupId: string;

  constructor(
    kafka: Kafka,
    config: Config,
    private readonly dispatcher: WebhookDispatcher,
    private readonly log: Logger,
    onCrash: (err: Error) => void,
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
        await this.dispatcher.submit(alerts);
        await this.consumer.commitOffsets([
          { topic: this.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
        ]);
      },
    });
  }

  async stop(): Promise<void> {
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
