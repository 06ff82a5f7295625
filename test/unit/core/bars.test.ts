import { describe, expect, it } from 'vitest';
import { BarAggregator, barFromTrades, computeBars, windowStartOf } from '../../../core/bars.ts';
import type { BarAggregatorOptions, BarEvent } from '../../../core/bars.ts';
import { barKey, barSchema } from '../../../core/schemas/bar.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import type { Tick, TradeTick } from '../../../core/schemas/tick.ts';
import { SeededRandom } from '../../../core/seeded-random.ts';
import { MIN, SEC, T0, quote, trade } from './fixtures.ts';

function bars(events: BarEvent[]): Array<[string, number, number]> {
  return events.map((e) =>
    e.kind === 'bar' ? [e.bar.symbol, (e.bar.windowStart - T0) / SEC, e.bar.revision] : ['late', e.tick.seq, 0],
  );
}

describe('bar fold', () => {
  const trades = [
    trade('AAPL', 1, T0 + 10 * SEC, 100, 10),
    trade('AAPL', 2, T0 + 20 * SEC, 102, 5),
    trade('AAPL', 3, T0 + 5 * SEC, 99, 20),
    trade('AAPL', 4, T0 + MIN - 1, 101, 15),
  ];

  it('computes OHLCV, vwap and the time span (hand-computed)', () => {
    const bar = barFromTrades('AAPL', T0, trades);
    expect(bar).toStrictEqual({
      v: 1,
      symbol: 'AAPL',
      windowStart: T0,
      windowEnd: T0 + MIN,
      open: 99,
      high: 102,
      low: 99,
      close: 101,
      volume: 50,
      vwap: 100.1, // (1000 + 510 + 1980 + 1515) / 50
      trades: 4,
      firstTs: T0 + 5 * SEC,
      lastTs: T0 + MIN - 1,
      revision: 0,
    });
    expect(barSchema.safeParse(bar).success).toBe(true);
  });

  it('breaks open/close ties on equal ts by seq, then by id across sources', () => {
    const same = [trade('X', 7, T0, 10, 1), trade('X', 3, T0, 11, 1), trade('X', 5, T0, 12, 1)];
    expect(barFromTrades('X', T0, same)).toMatchObject({ open: 11, close: 10 });
    const sources = [trade('X', 1, T0, 20, 1, 'b'), trade('X', 1, T0, 21, 1, 'a')];
    expect(barFromTrades('X', T0, sources)).toMatchObject({ open: 21, close: 20 });
    expect(barFromTrades('X', T0, [...sources].reverse())).toMatchObject({ open: 21, close: 20 });
  });

  it('is bit-identical for every order of awkward prices and fractional sizes', () => {
    const rng = new SeededRandom(17);
    const many = Array.from({ length: 400 }, (_, i) =>
      trade('BTC-USD', i, T0 + rng.int(MIN), 40_000 + rng.uniform() * 1000, rng.uniform() * 3 + 1e-3),
    );
    const expected = barFromTrades('BTC-USD', T0, many);
    for (let k = 0; k < 10; k++) {
      expect(barFromTrades('BTC-USD', T0, rng.shuffle([...many]))).toStrictEqual(expected);
    }
  });

  it('refuses trades of another window or symbol, and an empty window', () => {
    expect(() => barFromTrades('AAPL', T0 + MIN, trades)).toThrow(RangeError);
    expect(() => barFromTrades('MSFT', T0, trades)).toThrow(RangeError);
    expect(() => barFromTrades('AAPL', T0, [])).toThrow(RangeError);
  });

  it('aligns windows to the interval', () => {
    expect(windowStartOf(T0)).toBe(T0);
    expect(windowStartOf(T0 + MIN - 1)).toBe(T0);
    expect(windowStartOf(T0 + MIN)).toBe(T0 + MIN);
    expect(windowStartOf(T0 + 7 * SEC, 5 * SEC)).toBe(T0 + 5 * SEC);
  });

  it('computeBars returns one bar per symbol and window, in (windowStart, symbol) order', () => {
    const out = computeBars([...trades, trade('AAA', 1, T0 + MIN + 1, 5, 1), trade('ZZZ', 1, T0 + 3, 7, 2)]);
    expect(out.map((b) => [b.symbol, b.windowStart - T0, b.trades])).toEqual([
      ['AAPL', 0, 4],
      ['ZZZ', 0, 1],
      ['AAA', MIN, 1],
    ]);
    expect(out[0]).toStrictEqual(barFromTrades('AAPL', T0, trades));
  });
});

