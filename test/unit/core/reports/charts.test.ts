import { describe, expect, it } from 'vitest';
import { chartSpecs, withGapBreaks } from '../../../../core/reports/charts.ts';
import { buildDailyReport, dayRangeUs } from '../../../../core/reports/model.ts';
import { svgOf } from '../../../../infra/reports/charts.ts';

const { fromUs } = dayRangeUs('2026-11-20');
const MIN = 60_000_000;
const bar = (minute: number, close: number) => ({
  v: 1 as const,
  symbol: 'AAA',
  windowStart: fromUs + minute * MIN,
  windowEnd: fromUs + (minute + 1) * MIN,
  open: close,
  high: close,
  low: close,
  close,
  volume: 10,
  vwap: close,
  trades: 1,
  firstTs: fromUs + minute * MIN,
  lastTs: fromUs + minute * MIN,
  revision: 0,
});

describe('the movers chart', () => {
  // Minutes 0–2, nothing for three hours, then 180–181: one line per stretch, not a segment across the gap.
  const report = buildDailyReport({
    date: '2026-11-20',
    bars: [bar(0, 10), bar(1, 11), bar(2, 12), bar(180, 15), bar(181, 14)],
    alerts: [],
    pipeline: { lake: [], kafka: { dlq: 0, late: 0 }, warehouse: [] },
    generatedAtMs: 0,
  });

  it('puts a null point after a minute with no next bar', () => {
    const points = withGapBreaks(report.moverSeries);
    expect(points.map((p) => p.pct === null)).toEqual([false, false, false, true, false, false]);
    expect(points[3]!.hour).toBe(3 / 60);
  });

  it('draws one path per stretch of consecutive minutes', async () => {
    const svg = await svgOf(chartSpecs(report).movers as Record<string, unknown>);
    const line = /<path[^>]*aria-roledescription="line mark"[^>]*\sd="([^"]+)"/.exec(svg);
    expect(line, 'a line mark in the SVG').not.toBeNull();
    expect(line![1]!.match(/M/g)).toHaveLength(2);
  });
});
