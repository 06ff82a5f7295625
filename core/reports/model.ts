import type { Alert } from '../schemas/alert.ts';
import { BAR_INTERVAL_US, type Bar } from '../schemas/bar.ts';
import type { StoredAnomalyRow } from '../schemas/model.ts';

/**
 * The daily report as data: a pure function of one UTC day's bars and alerts and of the facts the edges gathered
 * about the pipeline. Rendering (HTML, charts, PDF) reads only this, so what a reader sees is what the unit tests
 * check, and `ticklake report --json` prints the same object.
 */
/**
 * Until the `anomalies` table lands, an anomaly is an alert of a `model_score` rule: those carry the scoring model's
 * `modelVersion` (rule ids are the rules file's, e.g. `anomaly-score`, so the version is the mark, not the id).
 */
export const isAnomaly = (a: Pick<Alert, 'rule' | 'modelVersion'>) =>
  (a.modelVersion !== undefined && a.modelVersion !== null) || a.rule === 'model_score';
const DAY_US = 86_400_000_000;
const MINUTE_US = BAR_INTERVAL_US;

/** What the lake holds for one table on the day (from its manifest: no data file is read for it). */
export interface LakeTableFacts {
  table: string;
  /** Hours with data, of 24. */
  hours: number;
  files: number;
  /** Files written by compaction (the rest are the sink's). */
  compactedFiles: number;
  /** Rows stored, duplicates and bar revisions included. */
  rows: number;
  bytes: number;
}

/** One warehouse table's load of the day, from the load ledger; null fields when never loaded. */
export interface WarehouseDayFacts {
  table: string;
  loadedRows: number | null;
  lastLoadMs: number | null;
  /** Latest event time the warehouse holds for the table (any day), µs. */
  freshUntilUs: number | null;
}

/** A fact the edges could not gather (a server down): the report says so instead of failing. */
export interface Unavailable {
  unavailable: string;
}

export interface PipelineFacts {
  lake: LakeTableFacts[];
  /** Records written to ticks.dlq / ticks.late during the day (Kafka offsets by timestamp). */
  kafka: { dlq: number; late: number } | Unavailable;
  warehouse: WarehouseDayFacts[] | Unavailable;
}

/** What the report reads of an `anomalies` row. */
export type ScoredBar = Pick<StoredAnomalyRow, 'symbol' | 'windowStart' | 'kind' | 'modelVersion' | 'flagged'>;

export interface ReportInput {
  /** `YYYY-MM-DD`, UTC. */
  date: string;
  bars: readonly Bar[];
  alerts: readonly Alert[];
  /** The day's rows of the `anomalies` table (the batch scoring run); absent or empty until that day is scored. */
  scored?: readonly ScoredBar[];
  /** Symbols expected to trade (the edge passes the previous day's): any without a bar on the day is silent. */
  expectedSymbols?: readonly string[];
  pipeline: PipelineFacts;
  generatedAtMs: number;
  /** Rows in each ranking (movers, leaders). */
  top?: number;
  /** A symbol whose last bar is this long before the day's last bar stopped trading (default 30 minutes). */
  stoppedAfterMinutes?: number;
}

export interface SymbolDay {
  symbol: string;
  open: number;
  close: number;
  high: number;
  low: number;
  /** (close - open) / open, in percent. */
  changePct: number;
  volume: number;
  /** Σ vwap·volume over the bars: the traded value. */
  notional: number;
  trades: number;
  bars: number;
  firstUs: number;
  lastUs: number;
  /** Minutes between the first and last bar without a bar (no trade). */
  missingMinutes: number;
  longestGapMinutes: number;
}

export interface CountBy {
  key: string;
  count: number;
}

export interface AlertLine {
  ts: number;
  rule: string;
  symbol: string;
  severity: string;
  value: number;
  threshold: number;
  message: string;
  modelVersion: string | null;
}

