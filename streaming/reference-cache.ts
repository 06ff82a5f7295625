import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../infra/logger.ts';
import { CompactedTopicMap } from './kafka/compacted-topic-map.ts';
import { referenceSymbolSchema, type ReferenceSymbol } from '../core/schemas/reference.ts';

/**
 * The symbol master as a live map: the shipped file, overlaid by the compacted `reference.symbols` topic, which
 * is read to its end before `start` returns and tailed after. `catchUp` lets a caller that meets an unknown
 * symbol first make sure it is not merely behind the topic (ingest publishes new symbols before their ticks).
 */
export class ReferenceCache extends CompactedTopicMap<ReferenceSymbol> {
  constructor(kafka: Kafka, topic: string, shipped: readonly ReferenceSymbol[], log: Logger) {
    super(kafka, topic, log, {
      what: 'reference',
      initial: shipped.map((r) => [r.symbol, r]),
      parse: (value) => {
        const row = referenceSymbolSchema.parse(JSON.parse(value.toString('utf8')));
        return { key: row.symbol, value: row };
      },
    });
  }

  get symbols(): ReadonlyMap<string, ReferenceSymbol> {
    return this.entries;
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
