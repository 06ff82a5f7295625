import { windowStartOf } from '../bar-fold.ts';
import { HOUR_US, partitionOf } from '../partition-path.ts';
import type { Alert } from '../schemas/alert.ts';
import { BAR_INTERVAL_US, barKey, type Bar } from '../schemas/bar.ts';
import type { ReconciledTable, ReconciliationRow } from '../schemas/reconciliation.ts';
import type { Tick } from '../schemas/tick.ts';
import { isAmbiguous, judgeAlert, judgeBar, type Difference } from './compare.ts';
import { replayStream, type ReplayOptions, type ReplayResult } from './replay.ts';

/**
 * Reconciliation of one window range [fromUs, toUs): the lake's raw ticks replayed as the stream saw them
 * (replay.ts), the batch truth of every 1-minute bar and the recomputed alerts compared with the stream's `bars`
 * (latest revision) and `alerts` tables, every difference classified (compare.ts), and one row per table and
 * partition for the `reconciliation` table. Pure: the caller reads the lake and writes the rows.
 *
 * The raw ticks must cover the lead-in (state the rules build up: the session VWAP since the UTC day's start,
 * EWMA baselines, cooldowns; see leadInStartUs) through `toUs` plus the allowed lateness and out-of-orderness, so
 * that every trade that arrived while a window of the range was open is replayed before it closes.
 */
export interface TableCoverage {
  /** Partitions (`dt=…/hour=…`) the table has data in. */
  partitions: ReadonlySet<string>;
  /** The latest event time the table holds, µs (null: empty): later than that it is not flushed yet. */
  maxTs: number | null;
}

export interface ReconcileInput {
  fromUs: number;
  toUs: number;
  raw: readonly Tick[];
  /** The stream's bars with windowStart in [fromUs, toUs), one (the latest revision) per window. */
  bars: readonly Bar[];
  /** The stream's alerts with ts in [fromUs − alertSlackUs, toUs + alertSlackUs). */
  alerts: readonly Alert[];
  coverage: { raw: TableCoverage; bars: TableCoverage; alerts: TableCoverage };
  replay: ReplayOptions;
  boundarySlackUs: number;
  run: { id: string; ts: number };
  /** Examples kept per row. */
  maxExamples?: number;
}

export interface ReconcileResult {
  rows: ReconciliationRow[];
  differences: Difference[];
  counts: ReplayResult['counts'];
}

/** Alerts are matched by id across this much around the range: a detection time may differ a little (batch.ts). */
export const ALERT_SLACK_US = 5 * 60_000_000;

/** Where the raw ticks must start for [fromUs, …): the UTC day's start (session state), `leadInUs` before that. */
export function leadInStartUs(fromUs: number, leadInUs: number): number {
  return Math.min(fromUs - (fromUs % (24 * HOUR_US)), fromUs) - leadInUs;
}

/** Where the raw ticks must end for […, toUs): every tick that arrived while a window of the range was open. */
export function tailEndUs(toUs: number, replay: ReplayOptions, boundarySlackUs: number): number {
  return toUs + replay.pipeline.allowedLatenessUs + replay.pipeline.outOfOrdernessUs + boundarySlackUs;
}

function notFlushed(table: string, cov: TableCoverage, ts: number): string | null {
  if (cov.maxTs === null) return `${table} is empty`;
  if (cov.maxTs < ts) return `${table} holds nothing after ${new Date(cov.maxTs / 1000).toISOString()} (not flushed)`;
  return null;
}

function absent(table: string, cov: TableCoverage, partition: string): string | null {
  return cov.partitions.has(partition) ? null : `${table} partition ${partition} is absent`;
}

