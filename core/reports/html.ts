import type { AlertLine, CountBy, DailyReport, SymbolDay, Unavailable } from './model.ts';

/**
 * The report as one self-contained HTML page: inline CSS, charts as inline SVG, no script, no external URL. A
 * Content-Security-Policy forbids scripts and every fetch, so even a string that slipped past escaping could not run
 * or call out, in a mail client's preview or in the Chromium that prints the PDF. Every string that comes from data
 * (symbols, rules, messages, model versions) goes through `esc`.
 */
export interface ReportCharts {
  movers?: string;
  volume?: string;
  alertsByHour?: string;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const num = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';
const pct = (n: number) => `${n > 0 ? '+' : ''}${num(n, 2)}%`;
const price = (n: number) => num(n, n >= 100 ? 2 : 4);
const time = (us: number) => new Date(us / 1000).toISOString().slice(11, 16);
const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const bytes = (n: number) =>
  n >= 1 << 30 ? `${num(n / (1 << 30), 1)} GiB` : n >= 1 << 20 ? `${num(n / (1 << 20), 1)} MiB` : `${num(n / 1024, 1)} KiB`;

function table(head: string[], rows: string[][], numeric: readonly number[] = []): string {
  if (!rows.length) return '<p class="empty">None.</p>';
  const cell = (tag: string, c: string, i: number) => `<${tag}${numeric.includes(i) ? ' class="n"' : ''}>${c}</${tag}>`;
  return (
    `<table><thead><tr>${head.map((h, i) => cell('th', esc(h), i)).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const moverRows = (list: SymbolDay[]) =>
  list.map((s) => [
    esc(s.symbol),
    price(s.open),
    price(s.close),
    `<span class="${s.changePct >= 0 ? 'up' : 'down'}">${pct(s.changePct)}</span>`,
    price(s.low),
    price(s.high),
  ]);

const batchLine = (b: DailyReport['anomalies']['batch']) =>
  b === null
    ? '<p>Batch scoring: this day is not scored yet (the anomaly-scoring schedule scores a day at 00:20 UTC the next day).</p>'
    : `<p>Batch scoring: ${num(b.flagged)} of ${num(b.scoredBars)} bars flagged.</p>` +
      `<div class="cols"><div>${counts('kind (batch)', b.byKind)}</div><div>${counts('model version (batch)', b.byModelVersion)}</div></div>`;

const counts = (title: string, list: CountBy[]) =>
  table(
    [title, 'count'],
    list.map((c) => [esc(c.key), num(c.count)]),
    [1],
  );

const alertRows = (list: AlertLine[], withModel: boolean) =>
  list.map((a) => [
    time(a.ts),
    `<span class="sev ${esc(a.severity)}">${esc(a.severity)}</span>`,
    esc(a.rule),
    esc(a.symbol),
    esc(a.message),
    num(a.value, 3),
    ...(withModel ? [esc(a.modelVersion ?? '–')] : []),
  ]);

const isUnavailable = (x: unknown): x is Unavailable => typeof x === 'object' && x !== null && 'unavailable' in x;

function pipelineSection(r: DailyReport): string {
  const p = r.pipeline;
  const lake = table(
    ['lake table', 'hours', 'files', 'compacted files', 'rows stored', 'size'],
    p.lake.map((t) => [esc(t.table), num(t.hours), num(t.files), num(t.compactedFiles), num(t.rows), bytes(t.bytes)]),
    [1, 2, 3, 4, 5],
  );
  const kafka = isUnavailable(p.kafka)
    ? `<p class="warn">Dead letters and late trades: unavailable (${esc(p.kafka.unavailable)}).</p>`
    : `<p>Dead-lettered records: <b>${num(p.kafka.dlq)}</b> · late trades (past the allowed lateness): <b>${num(p.kafka.late)}</b>.</p>`;
  const warehouse = isUnavailable(p.warehouse)
    ? `<p class="warn">Warehouse loads: unavailable (${esc(p.warehouse.unavailable)}).</p>`
    : table(
        ['warehouse table', 'rows loaded for the day', 'last load', 'fresh until'],
        p.warehouse.map((w) => [
          esc(w.table),
          w.loadedRows === null ? 'not loaded' : num(w.loadedRows),
          w.lastLoadMs === null ? '–' : stamp(w.lastLoadMs),
          w.freshUntilUs === null ? '–' : stamp(w.freshUntilUs / 1000),
        ]),
        [1],
      );
  return `<section><h2>Pipeline</h2>${kafka}${lake}${warehouse}</section>`;
}

function qualitySection(r: DailyReport): string {
  const q = r.quality;
  const silent = q.silent.length
    ? `<p class="warn">Traded the day before, silent all day (${q.silent.length}): ${q.silent.map(esc).join(', ')}</p>`
    : '<p>Every symbol of the day before traded.</p>';
  const stopped = q.stopped.length
    ? `<p class="warn">Stopped before the day's end: ${q.stopped.map((s) => `${esc(s.symbol)} (last bar ${time(s.lastUs)})`).join(', ')}</p>`
    : '';
  const gaps = table(
    ['symbol', 'minutes without a bar', 'longest gap (min)'],
    q.gaps.slice(0, 15).map((g) => [esc(g.symbol), num(g.missingMinutes), num(g.longestGapMinutes)]),
    [1, 2],
  );
  const trades = table(
    ['symbol', 'bars', 'trades', 'first', 'last'],
    r.symbols.map((s) => [esc(s.symbol), num(s.bars), num(s.trades), time(s.firstUs), time(s.lastUs)]),
    [1, 2],
  );
  return (
    `<section><h2>Data quality</h2>${silent}${stopped}<h3>Gaps between a symbol's first and last bar</h3>${gaps}` +
    `<details open><summary>Trade counts per symbol</summary>${trades}</details></section>`
  );
}

const figure = (svg: string | undefined, caption: string) =>
  svg ? `<figure>${svg}<figcaption>${esc(caption)}</figcaption></figure>` : '';

const CSS = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--up:#116329;--down:#a40e26;--warn:#7d4e00}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0 auto;max-width:1040px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:28px}h3{font-size:14px;margin:16px 0 6px}
.meta{color:var(--muted);margin:0 0 16px}.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px}
.kpi{border:1px solid var(--line);border-radius:6px;padding:8px 10px}.kpi b{display:block;font-size:20px}.kpi span{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-variant-numeric:tabular-nums}th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f6f8fa}.n{text-align:right}.up{color:var(--up)}.down{color:var(--down)}.warn{color:var(--warn)}.empty{color:var(--muted)}
td:nth-child(5){word-break:break-word}.cols{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.sev{padding:0 6px;border-radius:8px;border:1px solid var(--line)}.sev.critical{background:#ffebe9}.sev.warning{background:#fff8c5}
figure{margin:8px 0}figure svg{max-width:100%;height:auto}figcaption{color:var(--muted);font-size:12px}
@media (max-width:700px){.cols{grid-template-columns:1fr}}
@media print{body{padding:0;max-width:none}section{break-inside:avoid-page}table{font-size:11px}details>summary{display:none}}
`;

/** The page. `charts` are SVG documents rendered from `chartSpecs(report)` at the edge. */
export function renderReportHtml(r: DailyReport, charts: ReportCharts = {}): string {
  const s = r.summary;
  const kpi = (v: string, label: string) => `<div class="kpi"><b>${v}</b><span>${esc(label)}</span></div>`;
  const empty = s.bars === 0 ? '<p class="warn">No bars in the lake for this day.</p>' : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>ticklake daily report ${esc(r.date)}</title><style>${CSS}</style></head>
<body><header><h1>Daily market report · ${esc(r.date)}</h1>
<p class="meta">UTC day · generated ${stamp(r.generatedAtMs)} by ticklake from the lake's bars and alerts</p></header>
${empty}<div class="kpis">${kpi(num(s.symbols), 'symbols traded')}${kpi(num(s.bars), '1-minute bars')}${kpi(num(s.trades), 'trades')}${kpi(num(s.volume), 'shares / units')}${kpi(num(s.alerts), 'alerts')}${kpi(num(s.anomalies), 'anomalies')}</div>
<section><h2>Top movers (open → close)</h2>${figure(charts.movers, 'Change from the open, per minute, for the five biggest movers')}
<div class="cols"><div><h3>Gainers</h3>${table(['symbol', 'open', 'close', 'change', 'low', 'high'], moverRows(r.gainers), [1, 2, 3, 4, 5])}</div>
<div><h3>Losers</h3>${table(['symbol', 'open', 'close', 'change', 'low', 'high'], moverRows(r.losers), [1, 2, 3, 4, 5])}</div></div></section>
<section><h2>Volume leaders</h2>${figure(charts.volume, 'Volume traded on the day')}
${table(
  ['symbol', 'volume', 'traded value', 'trades', 'change'],
  r.volumeLeaders.map((v) => [esc(v.symbol), num(v.volume), num(v.notional), num(v.trades), pct(v.changePct)]),
  [1, 2, 3, 4],
)}</section>
<section><h2>Alerts</h2>${figure(charts.alertsByHour, 'Alerts per UTC hour, by rule')}
<div class="cols"><div>${counts('rule', r.alerts.byRule)}</div><div>${counts('symbol', r.alerts.bySymbol)}</div></div>
<h3>Most severe first${r.alerts.total > r.alerts.listed ? ` (${r.alerts.listed} of ${num(r.alerts.total)})` : ''}</h3>
${table(['time', 'severity', 'rule', 'symbol', 'message', 'value'], alertRows(r.alerts.list, false), [5])}</section>
<section><h2>Anomalies (model scores)</h2>
${batchLine(r.anomalies.batch)}
<div class="cols"><div>${counts('model version', r.anomalies.byModelVersion)}</div><div>${counts('symbol', r.anomalies.bySymbol)}</div></div>
${table(['time', 'severity', 'rule', 'symbol', 'message', 'score', 'model'], alertRows(r.anomalies.list, true), [5])}</section>
${qualitySection(r)}
${pipelineSection(r)}
</body></html>
`;
}
