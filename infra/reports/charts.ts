import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { TickLakeError } from '../../core/errors.ts';
import { chartSpecs } from '../../core/reports/charts.ts';
import type { ReportCharts } from '../../core/reports/html.ts';
import type { DailyReport } from '../../core/reports/model.ts';

/**
 * Vega-Lite specs -> SVG in Node: vega's `renderer: 'none'` view renders the scenegraph as SVG markup without a
 * canvas or a browser. Its loader is replaced by one that refuses, so no spec can make it read a file or a URL.
 */
const refusingLoader = (() => {
  const l = vega.loader();
  const refuse = (uri: string) =>
    Promise.reject(new TickLakeError('INPUT_INVALID', `report charts load nothing (asked for ${uri})`));
  l.load = refuse;
  l.sanitize = refuse as typeof l.sanitize;
  return l;
})();

export async function svgOf(spec: Record<string, unknown>): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), {
    renderer: 'none',
    loader: refusingLoader,
  });
  try {
    const svg = await view.toSVG();
    // Vega escapes the text it writes; this holds the line should that ever change.
    if (/<script|<foreignObject|\son\w+=/i.test(svg.replace(/>[^<]*</g, '><'))) {
      throw new TickLakeError('INTERNAL', 'a rendered chart carries script or an event handler');
    }
    return svg;
  } finally {
    view.finalize();
  }
}

export async function renderCharts(report: DailyReport): Promise<ReportCharts> {
  const out: ReportCharts = {};
  for (const [name, spec] of Object.entries(chartSpecs(report))) {
    out[name as keyof ReportCharts] = await svgOf(spec);
  }
  return out;
}
