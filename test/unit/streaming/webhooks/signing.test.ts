import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../../core/schemas/alert.ts';
import { payloadFor, webhookIdFor } from '../../../../core/webhooks/payload.ts';
import { WebhookReceiver } from '../../../../streaming/webhooks/receiver.ts';
import { newSecret, secretKey, webhookHeaders } from '../../../../streaming/webhooks/sign.ts';

const alert: Alert = {
  v: 1,
  id: 'spread:MSFT:1764633600000000',
  rule: 'spread',
  symbol: 'MSFT',
  severity: 'critical',
  ts: 1764633600500000,
  windowStart: 1764633600000000,
  value: 41,
  threshold: 25,
  message: 'MSFT spread 41 bps',
  emittedTs: 1764633600501000,
};
const OLD = newSecret();
const NEW = newSecret();
const nowSec = () => Math.floor(Date.now() / 1000);

describe('our signatures, checked by the standardwebhooks package', () => {
  const body = payloadFor(alert, 'standard');
  const id = webhookIdFor(alert);

  it('verify with the secret that signed them', () => {
    const headers = webhookHeaders([secretKey(OLD)], id, nowSec(), body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(OLD).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('verify with either secret while rotating (two signatures, space-separated)', () => {
    const headers = webhookHeaders([secretKey(OLD), secretKey(NEW)], id, nowSec(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(OLD).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(NEW).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(/No matching signature/);
  });

  it('fail on a tampered body, id or timestamp', () => {
    const ts = nowSec();
    const headers = webhookHeaders([secretKey(OLD)], id, ts, body);
    const wh = new Webhook(OLD);
    expect(() => wh.verify(body.replace('41', '42'), headers)).toThrow(/No matching signature/);
    expect(() => wh.verify(body, { ...headers, 'webhook-id': `${id}x` })).toThrow(/No matching signature/);
    expect(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(ts - 1) })).toThrow(/No matching signature/);
  });
});

describe('webhook-receiver over HTTP', () => {
  const lines: string[] = [];
  const received: string[] = [];
  const receiver = new WebhookReceiver({
    secrets: [secretKey(NEW)],
    toleranceSec: 300,
    seenCapacity: 1000,
    print: (l) => lines.push(l),
    onAlert: (_a, id) => received.push(id),
  });
  let url = '';
  beforeAll(async () => {
    url = `http://127.0.0.1:${await receiver.listen(0, '127.0.0.1')}/hooks`;
  });
  afterAll(() => receiver.close());

  const post = (body: string, headers: Record<string, string>) =>
    fetch(url, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } });

  it('accepts a valid delivery and logs it in one readable line', async () => {
    const a = { ...alert, id: 'spread:MSFT:1' };
    const body = payloadFor(a, 'standard');
    const res = await post(body, webhookHeaders([secretKey(NEW)], webhookIdFor(a), nowSec(), body));
    expect(res.status).toBe(200);
    expect(received).toEqual(['alert_spread:MSFT:1']);
    expect(lines.at(-1)).toMatch(
      /CRITICAL spread MSFT: MSFT spread 41 bps \(value 41, threshold 25, \d+ ms after the event\) id=alert_spread:MSFT:1$/,
    );
  });

  it('accepts a message signed by the old and the new secret during rotation', async () => {
    const a = { ...alert, id: 'spread:MSFT:2' };
    const body = payloadFor(a, 'standard');
    const res = await post(body, webhookHeaders([secretKey(OLD), secretKey(NEW)], webhookIdFor(a), nowSec(), body));
    expect(res.status).toBe(200);
  });

  it('rejects a tampered body, an unknown secret and missing headers', async () => {
    const a = { ...alert, id: 'spread:MSFT:3' };
    const body = payloadFor(a, 'standard');
    const headers = webhookHeaders([secretKey(NEW)], webhookIdFor(a), nowSec(), body);
    expect((await post(body.replace('"value":41', '"value":4'), headers)).status).toBe(401);
    expect((await post(body, webhookHeaders([secretKey(OLD)], webhookIdFor(a), nowSec(), body))).status).toBe(401);
    expect((await post(body, { 'webhook-id': 'x' })).status).toBe(400);
    // Rejections do not burn the id: the genuine message still gets in.
    expect((await post(body, headers)).status).toBe(200);
    expect(received).toContain('alert_spread:MSFT:3');
  });

  it('rejects a timestamp outside ±5 minutes, however well signed', async () => {
    const a = { ...alert, id: 'spread:MSFT:4' };
    const body = payloadFor(a, 'standard');
    for (const ts of [nowSec() - 301, nowSec() + 301]) {
      const res = await post(body, webhookHeaders([secretKey(NEW)], webhookIdFor(a), ts, body));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/tolerance 300 s/);
    }
    expect(received).not.toContain('alert_spread:MSFT:4');
  });

  it('acknowledges a replayed webhook-id without processing it again', async () => {
    const a = { ...alert, id: 'spread:MSFT:5' };
    const body = payloadFor(a, 'standard');
    const headers = webhookHeaders([secretKey(NEW)], webhookIdFor(a), nowSec(), body);
    expect((await post(body, headers)).status).toBe(200);
    const replay = await post(body, headers);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ duplicate: true });
    // A sender's retry re-signs with a new timestamp: the same id, still not processed twice.
    const retry = await post(body, webhookHeaders([secretKey(NEW)], webhookIdFor(a), nowSec() + 1, body));
    expect(await retry.json()).toEqual({ duplicate: true });
    expect(received.filter((id) => id === 'alert_spread:MSFT:5')).toHaveLength(1);
    expect(receiver.counts.duplicate).toBe(2);
  });

  it('takes Slack-format messages too', async () => {
    const a = { ...alert, id: 'spread:MSFT:6' };
    const body = payloadFor(a, 'slack');
    const res = await post(body, webhookHeaders([secretKey(NEW)], webhookIdFor(a), nowSec(), body));
    expect(res.status).toBe(200);
    expect(lines.at(-1)).toContain('slack message: :rotating_light: *critical* spread on *MSFT*');
  });
});
