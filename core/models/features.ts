import type { Bar } from '../schemas/bar.ts';

/**
 * The model's features, computed from one closed 1-minute bar and the close of the symbol's bar before it
 * (docs/DECISIONS.md §28 has why these):
 *
 * - price: ln(true range), the true range being ln(max(high, prev close) / min(low, prev close)): how far the price
 *   travelled in the minute, gap from the previous bar included, so a level shift at the bar's first trade counts.
 * - volume: ln(volume).
 *
 * Both are regressed on the same explanatory variables: ln(trades) (a busy minute moves further and trades more)
 * and the time of day as one daily harmonic (sin, cos), which carries the intraday volume curve of a real session.
 * Everything is per bar plus one number of state (the previous close), so the stream and the batch path compute
 * the same features from the same bars; the market's return in the minute would need every symbol's bar first,
 * which the partitioned speed layer does not have when a bar closes.
 */
export const FEATURE_SPEC = {
  name: 'anomaly-true-range-volume',
  featureVersion: 1,
} as const;

/** A previous bar this old (or older) is not used for the gap: the symbol was silent, its close is stale. */
export const MAX_GAP_US = 5 * 60_000_000;
/** Floor of the true range (1 bp) so a one-trade bar has a finite logarithm. */
const RANGE_FLOOR = 1e-4;
const DAY_US = 86_400_000_000;

export interface BarFeatures {
  /** Explanatory variables: [ln(trades), sin(day phase), cos(day phase)]. */
  x: [number, number, number];
  price: number;
  volume: number;
}

/** The previous bar of the symbol, as far as the features need it. */
export interface PrevBar {
  windowStart: number;
  close: number;
}

export function barFeatures(bar: Bar, prev: PrevBar | undefined): BarFeatures {
  let hi = bar.high;
  let lo = bar.low;
  if (prev !== undefined && prev.windowStart < bar.windowStart && bar.windowStart - prev.windowStart <= MAX_GAP_US) {
    if (prev.close > hi) hi = prev.close;
    if (prev.close < lo) lo = prev.close;
  }
  const phase = (2 * Math.PI * (((bar.windowStart % DAY_US) + DAY_US) % DAY_US)) / DAY_US;
  return {
    x: [Math.log(bar.trades), Math.sin(phase), Math.cos(phase)],
    price: Math.log(Math.log(hi / lo) + RANGE_FLOOR),
    volume: Math.log(bar.volume + 1),
  };
}

/**
 * The features of a symbol's bars in window order (latest revision per window), each with its previous bar: what
 * training and batch scoring both iterate over. `bars` may hold several symbols and revisions in any order.
 */
export function barSeries(bars: readonly Bar[]): Map<string, Bar[]> {
  const latest = new Map<string, Bar>();
  for (const b of bars) {
    const k = `${b.symbol}@${b.windowStart}`;
    const prev = latest.get(k);
    if (prev === undefined || b.revision > prev.revision) latest.set(k, b);
  }
  const bySymbol = new Map<string, Bar[]>();
  for (const b of latest.values()) {
    const list = bySymbol.get(b.symbol);
    if (list === undefined) bySymbol.set(b.symbol, [b]);
    else list.push(b);
  }
  for (const list of bySymbol.values()) list.sort((a, b) => a.windowStart - b.windowStart);
  return bySymbol;
}
