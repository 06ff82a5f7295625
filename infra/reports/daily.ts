import { createHash } from 'node:crypto';
import { renderReportHtml } from '../../core/reports/html.ts';
import { buildDailyReport, type DailyReport } from '../../core/reports/model.ts';
import { reportKeys, type ReportRef } from '../../core/schemas/report.ts';
import type { Storage } from '../../lake/storage/storage.ts';
import { renderCharts } from './charts.ts';
import { daysWithBars, gatherDay, type GatherDeps } from './gather.ts';
import type { PdfPrinter } from './pdf.ts';

/**
 * One day's report end to end: gather, build, render HTML (charts inline) and PDF, write both under the reports
 * prefix. Writing is idempotent: a date always has the same two keys, each replaced whole, so a retry or a re-run
 * leaves one report per day (the latest render) and never a mix of two.
 */
export interface DailyReportDeps extends GatherDeps {
  /** The bucket under `reports.prefix`. */
  reports: Storage;
  /** `s3://bucket/prefix/`, for the URIs in the announcement. */
  reportsUri: string;
  /** Absent: HTML only. */
  printer?: PdfPrinter;
  /** The symbols expected to trade on `date` (silent ones are listed); default: none. */
  expectedSymbols?: (date: string) => Promise<readonly string[]> | readonly string[];
  top?: number;
}

export type DailyReportResult =
  | { status: 'written'; ref: ReportRef; report: DailyReport; timings: { gatherMs: number; htmlMs: number; pdfMs: number } }
  | { status: 'no_data'; date: string; daysWithBars: string[] };

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The report's HTML (charts included) from its model: what the benchmark times apart from the PDF. */
export async function reportHtml(report: DailyReport): Promise<string> {
  return renderReportHtml(report, await renderCharts(report));
}

export async function writeDailyReport(
  deps: DailyReportDeps,
  date: string,
  opts: { generatedAtMs: number },
): Promise<DailyReportResult> {
  const t0 = performance.now();
  const gathered = await gatherDay(deps, date);
  if (gathered.bars.length === 0) return { status: 'no_data', date, daysWithBars: await daysWithBars(deps.storage) };
  const report = buildDailyReport({
    date,
    ...gathered,
    expectedSymbols: deps.expectedSymbols ? await deps.expectedSymbols(date) : undefined,
    generatedAtMs: opts.generatedAtMs,
    top: deps.top,
  });
  const t1 = performance.now();
  const html = await reportHtml(report);
  const t2 = performance.now();
  const pdf = deps.printer ? await deps.printer.print(html) : null;
  const t3 = performance.now();
  const keys = reportKeys(date);
  await deps.reports.put(keys.html, html);
  if (pdf) await deps.reports.put(keys.pdf, pdf);
  else await deps.reports.delete(keys.pdf); // an older render's PDF would no longer match the HTML
  const file = (key: string, body: Uint8Array | string) => ({
    key,
    uri: `${deps.reportsUri}${key}`,
    bytes: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
    sha256: sha256(body),
  });
  return {
    status: 'written',
    ref: {
      date,
      html: file(keys.html, html),
      pdf: pdf ? file(keys.pdf, pdf) : null,
      summary: report.summary,
      generatedAtMs: opts.generatedAtMs,
    },
    report,
    timings: { gatherMs: t1 - t0, htmlMs: t2 - t1, pdfMs: t3 - t2 },
  };
}
