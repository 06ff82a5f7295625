import type { ReportCharts } from './html.ts';
import type { DailyReport } from './model.ts';

/**
 * The report's charts as Vega-Lite specs (plain JSON built from the report's numbers, data inline). The edge
 * compiles and renders them to SVG in Node (infra/reports/charts.ts); no spec names a URL, so nothing is fetched.
 */
export type VegaLiteSpec = Record<string, unknown>;

const FONT = 'system-ui, sans-serif';
const base = (width: number, height: number) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width,
  height,
  background: 'white',
  config: { font: FONT, axis: { labelFontSize: 11, titleFontSize: 11 }, legend: { labelFontSize: 11 } },
});

/** The movers' points by hour, with a null after each minute that has no next bar. */
export function withGapBreaks(
  series: DailyReport['moverSeries'],
): Array<{ symbol: string; hour: number; pct: number | null }> {
  const out: Array<{ symbol: string; hour: number; pct: number | null }> = [];
  let prev: DailyReport['moverSeries'][number] | undefined;
  for (const p of series) {
    if (prev && prev.symbol === p.symbol && p.minute - prev.minute > 1) {
      out.push({ symbol: p.symbol, hour: (prev.minute + 1) / 60, pct: null });
    }
    out.push({ symbol: p.symbol, hour: p.minute / 60, pct: p.pct });
    prev = p;
  }
  return out;
}

export function chartSpecs(r: DailyReport): Partial<Record<keyof ReportCharts, VegaLiteSpec>> {
  const specs: Partial<Record<keyof ReportCharts, VegaLiteSpec>> = {};
  if (r.moverSeries.length) {
    specs.movers = {
      ...base(900, 220),
      data: { values: withGapBreaks(r.moverSeries) },
      // A null point ends a path (vega-lite's default for invalid values): a gap in the bars is a gap in the line.
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'hour', type: 'quantitative', title: 'UTC hour', scale: { domain: [0, 24] } },
        y: { field: 'pct', type: 'quantitative', title: 'change from open (%)' },
        color: { field: 'symbol', type: 'nominal', title: null },
      },
    };
  }
  if (r.volumeLeaders.length) {
    specs.volume = {
      ...base(900, 180),
      data: { values: r.volumeLeaders.map((v) => ({ symbol: v.symbol, volume: v.volume })) },
      mark: { type: 'bar', color: '#4c78a8' },
      encoding: {
        x: { field: 'symbol', type: 'nominal', sort: '-y', title: null },
        y: { field: 'volume', type: 'quantitative', title: 'volume' },
      },
    };
  }
  if (r.alerts.byHour.length) {
    specs.alertsByHour = {
      ...base(900, 160),
      data: { values: r.alerts.byHour },
      mark: 'bar',
      encoding: {
        x: { field: 'hour', type: 'ordinal', title: 'UTC hour', scale: { domain: Array.from({ length: 24 }, (_, i) => i) } },
        y: { field: 'count', type: 'quantitative', title: 'alerts', stack: 'zero' },
        color: { field: 'rule', type: 'nominal', title: null },
      },
    };
  }
  return specs;
}
