import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportKeys, reportWebhookId, type ReportRef } from '../../../../core/schemas/report.ts';
import { announceReport } from '../../../../infra/reports/announce.ts';
import { WebhookReceiver } from '../../../../streaming/webhooks/receiver.ts';
import { newSecret, secretKey, webhookHeaders } from '../../../../streaming/webhooks/sign.ts';

const SECRET = newSecret();
const file = (key: string, hex: string) => ({ key, uri: `s3://b/reports/${key}`, bytes: 10, sha256: hex.repeat(64) });
const ref: ReportRef = {
  date: '2026-11-20',
  html: file(reportKeys('2026-11-20').html, 'a'),
  pdf: file(reportKeys('2026-11-20').pdf, 'b'),
  summary: { symbols: 50, bars: 72_000, trades: 1_000_000, volume: 5e7, alerts: 12, anomalies: 3 },
  generatedAtMs: Date.UTC(2026, 10, 21, 0, 20),
};

describe('report announcement through the real receiver', () => {
  const lines: string[] = [];
  const got: { ref: ReportRef; id: string }[] = [];
  const receiver = new WebhookReceiver({
    secrets: [secretKey(SECRET)],
    toleranceSec: 300,
    seenCapacity: 100,
    print: (l) => lines.push(l),
    onReport: (r, id) => got.push({ ref: r, id }),
  });
  let url = '';
  beforeAll(async () => {
    url = `http://127.0.0.1:${await receiver.listen(0, '127.0.0.1')}/`;
  });
  afterAll(() => receiver.close());
  const opts = () => ({ url, secrets: [SECRET], allowedHosts: ['127.0.0.1'], timeoutMs: 5_000 });

  it('is signed, accepted once, and a retry of the same report is a duplicate', async () => {
    const first = await announceReport(ref, opts());
    expect(first.webhookId).toBe(`report_2026-11-20_${'a'.repeat(16)}`);
    expect(first.webhookId).toBe(reportWebhookId(ref));
    await announceReport(ref, opts());
    expect(got).toEqual([{ ref, id: first.webhookId }]);
    expect(receiver.counts).toMatchObject({ accepted: 1, duplicate: 1, rejected: 0 });
    expect(lines[0]).toMatch(
      /REPORT 2026-11-20: 50 symbols, 12 alerts; s3:\/\/b\/reports\/date=2026-11-20\/report\.html/,
    );
  });

  it('a wrong secret is refused by the receiver and retryable for the sender; a foreign host is refused at once', async () => {
    await expect(
      announceReport({ ...ref, date: '2026-11-21' }, { ...opts(), secrets: [newSecret()] }),
    ).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: expect.stringContaining('HTTP 401'),
    });
    await expect(announceReport(ref, { ...opts(), url: 'https://evil.example.com/' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('not in webhooks.allowedHosts'),
    });
    await expect(announceReport(ref, { ...opts(), secrets: [] })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('rejects a signed report.published whose data is not a report, saying why', () => {
    const body = JSON.stringify({ type: 'report.published', timestamp: 'now', data: { ...ref, date: 'yesterday' } });
    const headers = webhookHeaders([secretKey(SECRET)], 'report_x', Math.floor(Date.now() / 1000), body);
    const v = receiver.check(headers, Buffer.from(body));
    expect(v).toMatchObject({ status: 'rejected', http: 400, reason: expect.stringMatching(/^not a report: /) });
  });
});
