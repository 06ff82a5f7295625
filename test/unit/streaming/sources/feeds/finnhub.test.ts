import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { tickSchema } from '../../../../../core/schemas/tick.ts';
import { createFeedSource } from '../../../../../streaming/sources/feeds/index.ts';
import { startFakeFinnhub } from '../../../../support/fake-feeds/finnhub.ts';
import { captureLogger, Consumer, FAST, until } from '../../../../support/fake-feeds/harness.ts';

const TOKEN = 'fh-token-0123456789abcdef';
// 2024-03-01T14:30:00.123Z
const T0 = 1_709_303_400_123;

describe('finnhub feed', () => {
  let fake: Awaited<ReturnType<typeof startFakeFinnhub>>;
  let log: ReturnType<typeof captureLogger>;
  const consumers: Consumer[] = [];

  beforeEach(async () => {
    fake = await startFakeFinnhub({ token: TOKEN, pingIntervalMs: 50, invalidSymbols: ['NOPE'] });
    log = captureLogger();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await fake.server.close();
  });

  function start(opts: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = { FINNHUB_API_KEY: TOKEN }) {
    const source = createFeedSource(
      'finnhub',
      { url: fake.url, symbols: ['AAPL', 'BINANCE:BTCUSDT'], ...FAST, ...opts },
      env,
      { logger: log.logger },
    );
    const consumer = new Consumer(source);
    consumers.push(consumer);
    return consumer;
  }

  it('connects with the token, subscribes each symbol, and maps trades field by field (ms -> µs)', async () => {
    const c = start();
    await until(() => fake.subscriptions().length === 2, 'subscriptions');
    expect(fake.server.sent()).toEqual([
      { type: 'subscribe', symbol: 'AAPL' },
      { type: 'subscribe', symbol: 'BINANCE:BTCUSDT' },
    ]);
    const before = Date.now() * 1000;
    fake.trades([
      { s: 'AAPL', p: 189.25, v: 100, t: T0, c: ['1', '12'] },
      { s: 'AAPL', p: 189.26, v: 5, t: T0 },
      { s: 'BINANCE:BTCUSDT', p: 61000.5, v: 0.011467, t: T0 + 1, c: [] },
    ]);
    const ticks = await c.waitForTicks(3);
    const after = Date.now() * 1000;
    for (const t of ticks) {
      expect(tickSchema.parse(t)).toEqual(t);
      expect(t.recvTs).toBeGreaterThanOrEqual(before);
      expect(t.recvTs).toBeLessThanOrEqual(after);
    }
    // seq = 2 * (eventMs * 1000 + ordinal within that ms): two AAPL trades in one ms get ordinals 0 and 1.
    expect(ticks.map(({ recvTs: _r, ...rest }) => rest)).toEqual([
      {
        v: 1,
        id: 'finnhub:AAPL:3418606800246000',
        source: 'finnhub',
        symbol: 'AAPL',
        seq: 3_418_606_800_246_000,
        ts: 1_709_303_400_123_000,
        conditions: ['1', '12'],
        type: 'trade',
        price: 189.25,
        size: 100,
      },
      {
        v: 1,
        id: 'finnhub:AAPL:3418606800246002',
        source: 'finnhub',
        symbol: 'AAPL',
        seq: 3_418_606_800_246_002,
        ts: 1_709_303_400_123_000,
        type: 'trade',
        price: 189.26,
        size: 5,
      },
      {
        v: 1,
        id: 'finnhub:BINANCE:BTCUSDT:3418606800248000',
        source: 'finnhub',
        symbol: 'BINANCE:BTCUSDT',
        seq: 3_418_606_800_248_000,
        ts: 1_709_303_400_124_000,
        type: 'trade',
        price: 61000.5,
        size: 0.011467,
      },
    ]);
    expect(c.records.map((r) => r.key)).toEqual(['AAPL', 'AAPL', 'BINANCE:BTCUSDT']);
  });

  it('fails once, without retrying, when the token is refused (HTTP 401), and never shows the token', async () => {
    const wrong = 'fh-wrong-token-987654321';
    const c = start({}, { FINNHUB_API_KEY: wrong });
    await c.done;
    expect(isTickLakeError(c.error, 'CONFIG_INVALID')).toBe(true);
    const message = (c.error as Error).message;
    expect(message).toContain('finnhub rejected the credentials (HTTP 401 on connect)');
    expect(message).toContain('FINNHUB_API_KEY');
    expect(fake.server.upgradeAttempts).toBe(1);
    expect(`${message}\n${log.text()}`).not.toContain(wrong);
  });

  it('names the missing variable before connecting', () => {
    let caught: unknown;
    try {
      createFeedSource('finnhub', { url: fake.url, symbols: ['AAPL'] }, {});
    } catch (err) {
      caught = err;
    }
    expect(isTickLakeError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(/FINNHUB_API_KEY \(not set\)/);
    expect(fake.server.upgradeAttempts).toBe(0);
  });

  it('passes unparseable and unmappable messages through as raw bytes, and keeps streaming', async () => {
    const c = start();
    await until(() => fake.subscriptions().length === 2, 'subscriptions');
    fake.server.broadcast('{"data":[{"s":"AAPL"');
    fake.server.broadcast({
      type: 'trade',
      data: [
        { s: 'AAPL', p: 'n/a', v: 1, t: T0 },
        { s: 'AAPL', p: 1.5, v: 2, t: T0 },
      ],
    });
    fake.server.broadcast({ type: 'news', headline: 'x' });
    await until(() => c.records.length === 4, '4 records');
    const bad = c.malformed();
    expect(bad.map((r) => [r.key, (r.value as Buffer).toString()])).toEqual([
      ['finnhub', '{"data":[{"s":"AAPL"'],
      ['AAPL', '{"s":"AAPL","p":"n/a","v":1,"t":1709303400123}'],
      ['finnhub', '{"type":"news","headline":"x"}'],
    ]);
    expect(c.ticks()).toHaveLength(1);
    expect(c.source.stats().counters).toMatchObject({ parseErrors: 1, malformed: 3, ticks: 1 });
    expect(log.text()).toContain('passing unmappable message through');
  });

  it('keeps going after an error message (an invalid symbol) and counts it', async () => {
    const c = start({ symbols: ['NOPE', 'AAPL'] });
    await until(() => fake.subscriptions().length === 1, 'subscription');
    await until(() => c.source.stats().counters.vendorErrors === 1, 'error counted');
    expect(log.text()).toContain('Invalid symbol NOPE');
    fake.trades([{ s: 'AAPL', p: 1, v: 1, t: T0 }]);
    await c.waitForTicks(1);
  });

  it('treats the server ping messages as liveness and emits nothing for them', async () => {
    const c = start({ heartbeat: { pingIntervalMs: 10_000, timeoutMs: 150 } });
    await until(() => fake.subscriptions().length === 2, 'subscriptions');
    // The client never pings within the test; only Finnhub's {"type":"ping"} (every 50 ms) keeps it alive. Ten of
    // them (a few may be subscription acks) span more than twice the 150 ms heartbeat timeout: a wait on input, not on a clock.
    await until(() => (c.source.stats().counters.messages ?? 0) >= 10, 'ten server pings');
    expect(c.source.stats().counters.heartbeatTimeouts).toBeUndefined();
    expect(c.records).toEqual([]);
    expect(c.source.stats().counters.messages).toBeGreaterThanOrEqual(5);
  });
});
