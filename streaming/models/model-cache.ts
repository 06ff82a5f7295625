import type { Kafka, Producer } from 'kafkajs';
import { anomalyModelSchema, type AnomalyModel } from '../../core/schemas/model.ts';
import type { Logger } from '../../infra/logger.ts';
import { CompactedTopicMap } from '../kafka/compacted-topic-map.ts';

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

export class ModelCache extends CompactedTopicMap<AnomalyModel> {
  constructor(kafka: Kafka, topic: string, log: Logger, events: ModelCacheEvents = {}) {
    super(kafka, topic, log, {
      what: 'model',
      parse: (value, key) => {
        const model = anomalyModelSchema.parse(JSON.parse(value.toString('utf8')));
        if (key !== undefined && key !== model.symbol) throw new Error(`key ${key} but symbol ${model.symbol}`);
        return { key: model.symbol, value: model };
      },
      applied: events.loaded,
      invalid: events.invalid,
    });
  }

  get(symbol: string): AnomalyModel | undefined {
    return this.entries.get(symbol);
  }

  get size(): number {
    return this.entries.size;
  }

  versions(): Record<string, string> {
    return Object.fromEntries([...this.entries].map(([s, m]) => [s, m.version]));
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
