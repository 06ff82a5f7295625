import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { toActivityFailure, withFailureMapping } from '../../activities/failures.ts';
import { TickLakeError } from '../../core/errors.ts';

describe('errors as Temporal failures', () => {
  it('makes non-retryable codes non-retryable failures typed by code, and keeps retryable ones retryable', () => {
    const overlap = toActivityFailure(new TickLakeError('OFFSET_OVERLAP', 'taken', { details: { partition: 3 } }));
    expect(overlap).toBeInstanceOf(ApplicationFailure);
    expect(overlap).toMatchObject({ type: 'OFFSET_OVERLAP', nonRetryable: true, message: 'taken' });
    expect((overlap as ApplicationFailure).details).toEqual([{ partition: 3 }]);
    expect(toActivityFailure(new TickLakeError('UPSTREAM_UNAVAILABLE', 'S3 down'))).toMatchObject({
      type: 'UPSTREAM_UNAVAILABLE',
      nonRetryable: false,
    });
    const plain = new Error('boom');
    expect(toActivityFailure(plain)).toBe(plain);
  });

  it('wraps every activity of a set', async () => {
    const acts = withFailureMapping({
      ok: async (n: number) => n + 1,
      bad: async () => {
        throw new TickLakeError('SCHEMA_INCOMPATIBLE', 'dropped a column');
      },
    });
    expect(await acts.ok(1)).toBe(2);
    await expect(acts.bad()).rejects.toMatchObject({ type: 'SCHEMA_INCOMPATIBLE', nonRetryable: true });
  });
});