describe('BarAggregator', () => {
  it('fires on the watermark, revises within lateness, and reports late trades after it', () => {
    const agg = new BarAggregator(); // out-of-orderness 2 s, lateness 60 s
    expect(agg.add(trade('A', 1, T0 + SEC, 100, 1))).toEqual([]);
    expect(agg.add(trade('A', 2, T0 + 30 * SEC, 101, 1))).toEqual([]);
    expect(agg.add(trade('A', 3, T0 + 61 * SEC, 102, 1))).toEqual([]); // watermark T0+59s
    expect(agg.watermark).toBe(T0 + 59 * SEC);

    const fired = agg.add(trade('A', 4, T0 + 62 * SEC, 103, 1)); // watermark reaches the window end
    expect(bars(fired)).toEqual([['A', 0, 0]]);
    expect(fired[0]).toMatchObject({ bar: { open: 100, close: 101, trades: 2, volume: 2 } });

    const revised = agg.add(trade('A', 5, T0 + 40 * SEC, 99, 2)); // late but within lateness
    expect(bars(revised)).toEqual([['A', 0, 1]]);
    // Close goes by event time, not arrival: the late trade at 40 s is the window's last trade.
    expect(revised[0]).toMatchObject({ bar: { open: 100, close: 99, low: 99, trades: 3, volume: 4 } });

    // A window nobody opened, already past the watermark: fires at once with revision 0.
    expect(bars(agg.add(trade('B', 1, T0 + 50 * SEC, 10, 1)))).toEqual([['B', 0, 0]]);

    // Watermark T0+120s: window 1 fires, window 0 (A and B) expires.
    expect(bars(agg.add(trade('A', 6, T0 + 122 * SEC, 104, 1)))).toEqual([['A', 60, 0]]);
    expect(agg.openWindows).toBe(2);

    const late = agg.add(trade('A', 7, T0 + 59 * SEC, 98, 1));
    expect(late).toEqual([
      {
        kind: 'late',
        tick: trade('A', 7, T0 + 59 * SEC, 98, 1),
        reason: 'window_closed',
        windowStart: T0,
        watermark: T0 + 120 * SEC,
      },
    ]);
    expect(agg.watermark).toBe(T0 + 120 * SEC);
  });

  it('emits windows fired together in (windowStart, symbol) order, and drops expired state', () => {
    const agg = new BarAggregator();
    agg.add(trade('B', 1, T0 + SEC, 1, 1));
    agg.add(trade('A', 1, T0 + 2 * SEC, 1, 1));
    agg.add(trade('A', 2, T0 + 61 * SEC, 1, 1));
    expect(bars(agg.add(trade('X', 1, T0 + 200 * SEC, 1, 1)))).toEqual([
      ['A', 0, 0],
      ['B', 0, 0],
      ['A', 60, 0],
    ]);
    expect(agg.openWindows).toBe(1);
  });

  it('ignores quotes: no output and no watermark movement', () => {
    const agg = new BarAggregator();
    expect(agg.add(quote('A', 1, T0 + 1000 * SEC, 1, 2))).toEqual([]);
    expect(agg.watermark).toBeNull();
    expect(agg.add(trade('A', 2, T0, 1, 1))).toEqual([]);
  });

  it('advanceWatermark fires idle windows and never moves back', () => {
    const agg = new BarAggregator();
    agg.add(trade('A', 1, T0 + SEC, 5, 1));
    expect(agg.advanceWatermark(T0 + MIN - 1)).toEqual([]);
    expect(bars(agg.advanceWatermark(T0 + MIN))).toEqual([['A', 0, 0]]);
    expect(agg.advanceWatermark(T0)).toEqual([]);
    expect(agg.watermark).toBe(T0 + MIN);
    agg.add(trade('A', 2, T0 + 3 * SEC, 5, 1)); // its own ts is below the watermark: no move back
    expect(agg.watermark).toBe(T0 + MIN);
  });

  it('flush fires open windows once; they stay revisable', () => {
    const agg = new BarAggregator();
    agg.add(trade('A', 1, T0 + SEC, 5, 1));
    agg.add(trade('A', 2, T0 + 61 * SEC, 6, 1));
    expect(bars(agg.flush())).toEqual([
      ['A', 0, 0],
      ['A', 60, 0],
    ]);
    expect(agg.flush()).toEqual([]);
    expect(bars(agg.add(trade('A', 3, T0 + 30 * SEC, 7, 1)))).toEqual([['A', 0, 1]]);
  });

  it('with zero lateness, a trade after the window fired is late', () => {
    const agg = new BarAggregator({ allowedLatenessUs: 0, outOfOrdernessUs: 0 });
    agg.add(trade('A', 1, T0 + SEC, 5, 1));
    expect(bars(agg.add(trade('A', 2, T0 + MIN, 5, 1)))).toEqual([['A', 0, 0]]);
    expect(bars(agg.add(trade('A', 3, T0 + 2 * SEC, 5, 1)))).toEqual([['late', 3, 0]]);
  });
});

