import { describe, expect, it } from 'vitest';
import { deepMerge } from '../../../core/deep-merge.ts';
import { DlqShareMonitor } from '../../../core/dlq-share.ts';
import { TickLakeError } from '../../../core/errors.ts';
import { mapLimit } from '../../../core/lanes.ts';
import { retryWithBackoff } from '../../../core/retry.ts';
import { HEARTBEAT_KEY, heartbeatValue, parseHeartbeat } from '../../../core/schemas/heartbeat.ts';
import { T0 } from './fixtures.ts';

describe('DlqShareMonitor', () => {
  it('reports a window once it holds enough records and time, warning above the share', () => {
    const m = new DlqShareMonitor({ warnShare: 0.1, minRecords: 100, minWindowMs: 1000 });
    expect(m.add(80, Array(80).fill('unknown_symbol'), 0)).toBeUndefined(); // too few records
    expect(m.add(40, ['unknown_symbol', 'invalid_json'], 500)).toBeUndefined(); // too short
    const w = m.add(10, [], 1000)!;
    expect(w).toMatchObject({ records: 130, rejected: 82, warn: true });
    expect(w.reasons).toEqual([
      ['unknown_symbol', 81],
      ['invalid_json', 1],
    ]);
    // The next window starts empty.
    expect(m.add(200, ['invalid_json'], 1500)).toBeUndefined();
    expect(m.add(0, [], 2500)).toMatchObject({ records: 200, rejected: 1, warn: false });
  });
});

describe('retryWithBackoff', () => {
  it('retries with growing delays and stops at once on a non-retryable error', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await retryWithBackoff(
      async () => {
        if (++calls < 4) throw new Error('transient');
        return 'ok';
      },
      { backoff: { initialMs: 10, multiplier: 2, maxMs: 30, jitter: 0 }, sleep: async (ms) => void delays.push(ms) },
    );
    expect(result).toBe('ok');
    expect(delays).toEqual([10, 20, 30]);

    let tries = 0;
    const err = await retryWithBackoff(
      async () => {
        tries++;
        throw new TickLakeError('OFFSET_OVERLAP', 'taken');
      },
      { backoff: { initialMs: 1, multiplier: 1, maxMs: 1, jitter: 0 }, sleep: async () => {} },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TickLakeError);
    expect(tries).toBe(1);
  });
});

describe('mapLimit', () => {
  it('keeps at most limit in flight and returns results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const done = mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((r) => release.push(r));
      inFlight--;
      return n * 10;
    });
    // Release the waiting lanes in reverse order of arrival until all are done.
    while (release.length || inFlight) {
      await Promise.resolve();
      release.pop()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await done).toEqual([10, 20, 30, 40, 50]);
    expect(peak).toBe(2);
  });
});

describe('heartbeat schema', () => {
  it('round-trips and refuses anything else', () => {
    expect(HEARTBEAT_KEY).toBe('__heartbeat__');
    expect(parseHeartbeat(Buffer.from(heartbeatValue('synthetic', T0)))).toBe(T0);
    expect(parseHeartbeat(Buffer.from(JSON.stringify({ v: 1, type: 'heartbeat', source: 's', ts: 5 })))).toBe(
      undefined,
    ); // 5 µs is a unit mistake
    expect(parseHeartbeat(Buffer.from(JSON.stringify({ v: 2, type: 'heartbeat', source: 's', ts: T0 })))).toBe(
      undefined,
    );
    expect(parseHeartbeat(Buffer.from('{'))).toBeUndefined();
    expect(() => heartbeatValue('', T0)).toThrow();
  });
});

describe('deepMerge', () => {
  it('merges mappings key by key and replaces arrays', () => {
    expect(deepMerge({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2], e: 3 } })).toEqual({
      a: { b: 1, c: [2], e: 3 },
      d: 1,
    });
  });
});
