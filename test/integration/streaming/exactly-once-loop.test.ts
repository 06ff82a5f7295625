import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { ExactlyOnceLoop } from '../../../streaming/kafka/exactly-once-loop.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix } from '../../support/kafka.ts';

/**
 * The ExactlyOnceLoop on the real broker at a trickle: batches of a record or two, back to back, with no output
 * records, so each transaction opens with its offsets right after the previous one committed. The coordinator
 * refuses that with CONCURRENT_TRANSACTIONS for a moment, which kafkajs does not retry on AddOffsetsToTxn; the loop
 * must, or the batch fails and the caller rebuilds its state (seconds of latency in `ticklake alerts`).
 */
const prefix = `${uniqueName('eos-trickle')}.`;
const config = loadConfig({ profile: testStackProfile() });
const kafka = kafkaClient(config, 'test-eos-trickle');
const topic = `${prefix}in`;
const groupId = `${prefix}group`;
const RECORDS = 400;

describe('ExactlyOnceLoop at a trickle', () => {
  afterAll(async () => {
    await deleteTopicsWithPrefix(kafka, prefix);
  });

  it('commits every small batch without a failed transaction', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const failures: string[] = [];
    let processed = 0;
    let batches = 0;
    const loop = new ExactlyOnceLoop({
      kafka,
      groupId,
      inputTopic: topic,
      log: createLogger({ test: 'eos-trickle' }, 'error'),
      handler: {
        process: async (_p, messages) => {
          batches++;
          return { topicMessages: [], committed: () => (processed += messages.length) };
        },
        failed: (_p, err) => failures.push((err as Error).message),
      },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await loop.start();
      await producer.connect();
      for (let i = 0; i < RECORDS; i++) {
        await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: String(i) }] });
        await sleep(5);
      }
      const deadline = Date.now() + 60_000;
      while (processed < RECORDS && Date.now() < deadline) await sleep(100);
      expect(processed).toBe(RECORDS);
      // Small batches, or the test would not be about back-to-back transactions.
      expect(batches).toBeGreaterThan(RECORDS / 10);
      expect(failures).toEqual([]);
    } finally {
      await producer.disconnect();
      await loop.stop();
      await admin.disconnect();
    }
  }, 120_000);
});
