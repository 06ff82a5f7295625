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
import { channelsSchema, commonOptionsShape } from './options.ts';
import { daySeq, kindSeq, nyTradingDay, TimeOrdinals, type TickKind } from './seq.ts';
import { bookSides, msToUs, toNumber, toSafeInt } from './units.ts';

/**
 * Polygon.io stocks WebSocket (https://polygon.io/docs/stocks/ws_getting-started, now served as massive.com/docs/
 * websocket/stocks/trades and /quotes), as documented:
 * - wss://socket.polygon.io/stocks (real time) or wss://delayed.polygon.io/stocks; server frames are JSON arrays;
 * - on connect [{"ev":"status","status":"connected","message":"Connected Successfully"}];
 * - {"action":"auth","params":"<key>"} -> status "auth_success" ("authenticated") or "auth_failed";
 * - {"action":"subscribe","params":"T.AAPL,Q.AAPL"} -> one status "success" per channel ("subscribed to: T.AAPL");
 *   "unsubscribe" -> "unsubscribed to: T.AAPL";
 * - trade {"ev":"T","sym","x" exchange id,"i" trade id,"z" tape,"p","s","c":[int],"t" SIP unix ms,"q" sequence};
 *   quote {"ev":"Q","sym","bx","bp","bs","ax","ap","as","c" int,"i":[indicators],"t" unix ms,"q","z"};
 * - status "max_connections" announces a server-side disconnect.
 * seq: `q` is "increasing and unique per ticker symbol" and resets each session, so seq packs (New York trading
 * date, q) — stable when Polygon re-sends a trade (it does: polygon-io/issues#56). Messages without q fall back
 * to the event-ms ordinal.
 */
export const POLYGON_ENV = ['POLYGON_API_KEY'] as const;
export const POLYGON_URL = 'wss://socket.polygon.io/stocks';

export const polygonOptionsSchema = z.object({
  url: z.url().default(POLYGON_URL),
  channels: channelsSchema,
  ...commonOptionsShape,
});
export type PolygonOptions = z.infer<typeof polygonOptionsSchema>;

const SOURCE = 'polygon';

function seqFor(kind: TickKind, symbol: string, tMs: number, q: unknown, ordinals: TimeOrdinals): number | undefined {
  const qn = toSafeInt(q);
  const packed = qn !== undefined ? daySeq(nyTradingDay(tMs), qn) : ordinals.next(kind, symbol, tMs);
  return packed === undefined ? undefined : kindSeq(kind, packed);
}

export function mapPolygonTrade(
  el: Record<string, unknown>,
  recvTs: number,
  ordinals: TimeOrdinals,
): TradeTick | string {
  const symbol = el.sym;
  if (typeof symbol !== 'string' || symbol.length === 0) return 'missing symbol (sym)';
  const ts = msToUs(el.t);
  if (ts === undefined) return 'missing or non-integer time (t, unix ms)';
  const price = toNumber(el.p);
  const size = toNumber(el.s);
  if (price === undefined || size === undefined) return 'missing price (p) or size (s)';
  const conditions = conditionsOf(el.c);
  if (conditions === null) return 'unreadable conditions (c)';
  const exchange = typeof el.x === 'number' ? String(el.x) : undefined;
  const seq = seqFor('trade', symbol, el.t as number, el.q, ordinals);
  if (seq === undefined) return 'sequence (q) out of range';
  return tradeTick({ source: SOURCE, symbol, seq, ts, recvTs, price, size, exchange, conditions });
}

export function mapPolygonQuote(
  el: Record<string, unknown>,
  recvTs: number,
  ordinals: TimeOrdinals,
): QuoteTick | string {
  const symbol = el.sym;
  if (typeof symbol !== 'string' || symbol.length === 0) return 'missing symbol (sym)';
  const ts = msToUs(el.t);
  if (ts === undefined) return 'missing or non-integer time (t, unix ms)';
  const book = bookSides(el, ['bp', 'bs', 'ap', 'as']);
  if (!book) return 'missing bid/ask price or size (bp, bs, ap, as)';
  const conditions = conditionsOf(el.c);
  if (conditions === null) return 'unreadable condition (c)';
  const exchange = typeof el.bx === 'number' && el.bx === el.ax ? String(el.bx) : undefined;
  const seq = seqFor('quote', symbol, el.t as number, el.q, ordinals);
  if (seq === undefined) return 'sequence (q) out of range';
  return quoteTick({ source: SOURCE, symbol, seq, ts, recvTs, ...book, exchange, conditions });
}

export function createPolygonAdapter(input: unknown, env: NodeJS.ProcessEnv): FeedAdapter {
  const options = parseFeedOptions(polygonOptionsSchema, SOURCE, input);
  const [apiKey] = requireEnv(env, SOURCE, POLYGON_ENV) as [string];
  const ordinals = new TimeOrdinals();
  const params = [
    ...(options.channels.includes('trades') ? options.symbols.map((s) => `T.${s}`) : []),
    ...(options.channels.includes('quotes') ? options.symbols.map((s) => `Q.${s}`) : []),
  ];
  const authError = (detail: string) => authRejected(SOURCE, POLYGON_ENV, detail);

  return {
    vendor: SOURCE,
    url: options.url,
    secrets: [apiKey],
    options,
    sequenced: false,
    authError,
    openSession(ctx: SessionContext): FeedSession {
      const pending = new Set(params);
      const status = (el: Record<string, unknown>) => {
        const message = String(el.message ?? '');
        switch (el.status) {
          case 'connected':
            return ctx.send({ action: 'auth', params: apiKey });
          case 'auth_success':
            return ctx.send({ action: 'subscribe', params: params.join(',') });
          case 'auth_failed':
            ctx.count('vendorErrors');
            return ctx.fatal(authError(`auth_failed: ${message}`));
          case 'success': {
            const m = /^subscribed to: (.+)$/.exec(message);
            for (const p of m?.[1]?.split(',') ?? []) pending.delete(p.trim());
            if (pending.size === 0) ctx.ready();
            return;
          }
          case 'max_connections':
            ctx.count('vendorErrors');
            ctx.log.warn('polygon: connection limit reached, the server is disconnecting us', { message });
            return ctx.reconnect('polygon max_connections');
          default:
            ctx.count('vendorErrors');
            ctx.log.warn('polygon status message', { status: String(el.status), message });
        }
      };

      return {
        onOpen() {
          // Polygon speaks first ("connected"); the auth goes out in reply.
        },
        onMessage(data, recvTs) {
          dispatchArrayFrame(data, ctx, SOURCE, {
            control: (el) => {
              if (el.ev !== 'status') return false;
              status(el);
              return true;
            },
            map: (el) =>
              el.ev === 'T'
                ? mapPolygonTrade(el, recvTs, ordinals)
                : el.ev === 'Q'
                  ? mapPolygonQuote(el, recvTs, ordinals)
                  : `unsupported event type ${String(el.ev)}`,
            symbolFields: ['sym'],
          });
        },
        closingMessages: () => [{ action: 'unsubscribe', params: params.join(',') }],
      };
    },
  };
}
