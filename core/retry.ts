import { z } from 'zod';
import { TickLakeError } from './errors.ts';

/**
 * Capped exponential backoff with jitter, and a retry loop over it: the one backoff of ticklake (feed reconnects,
 * the sink's S3 retries). Durations are milliseconds.
 */
export const backoffSchema = z
  .object({
    /** Delay before the first retry. */
    initialMs: z.number().int().positive().default(500),
    /** Upper bound of any single delay. */
    maxMs: z.number().int().positive().default(30_000),
    multiplier: z.number().min(1).default(2),
    /** Fraction of each delay drawn at random (0 = none, 1 = "full jitter"), so many clients don't retry in step. */
    jitter: z.number().min(0).max(1).default(0.3),
    /** A connection that stayed ready this long resets the delay to initialMs. */
    resetAfterMs: z.number().int().nonnegative().default(30_000),
    /** Consecutive failed attempts before giving up (0 = never give up: a live feed keeps trying). */
    maxAttempts: z.number().int().nonnegative().default(0),
  })
  .refine((b) => b.maxMs >= b.initialMs, { message: 'backoff.maxMs must be >= backoff.initialMs', path: ['maxMs'] });

export type BackoffOptions = z.infer<typeof backoffSchema>;
type Curve = Pick<BackoffOptions, 'initialMs' | 'maxMs' | 'multiplier' | 'jitter'>;

/**
 * The delay before attempt `attempt` (1-based): initialMs * multiplier^(attempt-1), capped at maxMs, of which the
 * `jitter` fraction is random. Always within [capped * (1 - jitter), capped].
 */
export function backoffDelay(attempt: number, b: Curve, random: () => number = Math.random): number {
  const exp = b.initialMs * b.multiplier ** Math.max(0, attempt - 1);
  const capped = Math.min(b.maxMs, exp);
  return Math.round(capped * (1 - b.jitter * random()));
}

export interface RetryOptions {
  backoff: Curve;
  /** Whether to stop retrying after this failed attempt (it is then rethrown). */
  giveUp?: (err: unknown, attempt: number) => boolean;
  /** Called before each wait: log, count, heartbeat. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => Promise<void> | void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds. A TickLakeError that is not retryable is rethrown at once: retrying can't fix it.
 */
export async function retryWithBackoff<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TickLakeError && !err.retryable) throw err;
      if (opts.giveUp?.(err, attempt)) throw err;
      const delay = backoffDelay(attempt, opts.backoff, opts.random);
      await opts.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
