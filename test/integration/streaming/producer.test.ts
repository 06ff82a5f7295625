import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { TickProducer } from '../../../streaming/producer.ts';
import { ensureTopics, topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix } from '../../support/kafka.ts';

const prefix = `${uniqueName('producer')}.`;
const config = loadConfig({ profile: testStackProfile(), overrides: { topics: { prefix, partitions: 2 } } });
const kafka = kafkaClient(config, 'producer-test');
const admin = kafka.admin();
const log = createLogger({ test: 'producer' }, 'warn');
const topic = topicName(config, 'raw');

async function endOffsetSum(): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
}

/** Milliseconds until the topic holds `n` records (polled), or Infinity after `timeoutMs`. */
async function msUntil(n: number, since: number, timeoutMs: number): Promise<number> {
  while (performance.now() - since < timeoutMs) {
    if ((await endOffsetSum()) >= n) return performance.now() - since;
    await sleep(10);
  }
  return Number.POSITIVE_INFINITY;
}

beforeAll(async () => {
  await admin.connect();
  await ensureTopics(kafka, config);
});
afterAll(async () => {
  await deleteTopicsWithPrefix(kafka, prefix);
  await admin.disconnect();
});

describe('TickProducer on a quiet stream', () => {
  it('sends a lone record within its linger, without a flush, a heartbeat or a full batch', async () => {
    const producer = new TickProducer(kafka, { topic, ...config.producer, batchSize: 10_000, lingerMs: 20, log });
    await producer.connect();
    try {
      const latencies: number[] = [];
      // One record every 100 ms, as a quiet source sends them: each must reach the log on its own.
      for (let i = 0; i < 5; i++) {
        const at = performance.now();
        await producer.send([{ key: 'AAPL', value: JSON.stringify({ i }) }]);
        latencies.push(await msUntil(i + 1, at, 3_000));
        await sleep(100);
      }
      // 20 ms of linger plus an acks=all round trip on a loaded machine; the old loop never sent them at all.
      expect(Math.max(...latencies)).toBeLessThan(1_000);
      expect(producer.bufferedRecords).toBe(0);
    } finally {
      await producer.close();
    }
  });

  it('still lingers: records sent in quick succession share requests', async () => {
    const producer = new TickProducer(kafka, { topic, ...config.producer, batchSize: 10_000, lingerMs: 500, log });
    await producer.connect();
    const before = await endOffsetSum();
    try {
      const at = performance.now();
      for (let i = 0; i < 10; i++) await producer.send([{ key: 'MSFT', value: JSON.stringify({ i }) }]);
      // Nothing goes before the linger ends (10 sends take far less than 500 ms)...
      await sleep(100);
      const early = await endOffsetSum();
      if (performance.now() - at < 450) expect(early).toBe(before);
      // ...then everything goes at once, at about the linger's end.
      const ms = await msUntil(before + 10, at, 3_000);
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(2_500);
    } finally {
      await producer.close();
    }
  });
});
