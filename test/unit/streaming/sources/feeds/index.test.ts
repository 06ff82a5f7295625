import { describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { createFeedSource, FEED_VENDOR_NAMES, FEED_VENDORS } from '../../../../../streaming/sources/feeds/index.ts';

describe('feed registry', () => {
  it('lists the four vendors with a schema whose defaults point at the real endpoints', () => {
    expect(FEED_VENDOR_NAMES).toEqual(['finnhub', 'alpaca', 'polygon', 'coinbase']);
    const urls = FEED_VENDOR_NAMES.map(
      (v) => (FEED_VENDORS[v].optionsSchema.parse({ symbols: ['AAPL'] }) as { url: string }).url,
    );
    expect(urls).toEqual([
      'wss://ws.finnhub.io',
      'wss://stream.data.alpaca.markets/v2/iex',
      'wss://socket.polygon.io/stocks',
      'wss://ws-feed.exchange.coinbase.com',
    ]);
    expect(FEED_VENDORS.alpaca.env).toEqual(['ALPACA_API_KEY_ID', 'ALPACA_API_SECRET_KEY']);
  });

  it('accepts comma-separated lists, as the command line passes them', () => {
    const parsed = FEED_VENDORS.polygon.optionsSchema.parse({ symbols: 'AAPL, MSFT', channels: 'trades' });
    expect(parsed).toMatchObject({ symbols: ['AAPL', 'MSFT'], channels: ['trades'] });
    expect(FEED_VENDORS.polygon.optionsSchema.safeParse({ symbols: '' }).success).toBe(false);
    expect(FEED_VENDORS.polygon.optionsSchema.safeParse({ symbols: 'AAPL', channels: [] }).success).toBe(false);
  });

  it('builds a source named after the vendor without connecting', async () => {
    const source = createFeedSource('polygon', { symbols: ['AAPL'] }, { POLYGON_API_KEY: 'k-123456' });
    expect(source.name).toBe('polygon');
    expect(source.stats()).toEqual({ emitted: 0, counters: {} });
    await source.close();
  });

  it('rejects an unknown vendor and bad options with the option path', () => {
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const unknown = attempt(() => createFeedSource('bloomberg', {}, {}));
    expect(isTickLakeError(unknown, 'CONFIG_INVALID')).toBe(true);
    expect((unknown as Error).message).toContain('known: finnhub, alpaca, polygon, coinbase');
    const bad = attempt(() =>
      createFeedSource(
        'finnhub',
        { symbols: ['aapl'], channels: ['quotes'], url: 'not a url' },
        { FINNHUB_API_KEY: 'k-123456' },
      ),
    );
    expect(isTickLakeError(bad, 'CONFIG_INVALID')).toBe(true);
    const message = (bad as Error).message;
    expect(message).toContain('finnhub.symbols.0');
    expect(message).toContain('finnhub.channels.0');
    expect(message).toContain('finnhub.url');
  });

  it('ends the batches at once when the signal is already aborted', async () => {
    const source = createFeedSource('coinbase', { symbols: ['BTC-USD'] }, {});
    const batches = [];
    for await (const b of source.batches(AbortSignal.abort())) batches.push(b);
    expect(batches).toEqual([]);
  });
});
