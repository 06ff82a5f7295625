import { describe, expect, it } from 'vitest';
import { backoffDelay, backoffSchema } from '../../../../../core/retry.ts';

describe('backoff', () => {
  const b = backoffSchema.parse({ initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.5 });

  it('grows exponentially and is capped', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, b, none))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('draws the jitter fraction at random, never above the cap nor below (1 - jitter) of it', () => {
    expect(backoffDelay(1, b, () => 0.999999)).toBe(50);
    expect(backoffDelay(10, b, () => 0.5)).toBe(750);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(20, b);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });

  it('has production defaults and rejects a cap below the start', () => {
    expect(backoffSchema.parse({})).toEqual({
      initialMs: 500,
      maxMs: 30_000,
      multiplier: 2,
      jitter: 0.3,
      resetAfterMs: 30_000,
      maxAttempts: 0,
    });
    expect(backoffSchema.safeParse({ initialMs: 5_000, maxMs: 1_000 }).success).toBe(false);
  });
});
