import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { TickLakeError } from '../../../../core/errors.ts';
import { toTemporalFailure, withTemporalFailures } from '../../../../infra/temporal/failures.ts';

describe('errors → Temporal failures', () => {
  it('makes a non-retryable code a non-retryable failure typed by its code, with the details', () => {
    const f = toTemporalFailure(
      new TickLakeError('SCHEMA_INCOMPATIBLE', 'column price is FLOAT64 in raw but STRING in file x', {
        details: { file: 'x', column: 'price' },
      }),
    );
    expect(f).toBeInstanceOf(ApplicationFailure);
    const a = f as ApplicationFailure;
    expect([a.type, a.nonRetryable, a.message]).toEqual([
      'SCHEMA_INCOMPATIBLE',
      true,
      'column price is FLOAT64 in raw but STRING in file x',
    ]);
    expect(a.details).toEqual([{ file: 'x', column: 'price' }]);
  });

  it('leaves a retryable code retryable, and anything that is not ours as it is', () => {
    const cause = new Error('socket hang up');
    const a = toTemporalFailure(new TickLakeError('UPSTREAM_UNAVAILABLE', 'S3 down', { cause })) as ApplicationFailure;
    expect([a.type, a.nonRetryable, a.cause]).toEqual(['UPSTREAM_UNAVAILABLE', false, cause]);
    const plain = new RangeError('x');
    expect(toTemporalFailure(plain)).toBe(plain);
  });

  it('wraps every activity of a set, keeping names and results', async () => {
    const wrapped = withTemporalFailures({
      ok: async (n: number) => n * 2,
      bad: async () => {
        throw new TickLakeError('INPUT_INVALID', 'no such table');
      },
    });
    expect(Object.keys(wrapped)).toEqual(['ok', 'bad']);
    await expect(wrapped.ok(21)).resolves.toBe(42);
    await expect(wrapped.bad()).rejects.toMatchObject({ type: 'INPUT_INVALID', nonRetryable: true });
  });
});
