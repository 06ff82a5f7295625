import { describe, expect, it } from 'vitest';
import { chartSpecs } from '../../../../core/reports/charts.ts';
import { esc, renderReportHtml } from '../../../../core/reports/html.ts';
import { buildDailyReport } from '../../../../core/reports/model.ts';
import type { Alert } from '../../../../core/schemas/alert.ts';
import { syntheticDay } from '../../../support/report-day.ts';

const DATE = '2026-11-20';
const EVIL = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

describe('daily report HTML', () => {
  const day = syntheticDay(DATE, { symbols: 6, fromMinute: 600, toMinute: 720, skipEvery: 20 });
  const evil: Alert = {
    ...day.alerts[0]!,
    id: 'evil',
    symbol: `X"><svg onload=alert(1)>`,
    rule: `r'<marquee>`,
    message: EVIL,
    modelVersion: `v<i>1`,
  };
  const report = buildDailyReport({
    date: DATE,
    bars: day.bars,
    alerts: [...day.alerts, evil],
    expectedSymbols: [...day.symbols, 'GONE'],
    pipeline: {
      lake: [{ table: 'bars', hours: 2, files: 3, compactedFiles: 1, rows: 700, bytes: 50_000 }],
      kafka: { unavailable: 'Kafka <down>' },
      warehouse: [{ table: 'bars_1m', loadedRows: 700, lastLoadMs: 0, freshUntilUs: 0 }],
    },
    generatedAtMs: Date.UTC(2026, 10, 21, 0, 20),
  });

  it('escapes every string from data: no markup from a symbol, rule, message or model version survives', () => {
    const html = renderReportHtml(report);
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/<img|<svg onload|<marquee>|<i>1/);
    // Escaped text may read "onerror=", but no tag carries an event handler.
    const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
    expect(tags.filter((t) => /\son\w+=/i.test(t))).toEqual([]);
    expect(html).toContain(esc(EVIL));
    expect(html).toContain('X&quot;&gt;&lt;svg onload=alert(1)&gt;');
    expect(html).toContain('Kafka &lt;down&gt;');
  });

  it('forbids scripts and fetches by its own policy and names the day, movers, silent symbols', () => {
    const html = renderReportHtml(report);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).toContain(`Daily market report · ${DATE}`);
    expect(html).toContain(report.volumeLeaders[0]!.symbol);
    expect(html).toContain('silent all day (1): GONE');
  });

  it('embeds the charts it is given and builds specs only for sections with data, with inline data', () => {
    const specs = chartSpecs(report);
    expect(Object.keys(specs).sort()).toEqual(['alertsByHour', 'movers', 'volume']);
    for (const s of Object.values(specs)) expect(JSON.stringify(s)).not.toMatch(/"url"/);
    const empty = buildDailyReport({ ...{ date: DATE, bars: [], alerts: [] }, pipeline: report.pipeline, generatedAtMs: 0 });
    expect(chartSpecs(empty)).toEqual({});
    expect(renderReportHtml(empty)).toContain('No bars in the lake for this day.');
    expect(renderReportHtml(report, { movers: '<svg id="m"></svg>' })).toContain('<figure><svg id="m"></svg>');
  });
});
