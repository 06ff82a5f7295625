import { parseRetryAfter } from './schedule.ts';

/** What one HTTP attempt came back with, as the edge saw it. */
export type AttemptResult =
  | { kind: 'response'; status: number; retryAfter: string | null; location: string | null }
  | { kind: 'timeout'; afterMs: number }
  /** No HTTP answer: refused, reset, DNS. */
  | { kind: 'network'; detail: string }
  /** Bytes came back that are not HTTP (bad status line or headers). */
  | { kind: 'malformed'; detail: string };

/** The label of `ticklake_webhook_attempts_total{outcome}`: a closed list, so dashboards can rely on it. */
export const ATTEMPT_OUTCOMES = [
  'delivered',
  'redirect',
  'gone',
  'throttled',
  'client_error',
  'server_error',
  'timeout',
  'network',
  'malformed',
  'refused',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export type Verdict =
  | { outcome: 'delivered'; action: 'done' }
  /** 410 Gone: the receiver says the endpoint no longer exists. */
  | { outcome: 'gone'; action: 'disable'; detail: string }
  | {
      outcome: Exclude<AttemptOutcome, 'delivered' | 'gone'>;
      action: 'retry';
      retryAfterMs: number | null;
      detail: string;
    };

/**
 * The status-code rules (docs/WEBHOOKS.md): 2xx delivered, whatever the body; 410 disables the endpoint; 429 and
 * 503 retried after their Retry-After; every other answer, a 3xx included (redirects are never followed), and
 * every timeout, network failure or non-HTTP reply retried on the schedule.
 */
export function judgeAttempt(r: AttemptResult, nowMs: number): Verdict {
  if (r.kind === 'timeout')
    return { outcome: 'timeout', action: 'retry', retryAfterMs: null, detail: `no answer in ${r.afterMs} ms` };
  if (r.kind === 'network') return { outcome: 'network', action: 'retry', retryAfterMs: null, detail: r.detail };
  if (r.kind === 'malformed') return { outcome: 'malformed', action: 'retry', retryAfterMs: null, detail: r.detail };
  const s = r.status;
  if (s >= 200 && s < 300) return { outcome: 'delivered', action: 'done' };
  if (s === 410) return { outcome: 'gone', action: 'disable', detail: 'HTTP 410 Gone' };
  if (s === 429 || s === 503) {
    return {
      outcome: s === 429 ? 'throttled' : 'server_error',
      action: 'retry',
      retryAfterMs: parseRetryAfter(r.retryAfter, nowMs),
      detail: `HTTP ${s}${r.retryAfter ? ` (Retry-After: ${r.retryAfter})` : ''}`,
    };
  }
  if (s >= 300 && s < 400) {
    return {
      outcome: 'redirect',
      action: 'retry',
      retryAfterMs: null,
      detail: `HTTP ${s} to ${r.location ?? '(no Location)'}: redirects are not followed`,
    };
  }
  if (s >= 400 && s < 500) return { outcome: 'client_error', action: 'retry', retryAfterMs: null, detail: `HTTP ${s}` };
  return {
    outcome: s >= 500 && s < 600 ? 'server_error' : 'malformed',
    action: 'retry',
    retryAfterMs: null,
    detail: `HTTP ${s}`,
  };
}
