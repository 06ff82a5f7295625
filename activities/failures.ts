import { ApplicationFailure } from '@temporalio/activity';
import { isTickLakeError } from '../core/errors.ts';

/**
 * The errors module's meaning, as Temporal understands it: a TickLakeError becomes an ApplicationFailure whose
 * type is its code, non-retryable when the code is (bad input, a schema change, an offset overlap, corruption),
 * so Temporal stops retrying what retrying can't fix. Anything else is left as it is (Temporal retries it).
 */
export function toActivityFailure(err: unknown): unknown {
  if (!isTickLakeError(err)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.code,
    nonRetryable: !err.retryable,
    details: [err.details],
    cause: err.cause instanceof Error ? err.cause : undefined,
  });
}

/** Wraps every activity of a set so their TickLakeErrors reach Temporal with their meaning. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toActivityFailure(err);
      }
    };
  }
  return out as T;
}
