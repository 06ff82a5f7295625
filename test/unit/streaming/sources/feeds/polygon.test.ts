import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { tickSchema } from '../../../../../core/schemas/tick.ts';
import { createFeedSource } from '../../../../../streaming/sources/feeds/index.ts';
import { captureLogger, Consumer, FAST, until } from '../../../../support/fake-feeds/harness.ts';
import { startFakePolygon, type PolygonQuote, type PolygonTrade } from '../../../../support/fake-feeds/polygon.ts';

const API_KEY = 'polygon-key-abcdef123456';
// 2024-03-01T14:30:00.123Z; New York trading date 2024-03-01 = day 19783.
const T0 = 1_709_303_400_123;
const DAY = 19783;

const TRADE: PolygonTrade = {
  ev: 'T',
  sym: 'MSFT',
  x: 4,
  i: '12345',
  z: 3,
  p: 414.125,
  s: 100,
  c: [0, 12],
  t: T0,
  q: 3681328,
};
const QUOTE: PolygonQuote = {
  ev: 'Q',
  sym: 'MSFT',
  bx: 4,
  bp: 414.12,
  bs: 100,
  ax: 7,
  ap: 414.13,
  as: 160,
  c: 1,
  i: [604],
  t: T0 + 1,
  q: 50385480,
  z: 3,
};

describe('polygon feed', () => {
  let fake: Awaited<ReturnType<typeof startFakePolygon>>;
  let log: ReturnType<typeof captureLogger>;
  const consumers: Consumer[] = [];

  beforeEach(async () => {
    fake = await startFakePolygon({ apiKey: API_KEY });
    log = captureLogger();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await fake.server.close();
  });

  function start(opts: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = { POLYGON_API_KEY: API_KEY }) {
    const source = createFeedSource('polygon', { url: fake.url, symbols: ['MSFT', 'AAPL'], ...FAST, ...opts }, env, {
      logger: log.logger,
    });
    const c = new Consumer(source);
    consumers.push(c);
    return c;
  }
  const subscribed = () => fake.subscriptions().length === 4;

  it('authenticates after "connected" and subscribes T.* and Q.* for every symbol', async () => {
    start();
    await until(subscribed, 'subscriptions');
    expect(fake.server.sent()).toEqual([
      { action: 'auth', params: API_KEY },
      { action: 'subscribe', params: 'T.MSFT,T.AAPL,Q.MSFT,Q.AAPL' },
    ]);
  });

  it('maps trades and quotes field by field (unix ms -> µs; seq from the trading date and q)', async () => {
    const c = start();
    await until(subscribed, 'subscriptions');
    fake.publish([TRADE, QUOTE]);
    const [trade, quote] = await c.waitForTicks(2);
    const tradeSeq = (DAY * 2 ** 34 + 3681328) * 2;
    const quoteSeq = (DAY * 2 ** 34 + 50385480) * 2 + 1;
    expect(trade).toEqual({
      v: 1,
      id: `polygon:MSFT:${tradeSeq}`,
      source: 'polygon',
      symbol: 'MSFT',
      seq: tradeSeq,
      ts: 1_709_303_400_123_000,
      recvTs: trade!.recvTs,
      exchange: '4',
      conditions: ['0', '12'],
      type: 'trade',
      price: 414.125,
      size: 100,
    });
    expect(quote).toEqual({
      v: 1,
      id: `polygon:MSFT:${quoteSeq}`,
      source: 'polygon',
      symbol: 'MSFT',
      seq: quoteSeq,
      ts: 1_709_303_400_124_000,
      recvTs: quote!.recvTs,
      conditions: ['1'],
      type: 'quote',
      bid: 414.12,
      bidSize: 100,
      ask: 414.13,
      askSize: 160,
    });
    expect(tickSchema.parse(trade)).toEqual(trade);
    expect(tickSchema.parse(quote)).toEqual(quote);
  });

  it('keeps the id of a re-sent trade (polygon-io/issues#56) and falls back to the ms ordinal without q', async () => {
    const c = start();
    await until(subscribed, 'subscriptions');
    const { q: _q, ...noSeq } = TRADE;
    fake.publish([TRADE, TRADE, noSeq]);
    const ticks = await c.waitForTicks(3);
    expect(ticks[0]!.id).toBe(ticks[1]!.id);
    expect(ticks[2]!.seq).toBe(T0 * 1000 * 2);
  });

  it('stops on auth_failed naming POLYGON_API_KEY, without reconnecting or showing the key', async () => {
    const c = start({}, { POLYGON_API_KEY: 'polygon-wrong-key-000' });
    await c.done;
    expect(isTickLakeError(c.error, 'CONFIG_INVALID')).toBe(true);
    expect((c.error as Error).message).toBe(
      'polygon rejected the credentials (auth_failed: authentication failed); check POLYGON_API_KEY',
    );
    expect(fake.server.totalConnections).toBe(1);
    expect(`${(c.error as Error).message}\n${log.text()}`).not.toContain('polygon-wrong-key-000');
  });

  it('reconnects after a max_connections eviction and resubscribes', async () => {
    const c = start();
    await until(subscribed, 'subscriptions');
    fake.maxConnections();
    await until(() => fake.server.totalConnections === 2 && subscribed(), 'resubscribed');
    expect(c.source.stats().counters).toMatchObject({ vendorErrors: 1, reconnects: 1 });
    expect(log.text()).toContain('connection limit reached');
    fake.publish([TRADE]);
    await c.waitForTicks(1);
  });

  it('passes unknown events and unmappable ones through as raw records', async () => {
    const c = start();
    await until(subscribed, 'subscriptions');
    const agg = { ev: 'A', sym: 'MSFT', v: 5400, o: 1, c: 1, h: 1, l: 1, s: T0, e: T0 + 1000 };
    const broken = { ...QUOTE, bp: null };
    fake.server.broadcast([agg, broken, TRADE]);
    await until(() => c.records.length === 3, '3 records');
    expect(c.malformed().map((r) => [r.key, (r.value as Buffer).toString()])).toEqual([
      ['MSFT', JSON.stringify(agg)],
      ['MSFT', JSON.stringify(broken)],
    ]);
    expect(c.ticks()).toHaveLength(1);
  });
});
