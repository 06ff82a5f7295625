import type { z } from 'zod';
import { TickLakeError } from '../../../core/errors.ts';
import { createLogger, type Logger } from '../../../infra/logger.ts';
import type { TickSource } from '../source.ts';
import type { FeedAdapter } from './adapter.ts';
import { ALPACA_ENV, alpacaOptionsSchema, createAlpacaAdapter } from './alpaca.ts';
import { COINBASE_ENV, coinbaseOptionsSchema, createCoinbaseAdapter } from './coinbase.ts';
import { FeedSource } from './feed-source.ts';
import { createFinnhubAdapter, FINNHUB_ENV, finnhubOptionsSchema } from './finnhub.ts';
import { createPolygonAdapter, POLYGON_ENV, polygonOptionsSchema } from './polygon.ts';
import { makeRedactor, redactingLogger } from './redact.ts';

/**
 * The one registry of live WebSocket feeds: name, option schema, the environment variables holding its
 * credentials, and the factory. Nothing registers itself by import.
 */
export interface FeedVendor {
  name: string;
  description: string;
  optionsSchema: z.ZodType;
  /** Credentials, read only from these variables (Coinbase's only when `authenticate: true`). */
  env: readonly string[];
  createAdapter(options: unknown, env: NodeJS.ProcessEnv): FeedAdapter;
}

export const FEED_VENDORS = {
  finnhub: {
    name: 'finnhub',
    description: 'Finnhub real-time trades (wss://ws.finnhub.io)',
    optionsSchema: finnhubOptionsSchema,
    env: FINNHUB_ENV,
    createAdapter: createFinnhubAdapter,
  },
  alpaca: {
    name: 'alpaca',
    description: 'Alpaca Market Data v2 stock stream: trades and quotes (iex, sip, delayed_sip, test)',
    optionsSchema: alpacaOptionsSchema,
    env: ALPACA_ENV,
    createAdapter: createAlpacaAdapter,
  },
  polygon: {
    name: 'polygon',
    description: 'Polygon.io stocks WebSocket: trades (T.*) and quotes (Q.*)',
    optionsSchema: polygonOptionsSchema,
    env: POLYGON_ENV,
    createAdapter: createPolygonAdapter,
  },
  coinbase: {
    name: 'coinbase',
    description: 'Coinbase Exchange WebSocket feed: matches (trades), ticker (quotes), heartbeat',
    optionsSchema: coinbaseOptionsSchema,
    env: COINBASE_ENV,
    createAdapter: createCoinbaseAdapter,
  },
} as const satisfies Record<string, FeedVendor>;

export type FeedVendorName = keyof typeof FEED_VENDORS;
export const FEED_VENDOR_NAMES = Object.keys(FEED_VENDORS) as FeedVendorName[];

export interface FeedDeps {
  logger?: Logger;
  /** Wall clock in ms (timers and receive times); tests may pin it. */
  now?: () => number;
  /** Jitter source in [0, 1). */
  random?: () => number;
}

/**
 * A live feed as a TickSource. Options are validated against the vendor's schema and credentials read from `env`
 * here, so a bad configuration fails before anything connects (TickLakeError CONFIG_INVALID naming the option or
 * the missing variable).
 */
export function createFeedSource(
  vendor: string,
  options: unknown,
  env: NodeJS.ProcessEnv = process.env,
  deps: FeedDeps = {},
): TickSource {
  if (!Object.hasOwn(FEED_VENDORS, vendor)) {
    throw new TickLakeError(
      'CONFIG_INVALID',
      `unknown feed vendor "${vendor}" (known: ${FEED_VENDOR_NAMES.join(', ')})`,
    );
  }
  const adapter = FEED_VENDORS[vendor as FeedVendorName].createAdapter(options, env);
  const redact = makeRedactor(adapter.secrets);
  const base = deps.logger ?? createLogger({ component: 'feed' });
  const log = redactingLogger(base.child({ vendor: adapter.vendor }), redact);
  return new FeedSource(adapter, {
    log,
    redact,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
}
