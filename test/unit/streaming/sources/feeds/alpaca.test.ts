import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { tickSchema } from '../../../../../core/schemas/tick.ts';
import { alpacaOptionsSchema } from '../../../../../streaming/sources/feeds/alpaca.ts';
import { createFeedSource } from '../../../../../streaming/sources/feeds/index.ts';
import { hashKey, kindSeq } from '../../../../../streaming/sources/feeds/seq.ts';
import { startFakeAlpaca, type AlpacaQuote, type AlpacaTrade } from '../../../../support/fake-feeds/alpaca.ts';
import { captureLogger, Consumer, FAST, until } from '../../../../support/fake-feeds/harness.ts';

const KEY = 'PKTESTKEYID12345';
const SECRET = 'alpaca-test-secret-abcdef';
const ENV = { ALPACA_API_KEY_ID: KEY, ALPACA_API_SECRET_KEY: SECRET };

const TRADE: AlpacaTrade = {
  T: 't',
  i: 52983525029461,
  S: 'AAPL',
  x: 'V',
  p: 126.55,
  s: 1,
  t: '2024-03-01T14:30:00.123456789Z',
  c: ['@', 'I'],
  z: 'C',
};
const QUOTE: AlpacaQuote = {
  T: 'q',
  S: 'AMD',
  bx: 'U',
  bp: 87.66,
  bs: 1,
  ax: 'Q',
  ap: 87.68,
  as: 4,
  t: '2024-03-01T14:30:00.5Z',
  c: ['R'],
  z: 'C',
};

