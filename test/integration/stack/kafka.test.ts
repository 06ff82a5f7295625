import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { testStackConfig } from '../../support/stack.ts';
import { uniqueName } from '../../support/ids.ts';

const config = testStackConfig();
const kafka = new Kafka({ brokers: config.kafka.brokers, clientId: 'stack-test', logLevel: logLevel.NOTHING });
const consumers: Consumer[] = [];

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.disconnect()));
});

async function readAll(topic: string, expected: number, readUncommitted: boolean): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('g'), readUncommitted });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  // A deadline, so a broker that never delivers fails the test with what it got instead of hanging it.
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`read ${values.length} of ${expected} records of ${topic} in 30 s`)),
      30_000,
    );
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value!.toString());
        if (values.length >= expected) resolve();
      },
    });
  }).finally(() => clearTimeout(timer));
  return values;
}

describe('Kafka broker (KRaft, single node)', () => {
  it('produces with an idempotent acks=all producer and consumes every record in order per key', async () => {
    const topic = uniqueName('smoke');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const messages = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: `${i % 7}:${i}` }));
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();

    const values = await readAll(topic, 300, false);
    expect(values).toHaveLength(300);
    for (let k = 0; k < 7; k++) {
      const seq = values.filter((v) => v.startsWith(`${k}:`)).map((v) => Number(v.split(':')[1]));
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
    }
  });

  it('hides aborted transactions from read_committed consumers', async () => {
    const topic = uniqueName('tx');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ transactionalId: uniqueName('txid'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
    await committed.commit();
    await producer.disconnect();

    expect(await readAll(topic, 2, false)).toEqual(['committed-1', 'committed-2']);
    // read_uncommitted sees the aborted records too: proof the abort really wrote them and the filter is the broker's.
    const uncommitted = await readAll(topic, 4, true);
    expect(uncommitted).toContain('aborted-1');
  });
});
