import { alertId, type Alert } from '../../core/schemas/alert.ts';
import { BAR_INTERVAL_US, type Bar } from '../../core/schemas/bar.ts';
import { SeededRandom } from '../../core/seeded-random.ts';
import { dayRangeUs } from '../../core/reports/model.ts';

/**
 * A synthetic market day for report tests and the benchmark: `symbols` symbols trading from `fromMinute` to
 * `toMinute` (UTC minutes of the day), one bar a minute as a random walk, a few minutes skipped at random, and some
 * alerts. Deterministic in the seed.
 */
export function syntheticDay(
  date: string,
  opts: { symbols?: number; fromMinute?: number; toMinute?: number; seed?: number; skipEvery?: number } = {},
): { bars: Bar[]; alerts: Alert[]; symbols: string[] } {
  const rng = new SeededRandom(opts.seed ?? 7);
  const { fromUs } = dayRangeUs(date);
  const n = opts.symbols ?? 50;
  const symbols = Array.from({ length: n }, (_, i) => `SYM${String(i).padStart(2, '0')}`);
  const bars: Bar[] = [];
  const alerts: Alert[] = [];
  for (const [si, symbol] of symbols.entries()) {
    let price = 20 + si * 7;
    for (let m = opts.fromMinute ?? 0; m < (opts.toMinute ?? 1440); m++) {
      if (opts.skipEvery && rng.int(opts.skipEvery) === 0) continue;
      const windowStart = fromUs + m * BAR_INTERVAL_US;
      const open = price;
      const close = Math.max(0.5, open * (1 + rng.normal(0, 0.002)));
      const high = Math.max(open, close) * (1 + rng.uniform() * 0.001);
      const low = Math.min(open, close) * (1 - rng.uniform() * 0.001);
      const trades = 1 + rng.int(40);
      const volume = trades * (10 + rng.int(90));
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
        firstTs: windowStart + 1_000_000,
        lastTs: windowStart + 59_000_000,
        revision: 0,
      });
      price = close;
      if (rng.int(200) === 0) {
        const model = rng.int(3) === 0;
        const rule = model ? 'anomaly-score' : 'price-jump';
        alerts.push({
          v: 1,
          id: alertId(rule, symbol, windowStart),
          rule,
          symbol,
          severity: model ? 'warning' : 'critical',
          ts: windowStart + 30_000_000,
          windowStart,
          value: model ? 0.9 + rng.uniform() * 0.1 : 0.05,
          threshold: model ? 0.9 : 0.03,
          message: `${rule} on ${symbol}`,
          emittedTs: windowStart + 31_000_000,
          source: 'synthetic',
          modelVersion: model ? 'anomaly-v1' : null,
        });
      }
    }
  }
  return { bars, alerts, symbols };
}