export interface DailyReport {
  date: string;
  generatedAtMs: number;
  summary: { symbols: number; bars: number; trades: number; volume: number; alerts: number; anomalies: number };
  gainers: SymbolDay[];
  losers: SymbolDay[];
  volumeLeaders: SymbolDay[];
  /** Every symbol's day, by symbol. */
  symbols: SymbolDay[];
  /** Per minute of the day, the close's change from the open in percent, for the top movers (chart). */
  moverSeries: { symbol: string; minute: number; pct: number }[];
  alerts: {
    total: number;
    byRule: CountBy[];
    bySymbol: CountBy[];
    bySeverity: CountBy[];
    /** Per UTC hour and rule (chart). */
    byHour: { hour: number; rule: string; count: number }[];
    /** The most severe first, then by time; at most `listed`. */
    list: AlertLine[];
    listed: number;
  };
  anomalies: {
    total: number;
    byModelVersion: CountBy[];
    bySymbol: CountBy[];
    list: AlertLine[];
    /** The batch scoring of the day's bars (the `anomalies` table); null when the day is not scored yet. */
    batch: { scoredBars: number; flagged: number; byKind: CountBy[]; byModelVersion: CountBy[] } | null;
  };
  quality: {
    /** Expected symbols with no bar on the day. */
    silent: string[];
    /** Symbols whose last bar is well before the day's last bar. */
    stopped: { symbol: string; lastUs: number }[];
    /** Symbols with gaps, the most missing minutes first. */
    gaps: { symbol: string; missingMinutes: number; longestGapMinutes: number }[];
    missingMinutes: number;
  };
  pipeline: PipelineFacts;
}

