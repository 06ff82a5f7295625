import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../core/schemas/bar.ts';
import { MarketDay, movers, thin } from '../../../dashboard/market.ts';

const day = Date.parse('2026-11-20T00:00:00Z') * 1000;
const min = 60_000_000;
const bar = (symbol: string, i: number, open: number, close: number, revision = 0): Bar => ({
  v: 1,
  symbol,
  windowStart: day + i * min,
  windowEnd: day + (i + 1) * min,
  open,
  high: Math.max(open, close) + 1,
  low: Math.min(open, close) - 1,
  close,
  volume: 100,
  vwap: (open + close) / 2,
  trades: 3,
  firstTs: day + i * min,
  lastTs: day + i * min + 59_000_000,
  revision,
});

describe('MarketDay', () => {
  it('keeps the highest revision per window and computes change since the open', () => {
    const m = new MarketDay(day + 3600 * 1e6);
    expect(m.applyBar(bar('AAPL', 0, 100, 101))).toBe(true);
    expect(m.applyBar(bar('AAPL', 1, 101, 110))).toBe(true);
    expect(m.applyBar(bar('AAPL', 1, 101, 105, 1))).toBe(true);
    expect(m.applyBar(bar('AAPL', 1, 101, 120, 0))).toBe(false);
    const r = m.row('AAPL')!;
    expect(r).toMatchObject({ open: 100, last: 105, changePct: 5, volume: 200, spark: [101, 105] });
    expect(m.bars('AAPL', day, day + 24 * 3600 * 1e6).map((b) => b.close)).toEqual([101, 105]);
  });

  it("ignores other days' data and forgets the day after midnight", () => {
    const m = new MarketDay(day + 1);
    expect(m.applyBar(bar('AAPL', -1, 100, 101))).toBe(false);
    m.applyBar(bar('AAPL', 5, 100, 101));
    m.roll(day + 24 * 3600 * 1e6 + 1);
    expect(m.overview()).toEqual([]);
  });

  it('reports each moved symbol once per interval', () => {
    const m = new MarketDay(day + 1);
    m.applyBar(bar('MSFT', 0, 10, 11));
    m.applyTrade('MSFT', 12, day + 61_000_000);
    m.applyTrade('MSFT', 9, day + 60_000_000); // older than the last price: ignored
    expect(m.takeChangedPrices()).toEqual([{ symbol: 'MSFT', last: 12, changePct: 20, lastTs: day + 61_000_000 }]);
    expect(m.takeChangedPrices()).toEqual([]);
  });

  it('ranks movers and thins sparklines keeping the ends', () => {
    const m = new MarketDay(day + 1);
    m.applyBar(bar('A', 0, 100, 110));
    m.applyBar(bar('B', 0, 100, 90));
    m.applyBar(bar('C', 0, 100, 101));
    const mv = movers(m.overview());
    expect(mv.gainers.map((r) => r.symbol)).toEqual(['A', 'C']);
    expect(mv.losers.map((r) => r.symbol)).toEqual(['B']);
    const t = thin(
      Array.from({ length: 1000 }, (_, i) => i),
      120,
    );
    expect(t).toHaveLength(120);
    expect([t[0], t[119]]).toEqual([0, 999]);
  });
});
