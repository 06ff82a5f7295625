import { describe, expect, it } from 'vitest';
import { buildDailyReport, dayRangeUs, previousDay, type PipelineFacts } from '../../../../core/reports/model.ts';
import type { Alert } from '../../../../core/schemas/alert.ts';
import type { Bar } from '../../../../core/schemas/bar.ts';

const DATE = '2026-11-20';
const { fromUs } = dayRangeUs(DATE);
const MIN = 60_000_000;
const facts: PipelineFacts = { lake: [], kafka: { dlq: 0, late: 0 }, warehouse: [] };

function bar(symbol: string, minute: number, open: number, close: number, extra: Partial<Bar> = {}): Bar {
  const windowStart = fromUs + minute * MIN;
  return {
    v: 1,
    symbol,
    windowStart,
    windowEnd: windowStart + MIN,
    open,
    high: Math.max(open, close) + 1,
    low: Math.min(open, close) - 1,
    close,
    volume: 100,
    vwap: (open + close) / 2,
    trades: 5,
    firstTs: windowStart,
    lastTs: windowStart + MIN - 1,
    revision: 0,
    ...extra,
  };
}

function alert(rule: string, symbol: string, minute: number, extra: Partial<Alert> = {}): Alert {
  const ts = fromUs + minute * MIN;
  return {
    v: 1,
    id: `${rule}:${symbol}:${ts}`,
    rule,
    symbol,
    severity: 'warning',
    ts,
    windowStart: ts,
    value: 1,
    threshold: 0.5,
    message: `${rule} ${symbol}`,
    emittedTs: ts,
    ...extra,
  };
}

