import { z } from 'zod';
import type { QuoteTick, TradeTick } from '../../../core/schemas/tick.ts';
import {
  authRejected,
  conditionsOf,
  dispatchArrayFrame,
  parseFeedOptions,
  quoteTick,
  requireEnv,
  tradeTick,
  type FeedAdapter,
  type FeedSession,
  type SessionContext,
} from './adapter.ts';
import { TickLakeError } from '../../../core/errors.ts';
import { channelsSchema, commonOptionsShape } from './options.ts';
import { hashKey, kindSeq, nyTradingDay, TimeOrdinals } from './seq.ts';
import { bookSides, isoToUs, toNumber, toSafeInt } from './units.ts';

/**
 * Alpaca Market Data API v2 stock stream (https://docs.alpaca.markets/docs/streaming-market-data and
 * .../real-time-stock-pricing-data), as documented:
 * - wss://stream.data.alpaca.markets/v2/{iex|sip|delayed_sip|test}; every server frame is a JSON array;
 * - on connect [{"T":"success","msg":"connected"}]; we send {"action":"auth","key":..,"secret":..} and get
 *   [{"T":"success","msg":"authenticated"}] or [{"T":"error","code":402,"msg":"auth failed"}];
 * - {"action":"subscribe","trades":[..],"quotes":[..]} is answered with the full current subscription
 *   [{"T":"subscription","trades":[..],"quotes":[..],"bars":[],...}]; "unsubscribe" likewise;
 * - trade {"T":"t","S","i" id,"x" exchange,"p","s","c":[..],"t" RFC-3339 ns,"z" tape};
 *   quote {"T":"q","S","bx","bp","bs","ax","ap","as","c":[..],"t","z"};
 * - errors [{"T":"error","code":N,"msg":..}]: 400 invalid syntax, 401 not authenticated, 402 auth failed,
 *   403 already authenticated, 404 auth timeout, 405 symbol limit exceeded, 406 connection limit exceeded,
 *   407 slow client, 409 insufficient subscription, 410 invalid subscribe action for this feed, 500 internal.
 * Liveness uses WebSocket ping/pong. seq: trades hash Alpaca's unique key (symbol, NY date, exchange, trade id;
 * see the forum answer cited in the notes), quotes have no id and use the event-ms ordinal.
 */
export const ALPACA_ENV = ['ALPACA_API_KEY_ID', 'ALPACA_API_SECRET_KEY'] as const;
export const ALPACA_URL_BASE = 'wss://stream.data.alpaca.markets/v2/';

export const alpacaOptionsSchema = z
  .object({
    feed: z.enum(['iex', 'sip', 'delayed_sip', 'test']).default('iex'),
    /** Overrides the URL derived from `feed` (tests, sandbox). */
    url: z.url().optional(),
    channels: channelsSchema,
    ...commonOptionsShape,
  })
  .transform((o) => ({ ...o, url: o.url ?? `${ALPACA_URL_BASE}${o.feed}` }));
export type AlpacaOptions = z.infer<typeof alpacaOptionsSchema>;

const SOURCE = 'alpaca';
/** Errors that no reconnect can fix: stop and say so. The rest (404, 406, 407, 500, ...) reconnect. */
const FATAL_CODES = new Set([400, 401, 402, 405, 409, 410]);
const AUTH_CODES = new Set([402, 409]);

export function mapAlpacaTrade(el: Record<string, unknown>, recvTs: number): TradeTick | string {
  const symbol = el.S;
  if (typeof symbol !== 'string' || symbol.length === 0) return 'missing symbol (S)';
  const ts = isoToUs(el.t);
  if (ts === undefined) return 'missing or unreadable time (t, RFC-3339)';
  const price = toNumber(el.p);
  const size = toNumber(el.s);
  if (price === undefined || size === undefined) return 'missing price (p) or size (s)';
  const id = toSafeInt(el.i);
  if (id === undefined) return 'missing trade id (i)';
  const exchange = typeof el.x === 'string' ? el.x : undefined;
  const conditions = conditionsOf(el.c);
  if (conditions === null) return 'unreadable conditions (c)';
  const day = nyTradingDay(Math.floor(ts / 1000));
  const seq = kindSeq('trade', hashKey(`${symbol}|${day}|${exchange ?? ''}|${id}`))!;
  return tradeTick({ source: SOURCE, symbol, seq, ts, recvTs, price, size, exchange, conditions });
}

