import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { TickLakeError } from '../../../core/errors.ts';
import type { QuoteTick, TradeTick } from '../../../core/schemas/tick.ts';
import {
  authRejected,
  isRecord,
  keyOf,
  parseFeedOptions,
  parseFrame,
  quoteTick,
  requireEnv,
  tradeTick,
  type FeedAdapter,
  type FeedSession,
  type SessionContext,
} from './adapter.ts';
import { channelsSchema, commonOptionsShape } from './options.ts';
import { kindSeq } from './seq.ts';
import { bookSides, isoToUs, toNumber, toSafeInt } from './units.ts';

/**
 * Coinbase Exchange WebSocket feed, "Coinbase Market Data" endpoint (https://docs.cdp.coinbase.com/exchange/
 * websocket-feed/overview, .../channels, .../authentication), as documented:
 * - wss://ws-feed.exchange.coinbase.com; every message is a JSON object with a `type`; a client that has not
 *   subscribed within 5 s is disconnected;
 * - {"type":"subscribe","product_ids":[..],"channels":["matches","ticker","heartbeat"]} is answered with
 *   {"type":"subscriptions","channels":[{"name":..,"product_ids":[..]},..]}; "unsubscribe" likewise;
 * - matches: {"type":"match"|"last_match","trade_id","sequence","maker_order_id","taker_order_id","time" ISO µs,
 *   "product_id","size","price","side"} — "last_match" (the latest trade) is sent on subscribe;
 * - ticker: {"type":"ticker","sequence","product_id","price","best_bid","best_bid_size","best_ask",
 *   "best_ask_size","side","time","trade_id","last_size",..};
 * - heartbeat (1/s per product): {"type":"heartbeat","sequence","last_trade_id","product_id","time"} — "can be
 *   used to verify that no messages were missed";
 * - errors: {"type":"error","message":..,"reason":..}.
 * ticker, matches and heartbeat are public. Signing the subscribe (key, passphrase, timestamp, HMAC-SHA256 of
 * timestamp + "GET/users/self/verify" with the base64 secret) is optional here (`authenticate: true`); the
 * channels that need it (level2, full, user) are not market ticks ticklake uses today.
 *
 * seq: trades = trade_id (per product, contiguous, stable when re-sent: last_match after a reconnect gets the
 * same id and is deduplicated downstream); quotes = the ticker's per-product `sequence`. Gaps: a trade_id jump
 * on matches, or a heartbeat whose last_trade_id is ahead of the last trade seen.
 */
export const COINBASE_ENV = ['COINBASE_API_KEY', 'COINBASE_API_SECRET', 'COINBASE_API_PASSPHRASE'] as const;
export const COINBASE_URL = 'wss://ws-feed.exchange.coinbase.com';

export const coinbaseOptionsSchema = z.object({
  url: z.url().default(COINBASE_URL),
  channels: channelsSchema,
  /** Sign subscriptions with COINBASE_API_KEY / _SECRET / _PASSPHRASE (not needed for public market data). */
  authenticate: z.boolean().default(false),
  ...commonOptionsShape,
});
export type CoinbaseOptions = z.infer<typeof coinbaseOptionsSchema>;

const SOURCE = 'coinbase';
const CHANNEL = { trades: 'matches', quotes: 'ticker' } as const;

/** The documented Exchange signature for the websocket: base64(HMAC-SHA256(base64decode(secret), prehash)). */
export function coinbaseSignature(secret: string, timestamp: string): string {
  return createHmac('sha256', Buffer.from(secret, 'base64'))
    .update(`${timestamp}GET/users/self/verify`)
    .digest('base64');
}

export function mapCoinbaseMatch(el: Record<string, unknown>, recvTs: number): TradeTick | string {
  const symbol = el.product_id;
  if (typeof symbol !== 'string' || symbol.length === 0) return 'missing product_id';
  const ts = isoToUs(el.time);
  if (ts === undefined) return 'missing or unreadable time';
  const price = toNumber(el.price);
  const size = toNumber(el.size);
  if (price === undefined || size === undefined) return 'missing price or size';
  const tradeId = toSafeInt(el.trade_id);
  const seq = tradeId === undefined ? undefined : kindSeq('trade', tradeId);
  if (seq === undefined) return 'missing or out-of-range trade_id';
  return tradeTick({ source: SOURCE, symbol, seq, ts, recvTs, price, size });
}

export function mapCoinbaseTicker(el: Record<string, unknown>, recvTs: number): QuoteTick | string {
  const symbol = el.product_id;
  if (typeof symbol !== 'string' || symbol.length === 0) return 'missing product_id';
  const ts = isoToUs(el.time);
  if (ts === undefined) return 'missing or unreadable time';
  const book = bookSides(el, ['best_bid', 'best_bid_size', 'best_ask', 'best_ask_size']);
  if (!book) return 'missing best_bid/best_ask price or size';
  const sequence = toSafeInt(el.sequence);
  const seq = sequence === undefined ? undefined : kindSeq('quote', sequence);
  if (seq === undefined) return 'missing or out-of-range sequence';
  return quoteTick({ source: SOURCE, symbol, seq, ts, recvTs, ...book });
}

