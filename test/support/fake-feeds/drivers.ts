import type { FeedVendorName } from '../../../streaming/sources/feeds/index.ts';
import { startFakeAlpaca } from './alpaca.ts';
import { startFakeCoinbase } from './coinbase.ts';
import { startFakeFinnhub } from './finnhub.ts';
import { startFakePolygon } from './polygon.ts';
import type { FakeFeedServer } from './server.ts';

/**
 * One driver per vendor, so the resilience suite runs the same scenarios against every feed: start the fake,
 * tell whether the newest connection is fully subscribed, and publish trade number n of one symbol.
 */
export interface FakeFeed {
  server: FakeFeedServer;
  url: string;
  /** The newest connection has every subscription the source asked for. */
  subscribed(): boolean;
  /** Publishes the n-th trade (n = 1, 2, ...) of the driver's symbol; ids and times increase with n. */
  trade(n: number): void;
  /** Whether the message is this vendor's unsubscribe. */
  isUnsubscribe(msg: unknown): boolean;
  /** Whether the message is this vendor's subscribe. */
  isSubscribe(msg: unknown): boolean;
}

export interface Driver {
  vendor: FeedVendorName;
  symbol: string;
  env: NodeJS.ProcessEnv;
  secrets: string[];
  /** Vendor options beyond url/symbols (e.g. channels). */
  options: Record<string, unknown>;
  start(): Promise<FakeFeed>;
}

const BASE_MS = Date.UTC(2024, 2, 1, 14, 30, 0);
const iso = (ms: number, extra = '000') => new Date(ms).toISOString().replace('Z', `${extra}Z`);
const has = (msg: unknown, key: string, value: unknown) =>
  typeof msg === 'object' && msg !== null && (msg as Record<string, unknown>)[key] === value;

export const DRIVERS: Driver[] = [
  {
    vendor: 'finnhub',
    symbol: 'AAPL',
    env: { FINNHUB_API_KEY: 'finnhub-secret-token-42' },
    secrets: ['finnhub-secret-token-42'],
    options: {},
    async start() {
      const fake = await startFakeFinnhub({ token: 'finnhub-secret-token-42', pingIntervalMs: 50 });
      return {
        server: fake.server,
        url: fake.url,
        subscribed: () => fake.subscriptions().includes('AAPL'),
        trade: (n) => fake.trades([{ s: 'AAPL', p: 100 + n, v: n, t: BASE_MS + n }]),
        isUnsubscribe: (m) => has(m, 'type', 'unsubscribe'),
        isSubscribe: (m) => has(m, 'type', 'subscribe'),
      };
    },
  },
  {
    vendor: 'alpaca',
    symbol: 'AAPL',
    env: { ALPACA_API_KEY_ID: 'PKALPACAKEYID0001', ALPACA_API_SECRET_KEY: 'alpaca-secret-key-0002' },
    secrets: ['PKALPACAKEYID0001', 'alpaca-secret-key-0002'],
    options: { feed: 'test' },
    async start() {
      const fake = await startFakeAlpaca({ key: 'PKALPACAKEYID0001', secret: 'alpaca-secret-key-0002' });
      return {
        server: fake.server,
        url: fake.url,
        subscribed: () => fake.subscriptions().trades.includes('AAPL') && fake.subscriptions().quotes.includes('AAPL'),
        trade: (n) =>
          fake.trades([
            { T: 't', S: 'AAPL', i: 1000 + n, x: 'V', p: 100 + n, s: n, t: iso(BASE_MS + n), c: ['@'], z: 'C' },
          ]),
        isUnsubscribe: (m) => has(m, 'action', 'unsubscribe'),
        isSubscribe: (m) => has(m, 'action', 'subscribe'),
      };
    },
  },
  {
    vendor: 'polygon',
    symbol: 'AAPL',
    env: { POLYGON_API_KEY: 'polygon-secret-key-0003' },
    secrets: ['polygon-secret-key-0003'],
    options: {},
    async start() {
      const fake = await startFakePolygon({ apiKey: 'polygon-secret-key-0003' });
      return {
        server: fake.server,
        url: fake.url,
        subscribed: () => ['Q.AAPL', 'T.AAPL'].every((p) => fake.subscriptions().includes(p)),
        trade: (n) =>
          fake.publish([
            { ev: 'T', sym: 'AAPL', x: 4, i: String(n), z: 3, p: 100 + n, s: n, c: [0], t: BASE_MS + n, q: 500 + n },
          ]),
        isUnsubscribe: (m) => has(m, 'action', 'unsubscribe'),
        isSubscribe: (m) => has(m, 'action', 'subscribe'),
      };
    },
  },
  {
    vendor: 'coinbase',
    symbol: 'BTC-USD',
    env: {},
    secrets: [],
    options: {},
    async start() {
      const fake = await startFakeCoinbase({ products: ['BTC-USD'], heartbeatIntervalMs: 50 });
      return {
        server: fake.server,
        url: fake.url,
        subscribed: () =>
          ['heartbeat', 'matches', 'ticker'].every((ch) => fake.subscriptions()[ch]?.includes('BTC-USD')),
        trade: (n) =>
          fake.match({
            type: 'match',
            trade_id: 1000 + n,
            sequence: 50_000 + n,
            maker_order_id: 'ac928c66-ca53-498f-9c13-a110027a60e8',
            taker_order_id: '132fb6ae-456b-4654-b4e0-d681ac05cea1',
            time: iso(BASE_MS + n, '123'),
            product_id: 'BTC-USD',
            size: '0.01',
            price: String(60_000 + n),
            side: 'sell',
          }),
        isUnsubscribe: (m) => has(m, 'type', 'unsubscribe'),
        isSubscribe: (m) => has(m, 'type', 'subscribe'),
      };
    },
  },
];
