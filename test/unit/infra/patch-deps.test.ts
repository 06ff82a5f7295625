import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// What `npm ci`'s postinstall (infra/node/patch-deps.mjs) did to kafkajs, checked on the installed copy: the
// linear grouping must give exactly what kafkajs's own grouping gave (per partition, in input order).
const require = createRequire(import.meta.url);
const GROUP = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const QUEUE = require.resolve('kafkajs/src/network/requestQueue/index.js');
const group = require(GROUP) as (args: {
  topic: string;
  partitionMetadata: unknown[];
  messages: Array<{ key: string; value: string }>;
  partitioner: (a: { message: { key: string } }) => number;
}) => Record<string, Array<{ key: string; value: string }>>;

describe('kafkajs as patched at install', () => {
  it('groups a batch by partition in one pass, keeping each partition in input order', () => {
    expect(readFileSync(GROUP, 'utf8')).toContain('ticklake patch');
    const messages = Array.from({ length: 20_000 }, (_, i) => ({ key: `K${i % 7}`, value: String(i) }));
    const partitionOf = (key: string) => Number(key.slice(1)) % 3;
    const out = group({
      topic: 't',
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => partitionOf(message.key),
    });
    expect(Object.keys(out).sort()).toEqual(['0', '1', '2']);
    for (const [p, list] of Object.entries(out)) {
      expect(list).toEqual(messages.filter((m) => partitionOf(m.key) === Number(p)));
    }
  });

  it('never schedules a negative timer (Node 24 would warn from every process)', () => {
    expect(readFileSync(QUEUE, 'utf8')).toContain('Math.max(1, scheduleAt)');
  });
});