export function createCoinbaseAdapter(input: unknown, env: NodeJS.ProcessEnv): FeedAdapter {
  const options = parseFeedOptions(coinbaseOptionsSchema, SOURCE, input);
  const creds = options.authenticate ? (requireEnv(env, SOURCE, COINBASE_ENV) as [string, string, string]) : undefined;
  const channels = [...options.channels.map((c) => CHANNEL[c]), 'heartbeat'];
  const tracksTrades = options.channels.includes('trades');
  /** Last trade id per product, across connections: a reconnect's first trade is checked against it. */
  const lastTradeId = new Map<string, number>();
  const authError = (detail: string) => authRejected(SOURCE, COINBASE_ENV, detail);

  const subscribe = () => {
    const msg: Record<string, unknown> = { type: 'subscribe', product_ids: options.symbols, channels };
    if (creds) {
      const [key, secret, passphrase] = creds;
      const timestamp = (Date.now() / 1000).toFixed(3);
      Object.assign(msg, { key, passphrase, timestamp, signature: coinbaseSignature(secret, timestamp) });
    }
    return msg;
  };

  /** A match carries trade `id` itself; a heartbeat only says `id` happened, so it is missing too. */
  const checkTradeId = (ctx: SessionContext, product: string, id: number, via: 'match' | 'heartbeat') => {
    const last = lastTradeId.get(product);
    if (last !== undefined && id <= last) {
      if (via === 'match') ctx.count('replayed');
      return;
    }
    const missing = last === undefined ? 0 : via === 'match' ? id - last - 1 : id - last;
    if (missing > 0) ctx.sequenceGap(product, missing, `${via} trade_id ${id} after ${last}`);
    lastTradeId.set(product, id);
  };

  return {
    vendor: SOURCE,
    url: options.url,
    secrets: creds ?? [],
    options,
    sequenced: tracksTrades,
    authError,
    openSession(ctx: SessionContext): FeedSession {
      let ready = false;
      const subscriptions = (el: Record<string, unknown>) => {
        const listed: unknown[] = Array.isArray(el.channels) ? el.channels : [];
        if (ready) return;
        const has = (name: string) =>
          listed.some((c) => {
            const products: unknown[] = isRecord(c) && Array.isArray(c.product_ids) ? c.product_ids : [];
            return isRecord(c) && c.name === name && options.symbols.every((s) => products.includes(s));
          });
        if (channels.every(has)) {
          ready = true;
          ctx.ready();
        }
      };
      const error = (el: Record<string, unknown>) => {
        const text = `${String(el.message ?? '')}${el.reason ? ` (${String(el.reason)})` : ''}`;
        ctx.count('vendorErrors');
        if (/authenticat/i.test(text)) return ctx.fatal(authError(text));
        // Refused before the subscription was confirmed: an invalid product or channel, which retrying won't fix.
        if (!ready) {
          return ctx.fatal(new TickLakeError('CONFIG_INVALID', `coinbase refused the subscription: ${text}`));
        }
        ctx.log.warn('coinbase error message', { message: text });
        ctx.reconnect(`coinbase error: ${text}`);
      };

      return {
        onOpen() {
          ctx.send(subscribe());
        },
        onMessage(data, recvTs) {
          const el = parseFrame(data, ctx, SOURCE);
          if (el === undefined) return;
          if (!isRecord(el)) return ctx.malformed(data, SOURCE, 'frame is not an object');
          const product = keyOf(el, ['product_id'], SOURCE);
          switch (el.type) {
            case 'subscriptions':
              return subscriptions(el);
            case 'error':
              return error(el);
            case 'heartbeat': {
              const last = toSafeInt(el.last_trade_id);
              // last_trade_id 0 is what the live feed often sends (go-coinbasepro#89): no information.
              if (tracksTrades && last !== undefined && last > 0) checkTradeId(ctx, product, last, 'heartbeat');
              return;
            }
            case 'match':
            case 'last_match': {
              const mapped = mapCoinbaseMatch(el, recvTs);
              if (typeof mapped === 'string') return ctx.malformed(data, product, mapped);
              checkTradeId(ctx, mapped.symbol, toSafeInt(el.trade_id)!, 'match');
              return ctx.tick(mapped);
            }
            case 'ticker': {
              const mapped = mapCoinbaseTicker(el, recvTs);
              return typeof mapped === 'string' ? ctx.malformed(data, product, mapped) : ctx.tick(mapped);
            }
            default:
              return ctx.malformed(data, product, `unsupported message type ${String(el.type)}`);
          }
        },
        closingMessages: () => [{ type: 'unsubscribe', product_ids: options.symbols, channels }],
      };
    },
  };
}