/** [start, end) of a `YYYY-MM-DD` UTC day in µs; throws on anything else. */
export function dayRangeUs(date: string): { fromUs: number; toUs: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`not a date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  }
  return { fromUs: ms * 1000, toUs: ms * 1000 + DAY_US };
}

/** The UTC day before the one `nowMs` falls in: the day a scheduled report covers. */
export function previousDay(nowMs: number): string {
  return new Date(nowMs - 86_400_000).toISOString().slice(0, 10);
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, warning: 1, info: 2 };

function batchScores(rows: readonly ScoredBar[], fromUs: number, toUs: number): DailyReport['anomalies']['batch'] {
  const day = rows.filter((r) => r.windowStart >= fromUs && r.windowStart < toUs);
  if (day.length === 0) return null;
  const flagged = day.filter((r) => r.flagged === 1);
  return {
    scoredBars: day.length,
    flagged: flagged.length,
    byKind: countBy(flagged, (r) => r.kind),
    byModelVersion: countBy(flagged, (r) => r.modelVersion),
  };
}

function countBy<T>(items: readonly T[], key: (t: T) => string): CountBy[] {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return [...m].map(([k, count]) => ({ key: k, count })).sort((a, b) => b.count - a.count || cmp(a.key, b.key));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function symbolDay(symbol: string, bars: Bar[]): SymbolDay {
  bars.sort((a, b) => a.windowStart - b.windowStart);
  const first = bars[0]!;
  const last = bars.at(-1)!;
  let high = -Infinity;
  let low = Infinity;
  let volume = 0;
  let notional = 0;
  let trades = 0;
  let longest = 0;
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    high = Math.max(high, b.high);
    low = Math.min(low, b.low);
    volume += b.volume;
    notional += b.vwap * b.volume;
    trades += b.trades;
    if (i > 0) longest = Math.max(longest, (b.windowStart - bars[i - 1]!.windowStart) / MINUTE_US - 1);
  }
  const span = (last.windowStart - first.windowStart) / MINUTE_US + 1;
  return {
    symbol,
    open: first.open,
    close: last.close,
    high,
    low,
    changePct: ((last.close - first.open) / first.open) * 100,
    volume,
    notional,
    trades,
    bars: bars.length,
    firstUs: first.windowStart,
    lastUs: last.windowStart,
    missingMinutes: Math.round(span - bars.length),
    longestGapMinutes: Math.round(longest),
  };
}

function line(a: Alert): AlertLine {
  return {
    ts: a.ts,
    rule: a.rule,
    symbol: a.symbol,
    severity: a.severity,
    value: a.value,
    threshold: a.threshold,
    message: a.message,
    modelVersion: a.modelVersion ?? null,
  };
}

/**
 * Builds the report. Bars are expected one per (symbol, window) — the lake's latest revision (readRows) — and are
 * deduplicated here too, keeping the highest revision, so a caller handing every stored revision gets the same
 * answer. Rows outside the day are ignored.
 */
export function buildDailyReport(input: ReportInput): DailyReport {
  const { fromUs, toUs } = dayRangeUs(input.date);
  const top = input.top ?? 10;
  // Per symbol, per window start: the highest revision (numbers as keys; no key strings for 70k bars).
  const windows = new Map<string, Map<number, Bar>>();
  let barCount = 0;
  for (const b of input.bars) {
    if (b.windowStart < fromUs || b.windowStart >= toUs) continue;
    let m = windows.get(b.symbol);
    if (!m) windows.set(b.symbol, (m = new Map()));
    const seen = m.get(b.windowStart);
    if (!seen) barCount++;
    if (!seen || b.revision > seen.revision) m.set(b.windowStart, b);
  }
  const bySymbol = new Map<string, Bar[]>([...windows].map(([sym, m]) => [sym, [...m.values()]]));
  const symbols = [...bySymbol]
    .map(([s, bars]) => symbolDay(s, bars))
    .sort((a, b) => cmp(a.symbol, b.symbol));

  const byChange = [...symbols].sort((a, b) => b.changePct - a.changePct || cmp(a.symbol, b.symbol));
  const gainers = byChange.filter((s) => s.changePct > 0).slice(0, top);
  const losers = byChange
    .filter((s) => s.changePct < 0)
    .reverse()
    .slice(0, top);
  const volumeLeaders = [...symbols].sort((a, b) => b.volume - a.volume || cmp(a.symbol, b.symbol)).slice(0, top);

  const charted = [...symbols]
    .sort((a, b) => Math.abs(b.changePct) - Math.abs(a.changePct) || cmp(a.symbol, b.symbol))
    .slice(0, 5);
  const moverSeries = charted.flatMap((s) =>
    bySymbol.get(s.symbol)!.map((b) => ({
      symbol: s.symbol,
      minute: (b.windowStart - fromUs) / MINUTE_US,
      pct: ((b.close - s.open) / s.open) * 100,
    })),
  );

  const dayAlerts = input.alerts.filter((a) => a.ts >= fromUs && a.ts < toUs);
  const anomalies = dayAlerts.filter(isAnomaly);
  const listed = 50;
  const ordered = [...dayAlerts].sort(
    (a, b) => (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3) || a.ts - b.ts || cmp(a.id, b.id),
  );
  const hourly = new Map<string, { hour: number; rule: string; count: number }>();
  for (const a of dayAlerts) {
    const hour = Math.floor((a.ts - fromUs) / 3_600_000_000);
    const k = `${hour}\u0000${a.rule}`;
    const h = hourly.get(k) ?? { hour, rule: a.rule, count: 0 };
    h.count++;
    hourly.set(k, h);
  }

  const dayLast = symbols.reduce((m, s) => Math.max(m, s.lastUs), -Infinity);
  const stoppedUs = (input.stoppedAfterMinutes ?? 30) * MINUTE_US;
  const gaps = symbols
    .filter((s) => s.missingMinutes > 0)
    .map(({ symbol, missingMinutes, longestGapMinutes }) => ({ symbol, missingMinutes, longestGapMinutes }))
    .sort((a, b) => b.missingMinutes - a.missingMinutes || cmp(a.symbol, b.symbol));

  return {
    date: input.date,
    generatedAtMs: input.generatedAtMs,
    summary: {
      symbols: symbols.length,
      bars: barCount,
      trades: symbols.reduce((n, s) => n + s.trades, 0),
      volume: symbols.reduce((n, s) => n + s.volume, 0),
      alerts: dayAlerts.length,
      anomalies: anomalies.length,
    },
    gainers,
    losers,
    volumeLeaders,
    symbols,
    moverSeries,
    alerts: {
      total: dayAlerts.length,
      byRule: countBy(dayAlerts, (a) => a.rule),
      bySymbol: countBy(dayAlerts, (a) => a.symbol).slice(0, top),
      bySeverity: countBy(dayAlerts, (a) => a.severity),
      byHour: [...hourly.values()].sort((a, b) => a.hour - b.hour || cmp(a.rule, b.rule)),
      list: ordered.slice(0, listed).map(line),
      listed,
    },
    anomalies: {
      total: anomalies.length,
      byModelVersion: countBy(anomalies, (a) => a.modelVersion ?? 'unknown'),
      bySymbol: countBy(anomalies, (a) => a.symbol).slice(0, top),
      list: [...anomalies]
        .sort((a, b) => b.value - a.value || a.ts - b.ts)
        .slice(0, top)
        .map(line),
      batch: batchScores(input.scored ?? [], fromUs, toUs),
    },
    quality: {
      silent: (input.expectedSymbols ?? []).filter((s) => !bySymbol.has(s)).sort(cmp),
      stopped: symbols
        .filter((s) => dayLast - s.lastUs > stoppedUs)
        .map((s) => ({ symbol: s.symbol, lastUs: s.lastUs })),
      gaps,
      missingMinutes: gaps.reduce((n, g) => n + g.missingMinutes, 0),
    },
    pipeline: input.pipeline,
  };
}
