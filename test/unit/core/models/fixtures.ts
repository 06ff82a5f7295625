import { SeededRandom } from '../../../../core/seeded-random.ts';
import { BAR_INTERVAL_US, type Bar } from '../../../../core/schemas/bar.ts';

/** A symbol's 1-minute bars from a seeded random walk: ~0.1 % moves, ~30 trades of ~300 shares a minute. */
export function walkBars(symbol: string, n: number, seed = 7, startUs = Date.UTC(2026, 2, 2, 9) * 1000): Bar[] {
  const rng = new SeededRandom(seed);
  const bars: Bar[] = [];
  let price = 100;
  for (let i = 0; i < n; i++) {
    const open = price;
    const close = open * Math.exp(0.001 * rng.normal());
    const high = Math.max(open, close) * (1 + 0.0005 * Math.abs(rng.normal()));
    const low = Math.min(open, close) * (1 - 0.0005 * Math.abs(rng.normal()));
    const trades = 20 + Math.floor(rng.uniform() * 20);
    const volume = trades * 300 * Math.exp(0.3 * rng.normal());
    const windowStart = startUs + i * BAR_INTERVAL_US;
    bars.push({
      v: 1,
      symbol,
      windowStart,
      windowEnd: windowStart + BAR_INTERVAL_US,
      open,
      high,
      low,
      close,
      volume,
      vwap: (open + close) / 2,
      trades,
      firstTs: windowStart + 1,
      lastTs: windowStart + BAR_INTERVAL_US - 1,
      revision: 0,
    });
    price = close;
  }
  return bars;
}