describe('daily report model', () => {
  it('movers from the first open to the last close, volume leaders by summed volume (hand-computed)', () => {
    const bars = [
      bar('AAA', 0, 100, 101),
      bar('AAA', 1, 101, 110), // +10 %
      bar('BBB', 5, 50, 48),
      bar('BBB', 6, 48, 45, { volume: 1000 }), // -10 %, 1100 volume
      bar('CCC', 0, 10, 10.5), // +5 %
      bar('DDD', 0, 20, 20), // flat: neither gainer nor loser
    ];
    const r = buildDailyReport({ date: DATE, bars, alerts: [], pipeline: facts, generatedAtMs: 0 });
    expect(r.gainers.map((g) => [g.symbol, +g.changePct.toFixed(6)])).toEqual([
      ['AAA', 10],
      ['CCC', 5],
    ]);
    expect(r.losers.map((g) => [g.symbol, +g.changePct.toFixed(6)])).toEqual([['BBB', -10]]);
    expect(r.volumeLeaders.map((v) => [v.symbol, v.volume])).toEqual([
      ['BBB', 1100],
      ['AAA', 200],
      ['CCC', 100],
      ['DDD', 100],
    ]);
    expect(r.summary).toEqual({ symbols: 4, bars: 6, trades: 30, volume: 1500, alerts: 0, anomalies: 0 });
    const aaa = r.symbols.find((s) => s.symbol === 'AAA')!;
    expect(aaa).toMatchObject({ open: 100, close: 110, high: 111, low: 99, bars: 2, notional: 100 * 100.5 + 100 * 105.5 });
  });

  it('keeps the highest revision of a bar and ignores rows outside the day', () => {
    const bars = [
      bar('AAA', 0, 100, 100),
      bar('AAA', 1, 100, 90),
      bar('AAA', 1, 100, 120, { revision: 1 }),
      bar('AAA', 1440, 100, 500), // the next day
      bar('AAA', -1, 1, 1), // the day before
    ];
    const r = buildDailyReport({ date: DATE, bars, alerts: [], pipeline: facts, generatedAtMs: 0 });
    expect(r.symbols).toHaveLength(1);
    expect(r.symbols[0]).toMatchObject({ close: 120, bars: 2, changePct: 20 });
  });

  it('counts gaps, silent and stopped symbols', () => {
    const bars = [
      bar('AAA', 0, 1, 1),
      bar('AAA', 1, 1, 1),
      bar('AAA', 5, 1, 1), // 3 missing minutes
      bar('AAA', 7, 1, 1), // 1 more
      bar('AAA', 100, 1, 1), // 92 more: longest
      bar('BBB', 0, 1, 1), // last bar 100 minutes before AAA's: stopped
    ];
    const r = buildDailyReport({
      date: DATE,
      bars,
      alerts: [],
      expectedSymbols: ['AAA', 'BBB', 'ZZZ', 'MMM'],
      pipeline: facts,
      generatedAtMs: 0,
    });
    expect(r.quality.gaps).toEqual([{ symbol: 'AAA', missingMinutes: 96, longestGapMinutes: 92 }]);
    expect(r.quality.missingMinutes).toBe(96);
    expect(r.quality.silent).toEqual(['MMM', 'ZZZ']);
    expect(r.quality.stopped).toEqual([{ symbol: 'BBB', lastUs: fromUs }]);
  });

  it('groups alerts by rule, symbol and hour, lists the most severe first, and tells anomalies by model version', () => {
    const alerts = [
      alert('price-jump', 'AAA', 10),
      alert('price-jump', 'BBB', 70, { severity: 'critical' }),
      alert('volume-spike', 'AAA', 75, { severity: 'info' }),
      alert('anomaly-score', 'AAA', 80, { modelVersion: 'iforest-3', value: 0.97 }),
      alert('anomaly-score', 'CCC', 81, { modelVersion: 'iforest-4', value: 0.99 }),
      alert('price-jump', 'AAA', 1440 + 5), // the next day
    ];
    const r = buildDailyReport({ date: DATE, bars: [], alerts, pipeline: facts, generatedAtMs: 0 });
    expect(r.alerts.total).toBe(5);
    expect(r.alerts.byRule).toEqual([
      { key: 'anomaly-score', count: 2 },
      { key: 'price-jump', count: 2 },
      { key: 'volume-spike', count: 1 },
    ]);
    expect(r.alerts.bySymbol[0]).toEqual({ key: 'AAA', count: 3 });
    expect(r.alerts.byHour).toEqual([
      { hour: 0, rule: 'price-jump', count: 1 },
      { hour: 1, rule: 'anomaly-score', count: 2 },
      { hour: 1, rule: 'price-jump', count: 1 },
      { hour: 1, rule: 'volume-spike', count: 1 },
    ]);
    expect(r.alerts.list.map((a) => a.severity)).toEqual(['critical', 'warning', 'warning', 'warning', 'info']);
    expect(r.anomalies.total).toBe(2);
    expect(r.anomalies.list.map((a) => [a.symbol, a.modelVersion])).toEqual([
      ['CCC', 'iforest-4'],
      ['AAA', 'iforest-3'],
    ]);
    expect(r.anomalies.byModelVersion.map((c) => c.key).sort()).toEqual(['iforest-3', 'iforest-4']);
    expect(r.summary.anomalies).toBe(2);
  });

  it("summarises the day's batch scoring (the anomalies table) and says when the day is not scored yet", () => {
    const bars = [bar('AAA', 0, 10, 11), bar('BBB', 0, 20, 19)];
    const scored = [
      { symbol: 'AAA', windowStart: fromUs, kind: 'price' as const, modelVersion: 'm1-a', flagged: 1 as const },
      { symbol: 'BBB', windowStart: fromUs, kind: 'volume' as const, modelVersion: 'm1-b', flagged: 0 as const },
      { symbol: 'AAA', windowStart: fromUs + 2 * MIN, kind: 'volume' as const, modelVersion: 'm1-a', flagged: 1 as const },
      // The next day's row is not this day's.
      { symbol: 'AAA', windowStart: fromUs + 1440 * MIN, kind: 'price' as const, modelVersion: 'm1-a', flagged: 1 as const },
    ];
    const r = buildDailyReport({ date: DATE, bars, alerts: [], scored, pipeline: facts, generatedAtMs: 0 });
    expect(r.anomalies.batch).toEqual({
      scoredBars: 3,
      flagged: 2,
      byKind: [
        { key: 'price', count: 1 },
        { key: 'volume', count: 1 },
      ],
      byModelVersion: [{ key: 'm1-a', count: 2 }],
    });
    expect(buildDailyReport({ date: DATE, bars, alerts: [], pipeline: facts, generatedAtMs: 0 }).anomalies.batch).toBe(
      null,
    );
  });

  it('an empty day is a report with nothing in it, not an error', () => {
    const r = buildDailyReport({ date: DATE, bars: [], alerts: [], expectedSymbols: ['AAA'], pipeline: facts, generatedAtMs: 0 });
    expect(r.summary.bars).toBe(0);
    expect(r.gainers).toEqual([]);
    expect(r.quality.silent).toEqual(['AAA']);
    expect(r.quality.stopped).toEqual([]);
  });

  it('dates: the day range, the day before a time, and a refusal of non-dates', () => {
    expect(dayRangeUs('2026-11-20')).toEqual({ fromUs: Date.UTC(2026, 10, 20) * 1000, toUs: Date.UTC(2026, 10, 21) * 1000 });
    expect(previousDay(Date.UTC(2026, 10, 21, 0, 20))).toBe('2026-11-20');
    for (const bad of ['2026-02-30', '2026-1-01', 'today', '2026-11-20T00:00']) {
      expect(() => dayRangeUs(bad)).toThrow(/YYYY-MM-DD/);
    }
  });
});
