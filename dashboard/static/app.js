/* global document, window, fetch, EventSource, LightweightCharts, CSS, performance */
// The dashboard page: a snapshot from the API, then live events over one SSE stream. Every value from the server
// is written as text (textContent), never as markup.
'use strict';

const state = {
  rows: new Map(),
  symbol: null,
  bars: new Map(),
  alerts: [],
  chart: null,
  candles: null,
  volume: null,
  stream: null,
  reconnecting: false,
};

const $ = (id) => document.getElementById(id);
const fmt = (n, d = 2) => (n === null || n === undefined ? '–' : Number(n).toFixed(d));
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const hhmm = (sec) => new Date(sec * 1000).toISOString().slice(11, 16);
const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

function spark(values, up) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 120 24');
  svg.setAttribute('class', `spark ${up ? 'up' : 'down'}`);
  svg.setAttribute('aria-hidden', 'true');
  if (values.length > 1) {
    const min = Math.min(...values);
    const max = Math.max(...values);
    const span = max - min || 1;
    const pts = values.map(
      (v, i) => `${((i / (values.length - 1)) * 118 + 1).toFixed(1)},${(22 - ((v - min) / span) * 20 + 1).toFixed(1)}`,
    );
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', pts.join(' '));
    svg.appendChild(line);
  }
  return svg;
}

function changeCell(pct) {
  const td = el('td', `${pct >= 0 ? '+' : ''}${fmt(pct)}%`, `num ${pct >= 0 ? 'up' : 'down'}`);
  return td;
}

function renderRow(r) {
  const tr = el('tr');
  tr.dataset.symbol = r.symbol;
  const th = el('th');
  th.scope = 'row';
  const b = el('button', r.symbol, 'sym');
  b.type = 'button';
  b.setAttribute('aria-pressed', String(r.symbol === state.symbol));
  b.setAttribute('aria-label', `Chart ${r.symbol}`);
  b.addEventListener('click', () => selectSymbol(r.symbol, true));
  th.appendChild(b);
  tr.appendChild(th);
  tr.appendChild(el('td', fmt(r.last), 'num'));
  tr.appendChild(changeCell(r.changePct));
  const sp = el('td');
  sp.appendChild(spark(r.spark, r.changePct >= 0));
  tr.appendChild(sp);
  tr.appendChild(el('td', fmtInt(r.volume), 'num'));
  return tr;
}