export function reconcile(input: ReconcileInput): ReconcileResult {
  const { fromUs, toUs, coverage, boundarySlackUs } = input;
  const replay = replayStream(input.raw, input.replay);
  const differences: Difference[] = [];
  const inRange = (ts: number) => ts >= fromUs && ts < toUs;

  // ---- bars
  const streamBars = new Map<string, Bar>();
  for (const b of input.bars) if (inRange(b.windowStart)) streamBars.set(barKey(b.symbol, b.windowStart), b);
  const keys = new Set<string>(streamBars.keys());
  for (const [key, trades] of replay.windows) if (inRange(windowStartOf(trades[0]!.tick.ts))) keys.add(key);
  const tally = newTally();
  for (const key of [...keys].sort()) {
    const trades = replay.windows.get(key) ?? [];
    const stream = streamBars.get(key) ?? null;
    const windowStart = stream?.windowStart ?? windowStartOf(trades[0]!.tick.ts);
    const symbol = stream?.symbol ?? trades[0]!.tick.symbol;
    const partition = partitionOf(windowStart);
    const t = tallyOf(tally, 'bars', partition);
    if (trades.length) t.batchRows++;
    if (stream) t.streamRows++;
    const missing = !stream
      ? (absent('bars', coverage.bars, partition) ?? notFlushed('bars', coverage.bars, windowStart))
      : trades.length === 0
        ? (absent('raw', coverage.raw, partition) ?? notFlushed('raw', coverage.raw, windowStart + BAR_INTERVAL_US - 1))
        : null;
    const verdict = judgeBar(symbol, windowStart, trades, stream, boundarySlackUs, missing);
    if (verdict.class === 'match') {
      t.matched++;
      continue;
    }
    differences.push({
      table: 'bars',
      class: verdict.class,
      key,
      partition,
      detail: verdict.detail,
      lateTicks: verdict.lateTicks,
    });
  }

  // ---- alerts
  const ambiguous = new Map<string, number>();
  for (const trades of replay.windows.values()) {
    for (const t of trades) {
      if (!isAmbiguous(t, boundarySlackUs)) continue;
      const first = ambiguous.get(t.tick.symbol);
      if (first === undefined || t.tick.ts < first) ambiguous.set(t.tick.symbol, t.tick.ts);
    }
  }
  const ambiguousBefore = (symbol: string, ts: number) => (ambiguous.get(symbol) ?? Infinity) <= ts;
  const streamIds = new Set(input.alerts.map((a) => a.id));
  const batchIds = new Set(replay.alerts.map((a) => a.id));
  for (const a of replay.alerts) {
    if (!inRange(a.ts)) continue;
    const t = tallyOf(tally, 'alerts', partitionOf(a.ts));
    t.batchRows++;
    if (streamIds.has(a.id)) t.matched++;
    else {
      const v = judgeAlert(a, 'batch', ambiguousBefore, notFlushed('alerts', coverage.alerts, a.ts));
      differences.push({
        table: 'alerts',
        class: v.class,
        key: a.id,
        partition: partitionOf(a.ts),
        detail: v.detail,
        lateTicks: 0,
      });
    }
  }
  for (const a of input.alerts) {
    if (!inRange(a.ts)) continue;
    const partition = partitionOf(a.ts);
    const t = tallyOf(tally, 'alerts', partition);
    t.streamRows++;
    if (batchIds.has(a.id)) continue;
    const missing = absent('raw', coverage.raw, partition) ?? notFlushed('raw', coverage.raw, a.ts);
    const v = judgeAlert(a, 'stream', ambiguousBefore, missing);
    differences.push({ table: 'alerts', class: v.class, key: a.id, partition, detail: v.detail, lateTicks: 0 });
  }

  return { rows: toRows(input, tally, differences), differences, counts: replay.counts };
}

interface Tally {
  batchRows: number;
  streamRows: number;
  matched: number;
}

function newTally(): Map<string, Tally> {
  return new Map();
}

function tallyOf(tally: Map<string, Tally>, table: ReconciledTable, partition: string): Tally {
  const k = `${table} ${partition}`;
  let t = tally.get(k);
  if (!t) tally.set(k, (t = { batchRows: 0, streamRows: 0, matched: 0 }));
  return t;
}

/** Every hour partition [fromUs, toUs) touches, with the part of it the range covers. */
export function partitionsOf(fromUs: number, toUs: number): { partition: string; startUs: number; endUs: number }[] {
  const out = [];
  for (let h = fromUs - (fromUs % HOUR_US); h < toUs; h += HOUR_US) {
    out.push({ partition: partitionOf(h), startUs: Math.max(h, fromUs), endUs: Math.min(h + HOUR_US, toUs) });
  }
  return out;
}

/** One row per table and partition of the range, including the ones with nothing in them (a clean hour says so). */
function toRows(input: ReconcileInput, tally: Map<string, Tally>, differences: Difference[]): ReconciliationRow[] {
  const rows: ReconciliationRow[] = [];
  const maxExamples = input.maxExamples ?? 5;
  for (const p of partitionsOf(input.fromUs, input.toUs)) {
    for (const table of ['bars', 'alerts'] as const) {
      const t = tally.get(`${table} ${p.partition}`) ?? { batchRows: 0, streamRows: 0, matched: 0 };
      const diffs = differences.filter((d) => d.table === table && d.partition === p.partition);
      const n = (c: Difference['class']) => diffs.filter((d) => d.class === c).length;
      // Disagreements first: they are what a person opens the row for.
      const examples = [...diffs]
        .sort((a, b) => rank(a.class) - rank(b.class))
        .slice(0, maxExamples)
        .map((d) => `${d.class} ${d.key}: ${d.detail}`.slice(0, 400));
      rows.push({
        runId: input.run.id,
        runTs: input.run.ts,
        table,
        partition: p.partition,
        windowStart: p.startUs,
        windowEnd: p.endUs,
        batchRows: t.batchRows,
        streamRows: t.streamRows,
        matched: t.matched,
        late: n('late'),
        missingPartition: n('missing_partition'),
        disagreement: n('disagreement'),
        lateTicks: diffs.reduce((s, d) => s + d.lateTicks, 0),
        examples,
      });
    }
  }
  return rows;
}

const rank = (c: Difference['class']) => (c === 'disagreement' ? 0 : c === 'missing_partition' ? 1 : 2);
