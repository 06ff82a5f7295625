import { z } from 'zod';
import {
  authRejected,
  conditionsOf,
  isRecord,
  keyOf,
  parseFeedOptions,
  parseFrame,
  requireEnv,
  tradeTick,
  type FeedAdapter,
  type FeedSession,
  type SessionContext,
} from './adapter.ts';
import { commonOptionsShape, listOf } from './options.ts';
import { kindSeq, TimeOrdinals } from './seq.ts';
import { msToUs, toNumber } from './units.ts';
import type { TradeTick } from '../../../core/schemas/tick.ts';

/**
 * Finnhub real-time trades (https://finnhub.io/docs/api/websocket-trades), as documented:
 * - connect to wss://ws.finnhub.io?token=<key>; a bad key is refused with HTTP 401 on the upgrade;
 * - send {"type":"subscribe","symbol":"AAPL"} per symbol ({"type":"unsubscribe",...} to stop); there is no ack;
 * - trades arrive as {"type":"trade","data":[{"s":symbol,"p":price,"v":volume,"t":unix ms,"c":[conditions]}]};
 * - the server sends {"type":"ping"} on idle connections; errors are {"type":"error","msg":"Invalid symbol X"}.
 * Finnhub streams no quotes and no trade id, so seq comes from the event millisecond plus an arrival ordinal
 * (see TimeOrdinals in seq.ts).
 */
export const FINNHUB_ENV = ['FINNHUB_API_KEY'] as const;
export const FINNHUB_URL = 'wss://ws.finnhub.io';

export const finnhubOptionsSchema = z.object({
  url: z.url().default(FINNHUB_URL),
  /** Finnhub streams trades only. */
  channels: listOf(z.enum(['trades']))
    .refine((l) => l.length > 0, 'at least one channel')
    .default(['trades']),
  ...commonOptionsShape,
});
export type FinnhubOptions = z.infer<typeof finnhubOptionsSchema>;

const SOURCE = 'finnhub';

export function mapFinnhubTrade(el: unknown, recvTs: number, ordinals: TimeOrdinals): TradeTick | string {
  if (!isRecord(el)) return 'trade is not an object';
  const symbol = el.s;
  if (typeof symbol !== 'string' || symbol.length === 0) return 'missing symbol (s)';
  const ts = msToUs(el.t);
  if (ts === undefined) return 'missing or non-integer time (t, unix ms)';
  const price = toNumber(el.p);
  const size = toNumber(el.v);
  if (price === undefined || size === undefined) return 'missing price (p) or volume (v)';
  const conditions = conditionsOf(el.c);
  if (conditions === null) return 'unreadable conditions (c)';
  const seq = kindSeq('trade', ordinals.next('trade', symbol, el.t as number) ?? -1);
  if (seq === undefined) return 'more than 1000 trades of one symbol in one millisecond';
  return tradeTick({ source: SOURCE, symbol, seq, ts, recvTs, price, size, conditions });
}

export function createFinnhubAdapter(input: unknown, env: NodeJS.ProcessEnv): FeedAdapter {
  const options = parseFeedOptions(finnhubOptionsSchema, SOURCE, input);
  const [token] = requireEnv(env, SOURCE, FINNHUB_ENV) as [string];
  const url = new URL(options.url);
  url.searchParams.set('token', token);
  const ordinals = new TimeOrdinals();

  return {
    vendor: SOURCE,
    url: url.toString(),
    secrets: [token],
    options,
    sequenced: false,
    authError: (detail) => authRejected(SOURCE, FINNHUB_ENV, detail),
    openSession(ctx: SessionContext): FeedSession {
      return {
        onOpen() {
          for (const symbol of options.symbols) ctx.send({ type: 'subscribe', symbol });
          // Finnhub acknowledges nothing: a refused symbol shows up later as an error message.
          ctx.ready();
        },
        onMessage(data, recvTs) {
          const msg = parseFrame(data, ctx, SOURCE);
          if (msg === undefined) return;
          if (!isRecord(msg)) return ctx.malformed(data, SOURCE, 'frame is not an object');
          if (msg.type === 'ping') return;
          if (msg.type === 'error') {
            ctx.count('vendorErrors');
            ctx.log.warn('finnhub error message', { msg: String(msg.msg ?? '') });
            return;
          }
          if (msg.type !== 'trade' || !Array.isArray(msg.data)) {
            return ctx.malformed(
              data,
              keyOf(msg, ['symbol', 's'], SOURCE),
              `unexpected message type ${String(msg.type)}`,
            );
          }
          for (const el of msg.data) {
            const mapped = mapFinnhubTrade(el, recvTs, ordinals);
            if (typeof mapped === 'string') ctx.malformed(JSON.stringify(el), keyOf(el, ['s'], SOURCE), mapped);
            else ctx.tick(mapped);
          }
        },
        closingMessages: () => options.symbols.map((symbol) => ({ type: 'unsubscribe', symbol })),
      };
    },
  };
}
