import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../../infra/logger.ts';
import { describeError, makeRedactor, redactingLogger } from '../../../../../streaming/sources/feeds/redact.ts';

describe('redaction', () => {
  const redact = makeRedactor(['s3cr3t+token/=', 'KEYID123']);

  it('masks secrets, also URL-encoded, and leaves other text alone', () => {
    expect(redact('wss://ws.finnhub.io/?token=s3cr3t%2Btoken%2F%3D')).toBe('wss://ws.finnhub.io/?token=***');
    expect(redact('key KEYID123 and s3cr3t+token/= done')).toBe('key *** and *** done');
    expect(makeRedactor([])('anything')).toBe('anything');
  });

  it('masks messages and nested fields, errors included, in every log line', () => {
    const lines: string[] = [];
    const log = redactingLogger(
      createLogger({}, 'debug', (l) => lines.push(l)),
      redact,
    ).child({ url: 'x?token=KEYID123' });
    log.warn('failed with KEYID123', { error: new Error('bad s3cr3t+token/='), nested: { list: ['KEYID123'] } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/KEYID123|s3cr3t/);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: 'failed with ***',
      error: { message: 'bad ***' },
      url: 'x?token=***',
    });
    expect(describeError(new Error('token KEYID123'), redact)).toBe('token ***');
  });
});
