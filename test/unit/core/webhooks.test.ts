import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../core/schemas/alert.ts';
import { CLOSED, breakerAcquire, breakerRecord, type BreakerState } from '../../../core/webhooks/breaker.ts';
import { checkEndpoints, hostAllowed, urlRefusal, type EndpointConfig } from '../../../core/webhooks/endpoint.ts';
import { matchesFilter } from '../../../core/webhooks/filter.ts';
import { judgeAttempt } from '../../../core/webhooks/outcome.ts';
import { payloadFor, webhookIdFor } from '../../../core/webhooks/payload.ts';
import {
  DEFAULT_RETRY_SCHEDULE_MS,
  maxAttempts,
  nextRetryDelay,
  parseRetryAfter,
} from '../../../core/webhooks/schedule.ts';
import { configSchema } from '../../../core/config.ts';

const alert: Alert = {
  v: 1,
  id: 'price_move:AAPL:1764633600000000',
  rule: 'price_move',
  symbol: 'AAPL',
  severity: 'warning',
  ts: 1764633600500000,
  windowStart: 1764633600000000,
  value: 2.5,
  threshold: 2,
  message: 'AAPL moved 2.5% in 60 s',
  emittedTs: 1764633600501000,
};
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('retry schedule', () => {
  const policy = { scheduleMs: DEFAULT_RETRY_SCHEDULE_MS, jitter: 0.2, maxRetryAfterMs: 3_600_000 };

  it('follows the documented schedule for eight attempts, then gives up', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => nextRetryDelay(n, { ...policy, jitter: 0 }));
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(maxAttempts(policy)).toBe(8);
    expect(nextRetryDelay(8, policy)).toBeNull();
  });

  it('jitters each delay down by at most the jitter fraction', () => {
    expect(nextRetryDelay(1, policy, null, () => 0)).toBe(5_000);
    expect(nextRetryDelay(1, policy, null, () => 1)).toBe(4_000);
    expect(nextRetryDelay(2, policy, null, () => 0.5)).toBe(270_000);
  });

  it('lets Retry-After replace the delay, capped', () => {
    expect(nextRetryDelay(3, policy, 2_000)).toBe(2_000);
    expect(nextRetryDelay(1, policy, 86_400_000)).toBe(3_600_000);
    // The last attempt stays the last, whatever the receiver asks.
    expect(nextRetryDelay(8, policy, 1_000)).toBeNull();
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-12-02T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 02 Dec 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

describe('filters', () => {
  it('match on rules, symbols and a severity floor', () => {
    expect(matchesFilter({ minSeverity: 'info' }, alert)).toBe(true);
    expect(matchesFilter({ minSeverity: 'critical' }, alert)).toBe(false);
    expect(matchesFilter({ minSeverity: 'warning', rules: ['price_move'] }, alert)).toBe(true);
    expect(matchesFilter({ minSeverity: 'info', rules: ['volume_spike'] }, alert)).toBe(false);
    expect(matchesFilter({ minSeverity: 'info', symbols: ['MSFT'] }, alert)).toBe(false);
    expect(matchesFilter({ minSeverity: 'info', symbols: ['MSFT', 'AAPL'] }, alert)).toBe(true);
  });
});

describe('endpoint URLs', () => {
  const allow = ['127.0.0.1', 'localhost', 'hooks.example.com', '*.desk.example'];

  it('allow https on listed hosts and plain http on loopback only', () => {
    expect(urlRefusal('https://hooks.example.com/a', allow)).toBeNull();
    expect(urlRefusal('https://risk.desk.example/a', allow)).toBeNull();
    expect(urlRefusal('http://127.0.0.1:8787/', allow)).toBeNull();
    expect(urlRefusal('http://hooks.example.com/a', allow)).toMatch(/not https/);
    expect(urlRefusal('https://evil.example/a', allow)).toMatch(/not in webhooks.allowedHosts/);
    expect(urlRefusal('https://desk.example/a', allow)).toMatch(/not in webhooks.allowedHosts/);
    expect(urlRefusal('https://u:p@hooks.example.com/', allow)).toMatch(/credentials/);
    expect(hostAllowed('HOOKS.example.com', allow)).toBe(true);
  });

  const endpoint = (e: Partial<EndpointConfig>): EndpointConfig => ({
    name: 'desk',
    url: 'http://127.0.0.1:1/',
    secretEnv: 'S1',
    minSeverity: 'info',
    format: 'standard',
    ...e,
  });

  it('are refused at start with every problem named', () => {
    expect(() => checkEndpoints([endpoint({})], allow, { S1: SECRET })).not.toThrow();
    expect(() =>
      checkEndpoints(
        [
          endpoint({ url: 'https://evil.example/x' }),
          endpoint({ name: 'risk', url: 'http://hooks.example.com/', secretEnv: ['S1', 'S2'] }),
          endpoint({ name: 'risk', secretEnv: 'S3' }),
        ],
        allow,
        { S1: SECRET, S3: 'not-a-secret' },
      ),
    ).toThrow(
      /desk: host evil.example is not in[\s\S]*risk: http:\/\/hooks.example.com is not https[\s\S]*S2 \(its secret\) is not set[\s\S]*used twice[\s\S]*S3 is not a "whsec_"/,
    );
  });

  it('come from config, also as JSON in the environment', () => {
    const c = configSchema.parse({
      stack: { cacheDir: '-', stateDir: '-' },
      webhooks: { endpoints: JSON.stringify([{ name: 'a', url: 'http://127.0.0.1:1/', secretEnv: 'S' }]) },
    });
    expect(c.webhooks.endpoints[0]).toMatchObject({ name: 'a', format: 'standard', minSeverity: 'info' });
    expect(c.webhooks.retryScheduleMs).toEqual(DEFAULT_RETRY_SCHEDULE_MS);
  });
});

describe('status-code rules', () => {
  const now = 0;
  const res = (status: number, retryAfter: string | null = null, location: string | null = null) =>
    judgeAttempt({ kind: 'response', status, retryAfter, location }, now);

  it('deliver on 2xx, disable on 410, honour Retry-After on 429 and 503, retry the rest', () => {
    expect(res(200)).toMatchObject({ outcome: 'delivered', action: 'done' });
    expect(res(204).action).toBe('done');
    expect(res(410)).toMatchObject({ outcome: 'gone', action: 'disable' });
    expect(res(429, '7')).toMatchObject({ outcome: 'throttled', action: 'retry', retryAfterMs: 7_000 });
    expect(res(503, '3')).toMatchObject({ outcome: 'server_error', retryAfterMs: 3_000 });
    expect(res(500, '3')).toMatchObject({ outcome: 'server_error', retryAfterMs: null });
    expect(res(302, null, 'https://elsewhere/')).toMatchObject({ outcome: 'redirect', action: 'retry' });
    expect(res(400)).toMatchObject({ outcome: 'client_error', action: 'retry' });
    expect(res(999)).toMatchObject({ outcome: 'malformed', action: 'retry' });
    expect(judgeAttempt({ kind: 'timeout', afterMs: 50 }, now).outcome).toBe('timeout');
    expect(judgeAttempt({ kind: 'malformed', detail: 'x' }, now).outcome).toBe('malformed');
    expect(judgeAttempt({ kind: 'network', detail: 'ECONNREFUSED' }, now).outcome).toBe('network');
  });
});

describe('circuit breaker', () => {
  const o = { failureThreshold: 2, cooldownMs: 1_000 };

  it('opens after consecutive failures, probes once after the cooldown, closes on success', () => {
    let s: BreakerState = CLOSED;
    s = breakerRecord(s, false, 0, o);
    expect(breakerAcquire(s, 0).allowed).toBe(true);
    s = breakerRecord(s, false, 10, o);
    expect(s).toEqual({ kind: 'open', until: 1_010 });
    expect(breakerAcquire(s, 500).allowed).toBe(false);
    const probe = breakerAcquire(s, 1_010);
    expect(probe).toEqual({ allowed: true, state: { kind: 'half-open', probing: true } });
    expect(breakerAcquire(probe.state, 1_011).allowed).toBe(false);
    expect(breakerRecord(probe.state, false, 1_100, o)).toEqual({ kind: 'open', until: 2_100 });
    expect(breakerRecord(probe.state, true, 1_100, o)).toEqual(CLOSED);
  });

  it('a success resets the failure count', () => {
    const s = breakerRecord(breakerRecord(breakerRecord(CLOSED, false, 0, o), true, 1, o), false, 2, o);
    expect(s).toEqual({ kind: 'closed', failures: 1 });
  });
});

describe('payloads', () => {
  it('standard: the alert in a Standard Webhooks envelope, the same bytes every time', () => {
    const body = payloadFor(alert, 'standard');
    expect(JSON.parse(body)).toEqual({ type: 'alert.fired', timestamp: '2025-12-02T00:00:00.501Z', data: alert });
    expect(payloadFor({ ...alert }, 'standard')).toBe(body);
    expect(webhookIdFor(alert)).toBe('alert_price_move:AAPL:1764633600000000');
  });

  it('slack: text plus blocks, as an incoming webhook takes them', () => {
    const msg = JSON.parse(payloadFor(alert, 'slack'));
    expect(msg.text).toBe(':warning: *warning* price_move on *AAPL*: AAPL moved 2.5% in 60 s');
    expect(msg.blocks.map((b: { type: string }) => b.type)).toEqual(['section', 'context']);
    expect(msg.blocks[1].elements[0].text).toContain('value 2.5 · threshold 2');
  });
});
