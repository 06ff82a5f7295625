import { afterEach, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { tickSchema } from '../../../../../core/schemas/tick.ts';
import { coinbaseSignature } from '../../../../../streaming/sources/feeds/coinbase.ts';
import { createFeedSource } from '../../../../../streaming/sources/feeds/index.ts';
import {
  startFakeCoinbase,
  type CoinbaseMatch,
  type CoinbaseTicker,
  type FakeCoinbaseOptions,
} from '../../../../support/fake-feeds/coinbase.ts';
import { captureLogger, Consumer, FAST, until } from '../../../../support/fake-feeds/harness.ts';

const match = (tradeId: number, extra: Partial<CoinbaseMatch> = {}): CoinbaseMatch => ({
  type: 'match',
  trade_id: tradeId,
  sequence: 50_000 + tradeId,
  maker_order_id: 'ac928c66-ca53-498f-9c13-a110027a60e8',
  taker_order_id: '132fb6ae-456b-4654-b4e0-d681ac05cea1',
  time: '2024-03-01T14:30:00.123456Z',
  product_id: 'BTC-USD',
  size: '0.00512',
  price: '61234.56',
  side: 'sell',
  ...extra,
});

const TICKER: CoinbaseTicker = {
  type: 'ticker',
  sequence: 37475248783,
  product_id: 'ETH-USD',
  price: '3390.22',
  open_24h: '3300.00',
  volume_24h: '100000.1',
  low_24h: '3280.00',
  high_24h: '3400.00',
  volume_30d: '3000000.5',
  best_bid: '3390.04',
  best_bid_size: '0.46688654',
  best_ask: '3390.27',
  best_ask_size: '1.56637040',
  side: 'buy',
  time: '2024-03-01T14:30:01.061769Z',
  trade_id: 370843401,
  last_size: '11.4396987',
};

// Coinbase issues the secret base64-encoded.
const AUTH = {
  key: 'cb-key-0011223344',
  secret: Buffer.from('coinbase-raw-secret-bytes').toString('base64'),
  passphrase: 'cb-pass-phrase-99',
};
const AUTH_ENV = {
  COINBASE_API_KEY: AUTH.key,
  COINBASE_API_SECRET: AUTH.secret,
  COINBASE_API_PASSPHRASE: AUTH.passphrase,
};

describe('coinbase feed', () => {
  let fake: Awaited<ReturnType<typeof startFakeCoinbase>> | undefined;
  let log: ReturnType<typeof captureLogger>;
  const consumers: Consumer[] = [];

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await fake?.server.close();
  });

  async function start(
    opts: Record<string, unknown> = {},
    env: NodeJS.ProcessEnv = {},
    fakeOpts: Partial<FakeCoinbaseOptions> = {},
  ) {
    const f = (fake = await startFakeCoinbase({
      products: ['BTC-USD', 'ETH-USD'],
      heartbeatIntervalMs: 40,
      ...fakeOpts,
    }));
    log = captureLogger();
    const source = createFeedSource(
      'coinbase',
      { url: f.url, symbols: ['BTC-USD', 'ETH-USD'], ...FAST, ...opts },
      env,
      {
        logger: log.logger,
      },
    );
    const c = new Consumer(source);
    consumers.push(c);
    return { f, c };
  }
  const subscribed = () => fake!.subscriptions().ticker?.length === 2;

  it('subscribes matches, ticker and heartbeat in one message, without credentials', async () => {
    const { f } = await start();
    await until(subscribed, 'subscriptions');
    expect(f.server.sent()).toEqual([
      { type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channels: ['matches', 'ticker', 'heartbeat'] },
    ]);
  });

  it('maps matches and tickers field by field (ISO µs -> µs, decimal strings -> numbers)', async () => {
    const { f, c } = await start();
    await until(subscribed, 'subscriptions');
    f.match(match(101));
    f.ticker(TICKER);
    const [trade, quote] = await c.waitForTicks(2);
    expect(trade).toEqual({
      v: 1,
      id: 'coinbase:BTC-USD:202',
      source: 'coinbase',
      symbol: 'BTC-USD',
      seq: 202,
      ts: 1_709_303_400_123_456,
      recvTs: trade!.recvTs,
      type: 'trade',
      price: 61234.56,
      size: 0.00512,
    });
    expect(quote).toEqual({
      v: 1,
      id: 'coinbase:ETH-USD:74950497567',
      source: 'coinbase',
      symbol: 'ETH-USD',
      seq: 74_950_497_567,
      ts: 1_709_303_401_061_769,
      recvTs: quote!.recvTs,
      type: 'quote',
      bid: 3390.04,
      bidSize: 0.46688654,
      ask: 3390.27,
      askSize: 1.5663704,
    });
    expect(tickSchema.parse(trade)).toEqual(trade);
    expect(tickSchema.parse(quote)).toEqual(quote);
  });

  it('counts a trade_id jump as a sequence gap with the number of missing trades', async () => {
    const { f, c } = await start();
    await until(subscribed, 'subscriptions');
    f.match(match(101));
    f.match(match(102));
    f.match(match(105));
    await c.waitForTicks(3);
    expect(c.source.stats().counters).toMatchObject({ gaps: 1, gapsSequence: 1, gapMissing: 2 });
    expect(log.text()).toContain('sequence gap on BTC-USD: match trade_id 105 after 102');
  });

  it('counts trades a heartbeat proves were missed', async () => {
    const { f, c } = await start();
    await until(subscribed, 'subscriptions');
    f.match(match(101));
    await c.waitForTicks(1);
    f.tradedUnseen('BTC-USD', 108);
    await until(() => c.source.stats().counters.gapMissing === 7, 'heartbeat gap');
    expect(log.text()).toContain('heartbeat trade_id 108 after 101');
  });

  it('after a reconnect, re-sends last_match with the same id and counts trades missed during the outage', async () => {
    const { f, c } = await start();
    await until(subscribed, 'subscriptions');
    f.match(match(101));
    await c.waitForTicks(1);
    f.server.drop();
    await until(() => f.server.connections.size === 0, 'dropped');
    f.match(match(102)); // nobody listening
    f.match(match(103));
    await until(() => f.server.totalConnections === 2 && subscribed(), 'resubscribed');
    f.match(match(104));
    const ticks = await c.waitForTicks(3);
    // 101 live, 103 as last_match on the new connection, 104 live: 102 is lost and counted.
    expect(ticks.map((t) => t.seq / 2)).toEqual([101, 103, 104]);
    expect(c.source.stats().counters).toMatchObject({ gapsSequence: 1, gapMissing: 1 });
    expect(c.source.stats().counters.gapsOutage).toBeUndefined();
  });

  it('counts a replayed last_match and gives it the id the original had', async () => {
    const { f, c } = await start();
    await until(subscribed, 'subscriptions');
    f.match(match(101));
    await c.waitForTicks(1);
    f.server.drop();
    await until(() => f.server.totalConnections === 2 && subscribed(), 'resubscribed');
    const ticks = await c.waitForTicks(2);
    expect(ticks[1]!.id).toBe(ticks[0]!.id);
    expect(c.source.stats().counters.replayed).toBe(1);
  });

  it('fails on a product the exchange refuses, naming the reason', async () => {
    const f = (fake = await startFakeCoinbase({ products: ['BTC-USD'] }));
    const source = createFeedSource('coinbase', { url: f.url, symbols: ['BTC-USD', 'DOGE-EUR'], ...FAST }, {});
    const c = new Consumer(source);
    consumers.push(c);
    await c.done;
    expect(isTickLakeError(c.error, 'CONFIG_INVALID')).toBe(true);
    expect((c.error as Error).message).toBe(
      'coinbase refused the subscription: Failed to subscribe (DOGE-EUR is not a valid product)',
    );
  });

  it('signs the subscribe when asked to, as the exchange verifies it', async () => {
    const { f } = await start({ authenticate: true }, AUTH_ENV, { auth: AUTH });
    await until(subscribed, 'subscriptions');
    const sent = f.server.sent()[0] as Record<string, string>;
    expect(sent).toMatchObject({ key: AUTH.key, passphrase: AUTH.passphrase });
    expect(sent.signature).toBe(coinbaseSignature(AUTH.secret, sent.timestamp!));
  });

  it('stops on a rejected signature, naming the variables and showing none of them', async () => {
    const wrong = { ...AUTH_ENV, COINBASE_API_SECRET: Buffer.from('another-secret').toString('base64') };
    const { c, f } = await start({ authenticate: true }, wrong, { auth: AUTH });
    await c.done;
    expect(isTickLakeError(c.error, 'CONFIG_INVALID')).toBe(true);
    const message = (c.error as Error).message;
    expect(message).toBe(
      'coinbase rejected the credentials (Sorry, you could not be authenticated: Bad Request (invalid signature)); ' +
        'check COINBASE_API_KEY and COINBASE_API_SECRET and COINBASE_API_PASSPHRASE',
    );
    expect(f.server.totalConnections).toBe(1);
    const shown = `${message}\n${log.text()}`;
    for (const v of Object.values(wrong)) expect(shown).not.toContain(v);
  });

  it('needs the credentials only when authenticating', () => {
    expect(() => createFeedSource('coinbase', { symbols: ['BTC-USD'] }, {})).not.toThrow();
    expect(() =>
      createFeedSource('coinbase', { symbols: ['BTC-USD'], authenticate: true }, { COINBASE_API_KEY: 'k-123456' }),
    ).toThrow(/COINBASE_API_SECRET, COINBASE_API_PASSPHRASE \(not set\)/);
  });

  it('passes a ticker without sizes and unknown types through as the exact bytes received', async () => {
    const { f, c } = await start();
    await until(subscribed, 'subscriptions');
    const { best_bid_size: _b, ...noSize } = TICKER;
    f.server.broadcast(noSize);
    f.server.broadcast({ type: 'status', products: [] });
    await until(() => c.records.length === 2, '2 records');
    expect(c.malformed().map((r) => [r.key, (r.value as Buffer).toString()])).toEqual([
      ['ETH-USD', JSON.stringify(noSize)],
      ['coinbase', '{"type":"status","products":[]}'],
    ]);
  });
});
