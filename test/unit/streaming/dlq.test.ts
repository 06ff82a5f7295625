import { describe, expect, it } from 'vitest';
import { dlqRecordSchema } from '../../../core/schemas/dlq.ts';
import { dlqMessages } from '../../../streaming/dlq.ts';

describe('dead letters', () => {
  it('keep the original bytes verbatim, where they were read and why, parseable by the DLQ schema', () => {
    const original = Buffer.from([0xff, 0x00, 0x7b]); // not even UTF-8
    const [m] = dlqMessages(
      [{ partition: 2, offset: '41', key: 'AAPL', value: original, reason: 'invalid_json', detail: 'x'.repeat(1500) }],
      { sourceTopic: 't.ticks.raw', component: 'processor', nowUs: 1_767_312_000_000_000 },
    );
    expect(m!.key).toBe('AAPL');
    const rec = dlqRecordSchema.parse(JSON.parse(m!.value as string));
    expect(Buffer.from(rec.original, 'base64').equals(original)).toBe(true);
    expect(rec).toMatchObject({ v: 1, sourceTopic: 't.ticks.raw', partition: 2, offset: '41', component: 'processor' });
    // Detail is capped so one pathological record cannot blow up the DLQ.
    expect(rec.detail.length).toBe(1001);
  });

  it('keep a tombstone as an empty original with a null key', () => {
    const [m] = dlqMessages(
      [{ partition: 0, offset: '0', key: null, value: null, reason: 'invalid_json', detail: 'null value' }],
      { sourceTopic: 'ticks.raw', component: 'sink-raw', nowUs: 1 },
    );
    expect(m!.key).toBeNull();
    expect(dlqRecordSchema.parse(JSON.parse(m!.value as string)).original).toBe('');
  });
});
