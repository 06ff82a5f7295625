/**
 * Daily report render time for a day of 50 symbols (1,440 minutes each, ~2 % skipped: 70,503 bars, 370 alerts):
 *
 *   node --import tsx bench/report.bench.ts [--runs 7] [--symbols 50]
 *
 * Times, each a median over `--runs` after one warm-up: building the model from the rows (core/reports/model.ts),
 * against one pass over them that only sums volume per symbol;
 * the HTML with its three vega-lite charts rendered to SVG in Node, against the same page without charts (the
 * baseline: what the charts cost); the PDF printed by Debian's Chromium from that HTML in a warm browser, against
 * printing a one-line page in the same browser (the baseline: Chromium's fixed cost per PDF). Browser start-up is
 * reported once. No stack needed: the lake read is measured by the integration test's run, not here.
 */
import { parseArgs } from 'node:util';
import { renderReportHtml } from '../core/reports/html.ts';
import { buildDailyReport } from '../core/reports/model.ts';
import { loadConfig } from '../infra/config.ts';
import { reportHtml } from '../infra/reports/daily.ts';
import { PdfPrinter, pdfPageCount } from '../infra/reports/pdf.ts';
import { syntheticDay } from '../test/support/report-day.ts';
import { median, printTable } from './support.ts';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, symbols: { type: 'string', default: '50' } },
});
const RUNS = Number(args.runs);
const DATE = '2026-11-20';

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number[]; last: T }> {
  let last = await fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    last = await fn();
    ms.push(performance.now() - t0);
  }
  return { ms, last };
}

const day = syntheticDay(DATE, { symbols: Number(args.symbols), skipEvery: 50 });
const pipeline = {
  lake: [{ table: 'bars', hours: 24, files: 96, compactedFiles: 24, rows: day.bars.length, bytes: 4 << 20 }],
  kafka: { dlq: 12, late: 40 },
  warehouse: [
    { table: 'bars_1m', loadedRows: day.bars.length, lastLoadMs: Date.now(), freshUntilUs: Date.now() * 1000 },
  ],
};
const input = { date: DATE, bars: day.bars, alerts: day.alerts, pipeline, generatedAtMs: Date.now() };
process.stdout.write(`day: ${day.symbols.length} symbols, ${day.bars.length} bars, ${day.alerts.length} alerts\n`);

const model = await timed(() => buildDailyReport(input));
// The model's baseline: one pass over the rows that only sums volume per symbol (the least any report must do).
const pass = await timed(() => {
  const m = new Map<string, number>();
  for (const b of day.bars) m.set(b.symbol, (m.get(b.symbol) ?? 0) + b.volume);
  return m;
});
const report = model.last;
const bare = await timed(() => renderReportHtml(report));
const html = await timed(() => reportHtml(report));

const printer = new PdfPrinter(loadConfig({}).reports.chromiumPath);
const t0 = performance.now();
await printer.print('<p>start</p>');
const launchMs = performance.now() - t0;
const trivial = await timed(() => printer.print('<!doctype html><p>one line</p>'));
const pdf = await timed(() => printer.print(html.last));
await printer.close();

process.stdout.write(
  `html ${(html.last.length / 1024).toFixed(0)} KiB, pdf ${(pdf.last.byteLength / 1024).toFixed(0)} KiB, ` +
    `${pdfPageCount(pdf.last)} pages; Chromium launch + first PDF ${launchMs.toFixed(0)} ms\n`,
);
printTable(`report render, ms (median of ${RUNS})`, [
  ['model from the bars', median(model.ms), median(pass.ms), 'one pass summing volume per symbol'],
  ['HTML with 3 SVG charts', median(html.ms), median(bare.ms), 'HTML without charts'],
  ['PDF from that HTML', median(pdf.ms), median(trivial.ms), 'PDF of a one-line page'],
]);
