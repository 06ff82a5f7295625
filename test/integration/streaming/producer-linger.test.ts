import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { TickProducer } from '../../../streaming/producer.ts';
import { ensureTopics, topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix } from '../../support/kafka.ts';

/**
 * TickProducer on the real broker at a trickle: a record that arrives while the buffer is empty leaves within
 * about `lingerMs`, not when the batch fills or the next heartbeat flushes (which made ticks wait up to a second
 * at the demo's rate; docs/BENCHMARKS.md "Tick → webhook").
 */
const prefix = `${uniqueName('linger')}.`;
const config = loadConfig({
  env: { TICKLAKE_TOPICS_PREFIX: prefix, TICKLAKE_TOPICS_PARTITIONS: '1' },
  profile: testStackProfile(),
});
const kafka = kafkaClient(config, 'test-linger');
const topic = topicName(config, 'raw');

describe('TickProducer linger', () => {
  let producer: TickProducer;
  beforeAll(async () => {
    await ensureTopics(kafka, config);
    producer = new TickProducer(kafka, {
      topic,
      maxBufferedRecords: 1000,
      batchSize: 10_000,
      lingerMs: 20,
      compression: 'none',
      log: createLogger({ test: 'linger' }, 'warn'),
    });
    await producer.connect();
  }, 60_000);

  afterAll(async () => {
    await producer?.close();
    await deleteTopicsWithPrefix(kafka, prefix);
  });

  it('sends a lone record within linger, batch far from full and no heartbeat', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const high = async () => Number((await admin.fetchTopicOffsets(topic))[0]!.high);
    try {
      // Several lone records, each after the previous one left: every one starts from an empty buffer.
      for (let i = 0; i < 5; i++) {
        const before = await high();
        const t0 = performance.now();
        await producer.send([{ key: 'AAPL', value: `{"i":${i}}` }]);
        while ((await high()) === before) {
          expect(performance.now() - t0).toBeLessThan(400);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    } finally {
      await admin.disconnect();
    }
  }, 30_000);
});
