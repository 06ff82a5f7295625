import { ApplicationFailure } from '@temporalio/common';
import { TickLakeError } from '../../core/errors.ts';

/**
 * The one mapping from ticklake's errors to Temporal's failures. A TickLakeError keeps its code as the failure type
 * (what the Temporal UI shows and what a retry policy's `nonRetryableErrorTypes` can name) and its details; a
 * non-retryable code becomes a non-retryable failure, so Temporal stops retrying input that will never pass and the
 * workflow sees the reason at once. Anything else is left to Temporal's default: retried by the activity's policy.
 */
export function toTemporalFailure(err: unknown): unknown {
  if (!(err instanceof TickLakeError)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.code,
    nonRetryable: !err.retryable,
    details: [err.details],
    cause: err.cause instanceof Error ? err.cause : undefined,
  });
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** Wraps every activity of a set so what it throws reaches Temporal through `toTemporalFailure`. */
export function withTemporalFailures<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toTemporalFailure(err);
      }
    };
  }
  return wrapped as T;
}