export function mapAlpacaQuote(
  el: Record<string, unknown>,
  recvTs: number,
  ordinals: TimeOrdinals,
): QuoteTick | string {
  const symbol = el.S;
  if (typeof symbol !== 'string' || symbol.length === 0) return 'missing symbol (S)';
  const ts = isoToUs(el.t);
  if (ts === undefined) return 'missing or unreadable time (t, RFC-3339)';
  const book = bookSides(el, ['bp', 'bs', 'ap', 'as']);
  if (!book) return 'missing bid/ask price or size (bp, bs, ap, as)';
  const conditions = conditionsOf(el.c);
  if (conditions === null) return 'unreadable conditions (c)';
  // One venue per tick: only when bid and ask come from the same exchange.
  const exchange = typeof el.bx === 'string' && el.bx === el.ax ? el.bx : undefined;
  const seq = kindSeq('quote', ordinals.next('quote', symbol, Math.floor(ts / 1000)) ?? -1);
  if (seq === undefined) return 'more than 1000 quotes of one symbol in one millisecond';
  return quoteTick({ source: SOURCE, symbol, seq, ts, recvTs, ...book, exchange, conditions });
}

export function createAlpacaAdapter(input: unknown, env: NodeJS.ProcessEnv): FeedAdapter {
  const options = parseFeedOptions(alpacaOptionsSchema, SOURCE, input);
  const [key, secret] = requireEnv(env, SOURCE, ALPACA_ENV) as [string, string];
  const ordinals = new TimeOrdinals();
  const wanted = {
    trades: options.channels.includes('trades') ? options.symbols : [],
    quotes: options.channels.includes('quotes') ? options.symbols : [],
  };
  const authError = (detail: string) => authRejected(SOURCE, ALPACA_ENV, detail);

  return {
    vendor: SOURCE,
    url: options.url,
    secrets: [key, secret],
    options,
    sequenced: false,
    authError,
    openSession(ctx: SessionContext): FeedSession {
      const control = (el: Record<string, unknown>) => {
        if (el.T === 'success' && el.msg === 'connected') return ctx.send({ action: 'auth', key, secret });
        if (el.T === 'success' && el.msg === 'authenticated') return ctx.send({ action: 'subscribe', ...wanted });
        if (el.T === 'subscription') {
          const has = (list: unknown, symbols: string[]) =>
            symbols.every((s) => Array.isArray(list) && (list.includes(s) || list.includes('*')));
          if (has(el.trades, wanted.trades) && has(el.quotes, wanted.quotes)) ctx.ready();
          return;
        }
        // el.T === 'error'
        const code = typeof el.code === 'number' ? el.code : 0;
        const text = `${code} ${String(el.msg ?? '')}`.trim();
        ctx.count('vendorErrors');
        if (AUTH_CODES.has(code)) return ctx.fatal(authError(text));
        if (FATAL_CODES.has(code)) {
          return ctx.fatal(
            new TickLakeError('CONFIG_INVALID', `alpaca refused the stream: ${text}`, { details: { code } }),
          );
        }
        ctx.log.warn('alpaca error message', { code, msg: String(el.msg ?? '') });
        ctx.reconnect(`alpaca error ${text}`);
      };

      return {
        onOpen() {
          // Alpaca speaks first ("connected"); the auth goes out in reply.
        },
        onMessage(data, recvTs) {
          dispatchArrayFrame(data, ctx, SOURCE, {
            control: (el) => {
              if (el.T !== 'success' && el.T !== 'subscription' && el.T !== 'error') return false;
              control(el);
              return true;
            },
            map: (el) =>
              el.T === 't'
                ? mapAlpacaTrade(el, recvTs)
                : el.T === 'q'
                  ? mapAlpacaQuote(el, recvTs, ordinals)
                  : `unsupported message type ${String(el.T)}`,
            symbolFields: ['S'],
          });
        },
        closingMessages: () => [{ action: 'unsubscribe', ...wanted }],
      };
    },
  };
}