describe('alpaca feed', () => {
  let fake: Awaited<ReturnType<typeof startFakeAlpaca>>;
  let log: ReturnType<typeof captureLogger>;
  const consumers: Consumer[] = [];

  beforeEach(async () => {
    fake = await startFakeAlpaca({ key: KEY, secret: SECRET });
    log = captureLogger();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await fake.server.close();
  });

  function start(opts: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = ENV) {
    const source = createFeedSource('alpaca', { url: fake.url, symbols: ['AAPL', 'AMD'], ...FAST, ...opts }, env, {
      logger: log.logger,
    });
    const c = new Consumer(source);
    consumers.push(c);
    return c;
  }
  const subscribed = () => fake.subscriptions().trades.length === 2 && fake.subscriptions().quotes.length === 2;

  it('answers the welcome with auth, then subscribes trades and quotes', async () => {
    start();
    await until(subscribed, 'subscription');
    expect(fake.server.sent()).toEqual([
      { action: 'auth', key: KEY, secret: SECRET },
      { action: 'subscribe', trades: ['AAPL', 'AMD'], quotes: ['AAPL', 'AMD'] },
    ]);
  });

  it('maps trades and quotes field by field (RFC-3339 ns -> µs, truncated)', async () => {
    const c = start();
    await until(subscribed, 'subscription');
    fake.trades([TRADE]);
    fake.quotes([QUOTE]);
    const [trade, quote] = await c.waitForTicks(2);
    // Unique key per the vendor: symbol, New York date (2024-03-01 = day 19783), exchange, trade id.
    const tradeSeq = kindSeq('trade', hashKey('AAPL|19783|V|52983525029461'))!;
    expect(trade).toEqual({
      v: 1,
      id: `alpaca:AAPL:${tradeSeq}`,
      source: 'alpaca',
      symbol: 'AAPL',
      seq: tradeSeq,
      ts: 1_709_303_400_123_456,
      recvTs: trade!.recvTs,
      exchange: 'V',
      conditions: ['@', 'I'],
      type: 'trade',
      price: 126.55,
      size: 1,
    });
    // No quote id: 2 * (event ms * 1000 + ordinal) + 1; bid and ask venues differ, so no single exchange.
    expect(quote).toEqual({
      v: 1,
      id: 'alpaca:AMD:3418606801000001',
      source: 'alpaca',
      symbol: 'AMD',
      seq: 3_418_606_801_000_001,
      ts: 1_709_303_400_500_000,
      recvTs: quote!.recvTs,
      conditions: ['R'],
      type: 'quote',
      bid: 87.66,
      bidSize: 1,
      ask: 87.68,
      askSize: 4,
    });
    expect(tickSchema.parse(trade)).toEqual(trade);
    expect(tickSchema.parse(quote)).toEqual(quote);
    expect(trade!.recvTs).toBeGreaterThan(1_700_000_000_000_000);
  });

  it('gives a re-sent trade the same id, and a different trade of the same microsecond another', async () => {
    const c = start();
    await until(subscribed, 'subscription');
    fake.trades([TRADE, TRADE, { ...TRADE, i: TRADE.i + 1 }, { ...TRADE, x: 'D' }]);
    const ids = (await c.waitForTicks(4)).map((t) => t.id);
    expect(ids[0]).toBe(ids[1]);
    expect(new Set(ids).size).toBe(3);
  });

  it('stops on "402 auth failed" naming both variables, without showing either secret', async () => {
    const c = start({}, { ALPACA_API_KEY_ID: 'PKWRONGKEY999', ALPACA_API_SECRET_KEY: 'wrong-secret-777' });
    await c.done;
    expect(isTickLakeError(c.error, 'CONFIG_INVALID')).toBe(true);
    const message = (c.error as Error).message;
    expect(message).toBe(
      'alpaca rejected the credentials (402 auth failed); check ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY',
    );
    expect(fake.server.totalConnections).toBe(1);
    const shown = `${message}\n${log.text()}`;
    expect(shown).not.toContain('PKWRONGKEY999');
    expect(shown).not.toContain('wrong-secret-777');
  });

  it('names every missing variable', () => {
    expect(() => createFeedSource('alpaca', { symbols: ['AAPL'] }, { ALPACA_API_KEY_ID: KEY })).toThrow(
      /ALPACA_API_SECRET_KEY \(not set\)/,
    );
    expect(() => createFeedSource('alpaca', { symbols: ['AAPL'] }, {})).toThrow(
      /variables ALPACA_API_KEY_ID, ALPACA_API_SECRET_KEY/,
    );
  });

  it('retries with backoff on "406 connection limit exceeded" until the other connection goes away', async () => {
    const other = new WebSocket(fake.url);
    await new Promise((r) => other.once('open', r));
    other.send(JSON.stringify({ action: 'auth', key: KEY, secret: SECRET }));
    await until(() => fake.server.sent().length === 1, 'other client authenticated');
    const c = start();
    await until(() => (c.source.stats().counters.vendorErrors ?? 0) >= 2, 'two 406 refusals');
    expect(log.text()).toContain('connection limit exceeded');
    other.close();
    await until(subscribed, 'subscription after the other client left', 5_000);
    fake.trades([TRADE]);
    await c.waitForTicks(1);
    expect(c.error).toBeUndefined();
  });

  it('passes unsupported message types (corrections) and broken trades through as raw records', async () => {
    const c = start();
    await until(subscribed, 'subscription');
    const correction = { T: 'c', S: 'AAPL', x: 'V', oi: 1, ci: 2, op: 1, cp: 2, t: TRADE.t };
    fake.server.broadcast([correction, { ...TRADE, t: '2024-03-01 late afternoon' }, TRADE]);
    fake.server.broadcast('[{"T":"t"');
    await until(() => c.records.length === 4, '4 records');
    expect(c.malformed().map((r) => [r.key, (r.value as Buffer).toString()])).toEqual([
      ['AAPL', JSON.stringify(correction)],
      ['AAPL', JSON.stringify({ ...TRADE, t: '2024-03-01 late afternoon' })],
      ['alpaca', '[{"T":"t"'],
    ]);
    expect(c.source.stats().counters).toMatchObject({ malformed: 3, parseErrors: 1, ticks: 1 });
  });

  it('reconnects when the handshake stalls, and stops cleanly in the middle of one', async () => {
    await fake.server.close();
    fake = await startFakeAlpaca({ key: KEY, secret: SECRET, welcome: false });
    const c = start({ readyTimeoutMs: 150 });
    await until(() => c.source.stats().counters.connections === 2, 'second connection after the ready timeout');
    expect(log.text()).toContain('not subscribed within 150 ms');
    await c.stop();
    expect(c.error).toBeUndefined();
    expect(fake.server.sent()).toEqual([]);
    await until(() => fake.server.closes.length === 2, 'both closed');
    expect(fake.server.closes.map((x) => x.code)).toEqual([1000, 1000]);
  });

  it('derives the URL from the feed unless one is given', () => {
    expect(alpacaOptionsSchema.parse({ symbols: ['AAPL'] }).url).toBe('wss://stream.data.alpaca.markets/v2/iex');
    expect(alpacaOptionsSchema.parse({ symbols: ['AAPL'], feed: 'sip' }).url).toBe(
      'wss://stream.data.alpaca.markets/v2/sip',
    );
  });
});
