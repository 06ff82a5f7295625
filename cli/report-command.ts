import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TickLakeError } from '../core/errors.ts';
import { dayRangeUs } from '../core/reports/model.ts';
import { kafkaClient, lakeStorage, warehouseDeps } from '../infra/clients.ts';
import { announceReport } from '../infra/reports/announce.ts';
import { writeDailyReport } from '../infra/reports/daily.ts';
import { reportDeps } from '../infra/reports/deps.ts';
import { EXIT_CODES } from './errors.ts';
import { noDataError } from '../infra/reports/gather.ts';
import { closeDuckDb } from '../lake/duckdb.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { configFrom } from './shared.ts';

interface ReportFlags {
  date?: string;
  out?: string;
  json?: boolean;
  pdf: boolean;
  announce?: boolean;
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      "Render a day's report (movers, volume leaders, alerts, anomalies, data quality, pipeline) as HTML and PDF into " +
        "the lake bucket's reports/ prefix, as the daily schedule does",
    )
    .option('--date <YYYY-MM-DD>', 'the UTC day (default: today so far)')
    .option('--out <dir>', 'also save report-<date>.html and .pdf in this directory')
    .option('--json', 'print where the report went and its numbers as JSON')
    .option('--no-pdf', 'HTML only (no Chromium needed)')
    .option('--announce', 'also send the report.published webhook (reports.webhookUrl)')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake report --date 2026-11-20\n  ticklake report --date 2026-11-20 --out ./out --no-pdf\n' +
        '  ticklake report --json | jq .ref.html.uri\n' +
        `\nExit codes: 0 written; ${EXIT_CODES.DATA} no bars that day (the message lists the days that have some); ` +
        `${EXIT_CODES.CONFIG} a bad --date or setting;\n${EXIT_CODES.ENVIRONMENT} no Chromium (install it, or --no-pdf); ` +
        `${EXIT_CODES.UNAVAILABLE} a server down (ticklake stack status). All codes: docs/CLI.md.`,
    )
    .action(async (o: ReportFlags, cmd: Command) => {
      const date = o.date ?? new Date().toISOString().slice(0, 10);
      try {
        dayRangeUs(date);
      } catch (err) {
        throw new TickLakeError('CONFIG_INVALID', `--date: ${(err as Error).message}`);
      }
      const config = configFrom(cmd);
      const storage = lakeStorage(config);
      const deps = reportDeps(config, {
        storage,
        kafka: kafkaClient(config, 'ticklake-report'),
        warehouse: new Warehouse(warehouseDeps(config, storage)),
        pdf: o.pdf && config.reports.pdf,
      });
      try {
        const r = await writeDailyReport({ ...deps, timeoutMs: 5_000 }, date, { generatedAtMs: Date.now() });
        if (r.status === 'no_data') throw noDataError(date, r.daysWithBars);
        let announced: string | null = null;
        if (o.announce) {
          if (!deps.announce) {
            throw new TickLakeError(
              'CONFIG_INVALID',
              '--announce: set reports.webhookUrl (TICKLAKE_REPORTS_WEBHOOK_URL)',
            );
          }
          announced = (await announceReport(r.ref, deps.announce)).webhookId;
        }
        const saved: string[] = [];
        if (o.out) {
          await mkdir(o.out, { recursive: true });
          for (const f of [r.ref.html, r.ref.pdf]) {
            if (!f) continue;
            const body = await deps.reports.get(f.key);
            const path = join(o.out, `report-${date}.${f.key.endsWith('.pdf') ? 'pdf' : 'html'}`);
            await writeFile(path, body!);
            saved.push(path);
          }
        }
        if (o.json) {
          const { moverSeries: _series, ...report } = r.report;
          process.stdout.write(
            `${JSON.stringify({ ref: r.ref, announced, saved, timings: r.timings, report }, null, 2)}\n`,
          );
          return;
        }
        const s = r.ref.summary;
        process.stdout.write(
          `report ${date}: ${s.symbols} symbols, ${s.bars} bars, ${s.trades} trades, ${s.alerts} alerts (${s.anomalies} anomalies)\n` +
            `  html ${r.ref.html.uri} (${kib(r.ref.html.bytes)})\n` +
            (r.ref.pdf ? `  pdf  ${r.ref.pdf.uri} (${kib(r.ref.pdf.bytes)})\n` : '') +
            saved.map((p) => `  saved ${p}\n`).join('') +
            (announced ? `  announced as ${announced}\n` : ''),
        );
      } finally {
        await deps.close();
        storage.client.destroy();
        await closeDuckDb();
      }
    });
}