function renderMarket() {
  const body = $('market').tBodies[0];
  const rows = [...state.rows.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  body.replaceChildren(...rows.map(renderRow));
  $('market-empty').hidden = rows.length > 0;
  renderMovers();
}

function renderMovers() {
  const rows = [...state.rows.values()].sort((a, b) => b.changePct - a.changePct);
  const item = (r) => {
    const li = el('li');
    li.appendChild(el('span', `${r.symbol} `));
    li.appendChild(el('span', `${r.changePct >= 0 ? '+' : ''}${fmt(r.changePct)}%`, r.changePct >= 0 ? 'up' : 'down'));
    return li;
  };
  $('gainers').replaceChildren(
    ...rows
      .filter((r) => r.changePct > 0)
      .slice(0, 5)
      .map(item),
  );
  $('losers').replaceChildren(
    ...rows
      .filter((r) => r.changePct < 0)
      .reverse()
      .slice(0, 5)
      .map(item),
  );
}

function updateRow(symbol) {
  const r = state.rows.get(symbol);
  const tr = $('market').querySelector(`tr[data-symbol="${CSS.escape(symbol)}"]`);
  if (!r) return;
  if (!tr) return renderMarket();
  tr.replaceWith(renderRow(r));
}

function setSymbolOptions(symbols) {
  const sel = $('symbol');
  const current = sel.value;
  sel.replaceChildren(...symbols.map((s) => el('option', s)));
  if (current && symbols.includes(current)) sel.value = current;
}

function initChart() {
  const lc = LightweightCharts;
  const chart = lc.createChart($('chart'), {
    autoSize: true,
    layout: { background: { color: '#161d26' }, textColor: '#e6e9ee', attributionLogo: true },
    grid: { vertLines: { color: '#222b36' }, horzLines: { color: '#222b36' } },
    timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { borderColor: '#2a3441' },
  });
  state.candles = chart.addSeries(lc.CandlestickSeries, {
    upColor: '#26a69a',
    downColor: '#ef5350',
    borderVisible: false,
    wickUpColor: '#4cd6a0',
    wickDownColor: '#ff8a8a',
  });
  state.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
  state.volume = chart.addSeries(lc.HistogramSeries, {
    priceFormat: { type: 'volume' },
    priceScaleId: '',
    color: '#3d5a80',
  });
  state.volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
  state.chart = chart;
}

const candle = (b) => ({ time: b.time, open: b.open, high: b.high, low: b.low, close: b.close });
const vol = (b) => ({ time: b.time, value: b.volume, color: b.close >= b.open ? '#2e6f66' : '#8a3b3b' });

// What the benchmark reads: when the chart first had its data, and each live bar's delay after its window closed.
window.ticklakeStats = { firstChartMs: null, barDelaysMs: [] };

function drawAll() {
  const bars = [...state.bars.values()].sort((a, b) => a.time - b.time);
  state.candles.setData(bars.map(candle));
  state.volume.setData(bars.map(vol));
  // A short day fills the width; a long one shows its latest three hours.
  if (bars.length <= 180) state.chart.timeScale().fitContent();
  else state.chart.timeScale().setVisibleLogicalRange({ from: bars.length - 180, to: bars.length });
  markChart();
  if (window.ticklakeStats.firstChartMs === null) {
    window.ticklakeStats.firstChartMs = performance.now();
    performance.mark('ticklake:chart-drawn');
  }
}

function markChart() {
  const bars = [...state.bars.values()].sort((a, b) => a.time - b.time);
  const last = bars[bars.length - 1];
  const c = $('chart');
  c.dataset.symbol = state.symbol ?? '';
  c.dataset.bars = String(bars.length);
  c.dataset.lastTime = last ? String(last.time) : '';
  c.setAttribute('aria-label', `Candlestick chart of ${state.symbol}: ${bars.length} one-minute bars today`);
  $('last-bar').textContent = last
    ? `${state.symbol} ${hhmm(last.time)} UTC  O ${fmt(last.open)}  H ${fmt(last.high)}  L ${fmt(last.low)}  C ${fmt(last.close)}  V ${fmtInt(last.volume)}`
    : `${state.symbol ?? ''}: no bars today yet`;
}

function applyBarToChart(b) {
  const lastTime = Math.max(0, ...state.bars.keys());
  state.bars.set(b.time, b);
  // The chart appends or replaces its last point only; a revision of an older window redraws.
  if (b.time >= lastTime) {
    state.candles.update(candle(b));
    state.volume.update(vol(b));
    if (state.bars.size <= 180) state.chart.timeScale().fitContent();
    markChart();
  } else drawAll();
}

async function selectSymbol(symbol, focusChart) {
  state.symbol = symbol;
  $('symbol').value = symbol;
  $('chart-h').textContent = `1-minute bars: ${symbol}`;
  if (window.location.hash !== `#symbol=${symbol}`)
    window.history.replaceState(null, '', `#symbol=${encodeURIComponent(symbol)}`);
  for (const b of $('market').querySelectorAll('button.sym'))
    b.setAttribute('aria-pressed', String(b.textContent === symbol));
  const res = await api(`/api/bars?symbol=${encodeURIComponent(symbol)}`);
  if (state.symbol !== symbol) return;
  state.bars = new Map(res.bars.map((b) => [b.time, b]));
  drawAll();
  if (focusChart) $('symbol').focus();
}

function renderAlert(a) {
  const li = el('li');
  li.dataset.id = a.id;
  const t = new Date(a.ts / 1000).toISOString().slice(11, 19);
  li.appendChild(el('span', a.severity, `sev sev-${a.severity}`));
  li.appendChild(el('time', `${t} `));
  li.appendChild(el('strong', `${a.rule} `));
  li.appendChild(el('span', `${a.symbol} `));
  li.appendChild(el('span', a.message, 'muted'));
  if (a.modelVersion) li.appendChild(el('span', ` model ${a.modelVersion}`, 'muted'));
  return li;
}

function renderAlerts() {
  $('alert-feed').replaceChildren(...state.alerts.slice(0, 100).map(renderAlert));
  $('alerts-empty').hidden = state.alerts.length > 0;
}

function renderHealth(h) {
  if (!h) return;
  const rates = [
    ['Ticks / s', fmt(h.ticksPerSec, 1)],
    ['Dead letters / min', fmt(h.dlqPerMin, 1)],
    ['Late ticks / min', fmt(h.latePerMin, 1)],
    ['Open dashboards', String(h.clients)],
  ];
  $('rates').replaceChildren(
    ...rates.map(([k, v]) => {
      const d = el('div');
      d.appendChild(el('dt', k));
      d.appendChild(el('dd', v));
      return d;
    }),
  );
  $('lag').tBodies[0].replaceChildren(
    ...(h.lag ?? []).map((g) => {
      const tr = el('tr');
      tr.appendChild(el('td', g.name));
      tr.appendChild(el('td', g.topic));
      tr.appendChild(el('td', g.lag === null ? 'not running' : fmtInt(g.lag), 'num'));
      return tr;
    }),
  );
  $('lag-error').textContent = h.lagError ?? '';
  $('runs').tBodies[0].replaceChildren(
    ...(h.runs ?? []).map((r) => {
      const tr = el('tr');
      tr.appendChild(el('td', r.kind));
      const td = el('td');
      const a = el('a', r.workflowId);
      a.href = r.url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      td.appendChild(a);
      tr.appendChild(td);
      tr.appendChild(el('td', r.outcome ? `${r.status} (${r.outcome})` : r.status));
      tr.appendChild(el('td', r.startTime.slice(0, 16).replace('T', ' ')));
      return tr;
    }),
  );
  $('runs-error').textContent = h.runsError ?? (h.runs && h.runs.length === 0 ? 'No batch runs yet.' : '');
}

function onBar(b) {
  const r = state.rows.get(b.symbol);
  if (r) {
    if (b.time * 1e6 > (r.sparkTime ?? 0)) {
      r.spark = [...r.spark, b.close].slice(-120);
      r.sparkTime = b.time * 1e6;
    }
    r.volume += b.revision === 0 ? b.volume : 0;
  } else {
    state.rows.set(b.symbol, {
      symbol: b.symbol,
      last: b.close,
      open: b.open,
      changePct: ((b.close - b.open) / b.open) * 100,
      volume: b.volume,
      spark: [b.close],
    });
    setSymbolOptions([...new Set([...[...$('symbol').options].map((o) => o.value), b.symbol])].sort());
    if (!state.symbol) void selectSymbol(b.symbol, false);
  }
  updateRow(b.symbol);
  if (b.symbol === state.symbol) {
    applyBarToChart(b);
    if (b.revision === 0) window.ticklakeStats.barDelaysMs.push(Date.now() - (b.time + 60) * 1000);
  }
}

// Prices come every second for every moving symbol: only the two cells change, the row and its sparkline stay.
function onPrices(list) {
  for (const p of list) {
    const r = state.rows.get(p.symbol);
    if (!r) continue;
    r.last = p.last;
    r.changePct = p.changePct;
    const tr = $('market').querySelector(`tr[data-symbol="${CSS.escape(p.symbol)}"]`);
    if (!tr) continue;
    tr.cells[1].textContent = fmt(r.last);
    tr.cells[2].replaceWith(changeCell(r.changePct));
    tr.querySelector('svg.spark')?.setAttribute('class', `spark ${r.changePct >= 0 ? 'up' : 'down'}`);
  }
  renderMovers();
}

function onAlert(a) {
  if (state.alerts.some((x) => x.id === a.id)) return;
  state.alerts.unshift(a);
  if (state.alerts.length > 200) state.alerts.length = 200;
  $('alert-feed').prepend(renderAlert(a));
  $('alerts-empty').hidden = true;
}

function setConn(text, cls) {
  const c = $('conn');
  c.textContent = text;
  c.className = `conn ${cls}`;
}

async function loadSnapshot() {
  const [overview, alerts] = await Promise.all([api('/api/overview'), api('/api/alerts?limit=100')]);
  $('day').textContent = `(${overview.day} UTC)`;
  state.rows = new Map(overview.rows.map((r) => [r.symbol, r]));
  setSymbolOptions(overview.symbols);
  renderMarket();
  state.alerts = alerts.alerts;
  renderAlerts();
  const fromHash = decodeURIComponent((window.location.hash.match(/^#symbol=(.+)$/) ?? [])[1] ?? '');
  const pick =
    (fromHash && overview.symbols.includes(fromHash) && fromHash) ||
    state.symbol ||
    overview.movers.gainers[0]?.symbol ||
    overview.rows[0]?.symbol ||
    overview.symbols[0];
  if (pick) await selectSymbol(pick, false);
  renderHealth(await api('/api/health'));
}

function connect() {
  const es = new EventSource('/api/stream');
  state.stream = es;
  es.addEventListener('open', () => {
    setConn('live', 'live');
    if (state.reconnecting) {
      state.reconnecting = false;
      void loadSnapshot();
    }
  });
  es.addEventListener('error', () => {
    state.reconnecting = true;
    setConn('reconnecting…', 'down');
  });
  es.addEventListener('bar', (e) => onBar(JSON.parse(e.data)));
  es.addEventListener('prices', (e) => onPrices(JSON.parse(e.data)));
  es.addEventListener('alert', (e) => onAlert(JSON.parse(e.data)));
  es.addEventListener('health', (e) => renderHealth(JSON.parse(e.data)));
}

async function main() {
  initChart();
  $('symbol').addEventListener('change', (e) => void selectSymbol(e.target.value, false));
  connect();
  await loadSnapshot();
  document.body.dataset.ready = 'true';
}

document.addEventListener('DOMContentLoaded', () => {
  main().catch((err) => {
    setConn(`error: ${err.message}`, 'down');
  });
});
