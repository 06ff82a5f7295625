/**
 * A circuit breaker per endpoint, as a pure state machine over time. `closed`: requests flow. After
 * `failureThreshold` consecutive failed attempts it opens: nothing is sent (deliveries wait, spending no
 * attempt) for `cooldownMs`. Then it is `half-open`: one probe goes out; its success closes the breaker, its
 * failure opens it for another cooldown.
 */
export interface BreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
}

export type BreakerState =
  { kind: 'closed'; failures: number } | { kind: 'open'; until: number } | { kind: 'half-open'; probing: boolean };

export const CLOSED: BreakerState = { kind: 'closed', failures: 0 };

/** The state as of `now` (an open breaker whose cooldown has passed is half-open). */
export function breakerAt(s: BreakerState, now: number): BreakerState {
  return s.kind === 'open' && now >= s.until ? { kind: 'half-open', probing: false } : s;
}

/** Whether a request may start now, and the state after starting it. */
export function breakerAcquire(s: BreakerState, now: number): { allowed: boolean; state: BreakerState } {
  const cur = breakerAt(s, now);
  if (cur.kind === 'closed') return { allowed: true, state: cur };
  if (cur.kind === 'half-open' && !cur.probing) return { allowed: true, state: { kind: 'half-open', probing: true } };
  return { allowed: false, state: cur };
}

/** The state after an attempt's outcome. */
export function breakerRecord(s: BreakerState, ok: boolean, now: number, o: BreakerOptions): BreakerState {
  if (ok) return CLOSED;
  if (s.kind === 'half-open') return { kind: 'open', until: now + o.cooldownMs };
  if (s.kind === 'open') return s;
  const failures = s.failures + 1;
  return failures >= o.failureThreshold ? { kind: 'open', until: now + o.cooldownMs } : { kind: 'closed', failures };
}

/** When a waiting request may next be tried, or null if now. */
export function breakerRetryAt(s: BreakerState, now: number): number | null {
  const cur = breakerAt(s, now);
  return cur.kind === 'open' ? cur.until : null;
}