/** Trades of a few symbols over ~12 minutes: cent prices, integer and fractional sizes, some cross-source ties. */
function market(seed: number): TradeTick[] {
  const rng = new SeededRandom(seed);
  const symbols = ['AAPL', 'MSFT', 'SPY', 'BRK.B'];
  const out: TradeTick[] = [];
  let ts = T0 + rng.int(MIN);
  for (let seq = 0; seq < 1500; seq++) {
    ts += 1 + Math.floor(rng.exponential(1 / (0.5 * SEC)));
    const price = Math.round((100 + rng.normal(0, 3)) * 100) / 100;
    const size = rng.uniform() < 0.2 ? Math.round(rng.uniform() * 1e6) / 1e4 : 1 + rng.int(500);
    const symbol = rng.pick(symbols);
    out.push(trade(symbol, seq, ts, price, size));
    if (rng.uniform() < 0.03) out.push(trade(symbol, seq, ts, price + 0.01, size, 'other'));
  }
  return out;
}

/** Arrival order: each trade delayed by up to maxDelayUs of event time. */
function delayed(trades: TradeTick[], rng: SeededRandom, maxDelayUs: number): TradeTick[] {
  return trades
    .map((t, i) => ({ t, at: t.ts + rng.int(maxDelayUs + 1), i }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((x) => x.t);
}

function runStream(input: Tick[], options: Partial<BarAggregatorOptions> = {}) {
  const agg = new BarAggregator(options);
  const events = input.flatMap((t) => agg.add(t));
  events.push(...agg.flush());
  const latest = new Map<string, Bar>();
  const late: TradeTick[] = [];
  for (const e of events) {
    if (e.kind === 'late') {
      late.push(e.tick);
      continue;
    }
    const key = barKey(e.bar.symbol, e.bar.windowStart);
    const prev = latest.get(key);
    expect(e.bar.revision).toBe(prev === undefined ? 0 : prev.revision + 1); // revisions count up by one
    latest.set(key, e.bar);
  }
  return { events, late, latest };
}

function expectMatchesBatch(latest: Map<string, Bar>, trades: TradeTick[]): void {
  const batch = computeBars(trades);
  expect(latest.size).toBe(batch.length);
  for (const b of batch) {
    const streamed = latest.get(barKey(b.symbol, b.windowStart));
    expect({ ...streamed, revision: 0 }).toStrictEqual(b); // vwap included: the fold is exact
  }
}

describe('BarAggregator equals computeBars (stream vs batch oracle)', () => {
  it.each([1, 2, 3, 4, 5, 6])('delays within the lateness: no late trades, same bars (seed %i)', (seed) => {
    const trades = market(seed);
    const rng = new SeededRandom(seed).fork('arrival');
    // Within out-of-orderness + lateness of event time, nothing can miss its window.
    const { late, latest, events } = runStream(delayed(trades, rng, 62 * SEC - 1));
    expect(late).toEqual([]);
    expect(events.some((e) => e.kind === 'bar' && e.bar.revision > 0)).toBe(true);
    expectMatchesBatch(latest, trades);
  });

  it.each([7, 8, 9])('larger delays: late trades are reported, the rest matches (seed %i)', (seed) => {
    const trades = market(seed);
    const { late, latest } = runStream(delayed(trades, new SeededRandom(seed), 5 * MIN));
    expect(late.length).toBeGreaterThan(0);
    const lateIds = new Set(late.map((t) => t.id));
    expectMatchesBatch(
      latest,
      trades.filter((t) => !lateIds.has(t.id)),
    );
  });

  it.each([10, 11])('any order with a lateness covering the whole input (seed %i)', (seed) => {
    const trades = market(seed);
    const shuffled = new SeededRandom(seed).shuffle([...trades]);
    const { late, latest } = runStream(shuffled, { allowedLatenessUs: 24 * 3600 * SEC });
    expect(late).toEqual([]);
    expectMatchesBatch(latest, trades);
  });

  it('continues identically after snapshot -> JSON -> restore at any point', () => {
    const trades = market(12);
    const rng = new SeededRandom(12);
    const input: Tick[] = delayed(trades, rng, 3 * MIN);
    input.splice(100, 0, quote('AAPL', 99_999, T0, 1, 2));
    const expected = runStream(input).events;
    for (const cut of [0, 1, 250, 800, input.length - 1]) {
      let agg = new BarAggregator();
      const events = input.flatMap((t, i) => {
        if (i === cut) agg = BarAggregator.restore(JSON.parse(JSON.stringify(agg.snapshot())));
        return agg.add(t);
      });
      events.push(...agg.flush());
      expect(events).toStrictEqual(expected);
    }
    expect(() => BarAggregator.restore({ v: 1, windows: 'no' })).toThrow();
  });
});
