import type { Kafka, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../infra/logger.ts';
import {
  isConcurrentTransaction,
  isFenced,
  PartitionProducers,
} from '../../../../streaming/kafka/partition-producers.ts';

/** A kafkajs stand-in that records which transactional ids were initialised and which producers were closed. */
function fakeKafka() {
  const connected: string[] = [];
  const closed: string[] = [];
  const kafka = {
    producer: (opts: { transactionalId: string }) =>
      ({
        connect: async () => void connected.push(opts.transactionalId),
        disconnect: async () => void closed.push(opts.transactionalId),
      }) as unknown as Producer,
  } as unknown as Kafka;
  return { kafka, connected, closed };
}

const log = createLogger({ test: 'partition-producers' }, 'error');
const fencedError = Object.assign(new Error('fenced'), {
  originalError: { type: 'INVALID_PRODUCER_EPOCH', message: 'epoch' },
});

describe('PartitionProducers', () => {
  it('gives each input partition its own transactional id, the same whichever instance asks', async () => {
    const a = fakeKafka();
    const b = fakeKafka();
    const pa = new PartitionProducers(a.kafka, 'g-ticks.raw', log);
    const pb = new PartitionProducers(b.kafka, 'g-ticks.raw', log);
    await pa.get(3);
    await pa.get(3);
    await pb.get(3);
    expect(a.connected).toEqual(['g-ticks.raw-3']); // created once, reused
    expect(b.connected).toEqual(a.connected); // the next owner initialises the same id, fencing the first
  });

  it('after being fenced gives the partition no new producer until the group assigns it again', async () => {
    const { kafka, connected, closed } = fakeKafka();
    const producers = new PartitionProducers(kafka, 'g-t', log);
    await producers.get(1);
    await producers.failed(1, fencedError);
    expect(closed).toEqual(['g-t-1']);
    await expect(producers.get(1)).rejects.toThrow(/fenced by a newer owner/);
    await producers.assigned(new Set([0])); // a rejoin that did not give it back
    await expect(producers.get(1)).rejects.toThrow(/fenced/);
    await producers.assigned(new Set([1]));
    await producers.get(1);
    expect(connected).toEqual(['g-t-1', 'g-t-1']);
  });

  it('replaces the producer after any other failure, and closes those of partitions that moved away', async () => {
    const { kafka, connected, closed } = fakeKafka();
    const producers = new PartitionProducers(kafka, 'g-t', log);
    await producers.get(0);
    await producers.get(2);
    await producers.failed(0, new Error('request timed out'));
    await producers.get(0);
    await producers.assigned(new Set([0]));
    expect(connected).toEqual(['g-t-0', 'g-t-2', 'g-t-0']);
    expect(closed).toEqual(['g-t-0', 'g-t-2']);
  });

  it('recognises the broker’s fencing errors however kafkajs wraps them', () => {
    expect(isFenced(fencedError)).toBe(true);
    expect(isFenced({ type: 'PRODUCER_FENCED' })).toBe(true);
    expect(isFenced(new Error('x', { cause: { type: 'INVALID_PRODUCER_ID_MAPPING' } }))).toBe(true);
    expect(isFenced(new Error('connection closed'))).toBe(false);
    expect(isFenced(undefined)).toBe(false);
  });

  it('tells a concurrent transaction (retry the same producer) from fencing (give the partition up)', () => {
    const concurrent = new Error('retries exhausted', {
      cause: { type: 'CONCURRENT_TRANSACTIONS', originalError: undefined },
    });
    expect(isConcurrentTransaction(concurrent)).toBe(true);
    expect(isFenced(concurrent)).toBe(false);
    expect(isConcurrentTransaction(fencedError)).toBe(false);
    expect(isConcurrentTransaction(new Error('connection closed'))).toBe(false);
  });
});
