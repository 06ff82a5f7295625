import { z } from 'zod';
import { addExact, addProduct, roundedSum } from './exact-sum.ts';
import { BAR_INTERVAL_US, BAR_SCHEMA_VERSION, barKey } from './schemas/bar.ts';
import type { Bar } from './schemas/bar.ts';
import type { TradeTick } from './schemas/tick.ts';

/**
 * The bar fold shared by the stream (BarAggregator) and the batch path (computeBars). It is order-independent:
 * open/close are the trades with the smallest/largest (ts, seq, id) — id breaks ties between sources — and the
 * sums Σsize and Σ(price·size) are kept exactly (core/exact-sum.ts), so volume and vwap are the correctly rounded
 * exact values whatever order the trades came in. Every Bar field is therefore bit-identical across orders.
 * Import it through core/bars.ts, which adds the streaming BarAggregator on top.
 */

export const barAccSchema = z.object({
  symbol: z.string(),
  windowStart: z.number().int(),
  windowEnd: z.number().int(),
  open: z.number(),
  openTs: z.number(),
  openSeq: z.number(),
  openId: z.string(),
  close: z.number(),
  closeTs: z.number(),
  closeSeq: z.number(),
  closeId: z.string(),
  high: z.number(),
  low: z.number(),
  /** Exact-sum partials of Σsize and Σ(price·size). */
  size: z.array(z.number()),
  pv: z.array(z.number()),
  trades: z.number().int(),
  firstTs: z.number(),
  lastTs: z.number(),
});
/** A bar under construction: plain JSON, so it can be checkpointed as is. */
export type BarAcc = z.infer<typeof barAccSchema>;

export function windowStartOf(ts: number, intervalUs: number = BAR_INTERVAL_US): number {
  return ts - (((ts % intervalUs) + intervalUs) % intervalUs);
}

function before(ts: number, seq: number, id: string, ts2: number, seq2: number, id2: string): boolean {
  return ts < ts2 || (ts === ts2 && (seq < seq2 || (seq === seq2 && id < id2)));
}

export function newBarAcc(trade: TradeTick, windowStart: number, intervalUs: number = BAR_INTERVAL_US): BarAcc {
  const acc: BarAcc = {
    symbol: trade.symbol,
    windowStart,
    windowEnd: windowStart + intervalUs,
    open: trade.price,
    openTs: trade.ts,
    openSeq: trade.seq,
    openId: trade.id,
    close: trade.price,
    closeTs: trade.ts,
    closeSeq: trade.seq,
    closeId: trade.id,
    high: trade.price,
    low: trade.price,
    size: [],
    pv: [],
    trades: 1,
    firstTs: trade.ts,
    lastTs: trade.ts,
  };
  addExact(acc.size, trade.size);
  addProduct(acc.pv, trade.price, trade.size);
  return acc;
}

/** Folds one trade into `acc` (in place; returns it). The caller guarantees symbol and window match. */
export function mergeTrade(acc: BarAcc, t: TradeTick): BarAcc {
  if (before(t.ts, t.seq, t.id, acc.openTs, acc.openSeq, acc.openId)) {
    acc.open = t.price;
    acc.openTs = t.ts;
    acc.openSeq = t.seq;
    acc.openId = t.id;
  }
  if (before(acc.closeTs, acc.closeSeq, acc.closeId, t.ts, t.seq, t.id)) {
    acc.close = t.price;
    acc.closeTs = t.ts;
    acc.closeSeq = t.seq;
    acc.closeId = t.id;
  }
  if (t.price > acc.high) acc.high = t.price;
  if (t.price < acc.low) acc.low = t.price;
  addExact(acc.size, t.size);
  addProduct(acc.pv, t.price, t.size);
  acc.trades++;
  if (t.ts < acc.firstTs) acc.firstTs = t.ts;
  if (t.ts > acc.lastTs) acc.lastTs = t.ts;
  return acc;
}

export function barOf(acc: BarAcc, revision: number): Bar {
  const volume = roundedSum(acc.size);
  return {
    v: BAR_SCHEMA_VERSION,
    symbol: acc.symbol,
    windowStart: acc.windowStart,
    windowEnd: acc.windowEnd,
    open: acc.open,
    high: acc.high,
    low: acc.low,
    close: acc.close,
    volume,
    vwap: roundedSum(acc.pv) / volume,
    trades: acc.trades,
    firstTs: acc.firstTs,
    lastTs: acc.lastTs,
    revision,
  };
}

/** The bar (revision 0) of one symbol's window from its trades, in any order. */
export function barFromTrades(
  symbol: string,
  windowStart: number,
  trades: readonly TradeTick[],
  intervalUs: number = BAR_INTERVAL_US,
): Bar {
  let acc: BarAcc | null = null;
  for (const t of trades) {
    if (t.symbol !== symbol || windowStartOf(t.ts, intervalUs) !== windowStart) {
      throw new RangeError(`trade ${t.id} does not belong to ${barKey(symbol, windowStart)}`);
    }
    acc = acc === null ? newBarAcc(t, windowStart, intervalUs) : mergeTrade(acc, t);
  }
  if (acc === null) throw new RangeError(`no trades for ${barKey(symbol, windowStart)}: a bar needs at least one`);
  return barOf(acc, 0);
}

/** Orders bars by (windowStart, symbol): the order computeBars returns and BarAggregator emits fired windows in. */
export function compareBars(a: Pick<Bar, 'symbol' | 'windowStart'>, b: Pick<Bar, 'symbol' | 'windowStart'>): number {
  if (a.windowStart !== b.windowStart) return a.windowStart - b.windowStart;
  return a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0;
}

/** The batch path: final bars (revision 0, one per symbol and window) from trades in any order. */
export function computeBars(trades: Iterable<TradeTick>, intervalUs: number = BAR_INTERVAL_US): Bar[] {
  const accs = new Map<string, BarAcc>();
  for (const t of trades) {
    const ws = windowStartOf(t.ts, intervalUs);
    const key = barKey(t.symbol, ws);
    const acc = accs.get(key);
    if (acc === undefined) accs.set(key, newBarAcc(t, ws, intervalUs));
    else mergeTrade(acc, t);
  }
  return [...accs.values()].map((a) => barOf(a, 0)).sort(compareBars);
}
