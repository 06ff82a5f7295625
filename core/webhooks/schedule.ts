/**
 * When a failed delivery is tried again. The first attempt is immediate; `scheduleMs[i]` is the wait after the
 * (i+1)-th failed attempt, so a schedule of n delays allows n+1 attempts. The default follows the Standard
 * Webhooks example (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours).
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

export interface RetryPolicy {
  scheduleMs: readonly number[];
  /** Fraction of each delay drawn at random, so deliveries that failed together do not retry together. */
  jitter: number;
  /** A `Retry-After` longer than this is cut to it (a receiver cannot park a delivery for days). */
  maxRetryAfterMs: number;
}

/**
 * The wait before the next attempt after `attempts` failed ones, or null when none is left (dead letter).
 * A `Retry-After` the receiver sent (429, 503) replaces the schedule's delay for this wait: it is the receiver
 * saying when it can take the request, sooner or later than our schedule.
 */
export function nextRetryDelay(
  attempts: number,
  policy: RetryPolicy,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number | null {
  if (attempts < 1 || attempts > policy.scheduleMs.length) return null;
  if (retryAfterMs !== null) return Math.min(Math.max(0, retryAfterMs), policy.maxRetryAfterMs);
  const base = policy.scheduleMs[attempts - 1]!;
  return Math.round(base * (1 - policy.jitter * random()));
}

/** Total attempts the policy allows. */
export function maxAttempts(policy: Pick<RetryPolicy, 'scheduleMs'>): number {
  return policy.scheduleMs.length + 1;
}

/** A `Retry-After` header value (delta-seconds or an HTTP date) as milliseconds from `nowMs`, or null if absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}
