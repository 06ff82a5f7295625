import { barFromTrades } from '../bar-fold.ts';
import type { Alert } from '../schemas/alert.ts';
import { type Bar } from '../schemas/bar.ts';
import type { DifferenceClass, ReconciledTable } from '../schemas/reconciliation.ts';
import type { ReplayedTrade } from './replay.ts';

/**
 * Batch truth against the stream, one bar or alert at a time. A bar's truth is the fold of every valid trade of its
 * window, late ones included (barFromTrades: the fold the stream uses, exact sums, so equal inputs give bit-equal
 * bars). A stream bar that differs is `late` when it is exactly the fold of the trades the stream was right to
 * keep: every trade that arrived while the window was surely open, none that arrived after it had surely closed,
 * and any subset of the few in between (replay.ts: bounds of the partition's watermark, widened by the boundary
 * slack for arrival-order noise). Anything else is a `disagreement`, unless the partition is missing on one side.
 */
export interface Difference {
  table: ReconciledTable;
  class: DifferenceClass;
  /** `SYMBOL@windowStart` for a bar, the alert id for an alert. */
  key: string;
  /** The lake partition (`dt=…/hour=…`) the bar's window or the alert's time falls in. */
  partition: string;
  detail: string;
  /** Trades beyond the allowed lateness that explain a `late` bar. */
  lateTicks: number;
}

/** The bar fields compared, exactly; `revision` is how many times the stream re-emitted it, not content. */
export const BAR_FIELDS = [
  'windowEnd',
  'trades',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'vwap',
  'firstTs',
  'lastTs',
] as const satisfies readonly (keyof Bar)[];

/** The fields on which two bars differ (none: equal). */
export function barDiff(a: Bar, b: Bar): (typeof BAR_FIELDS)[number][] {
  return BAR_FIELDS.filter((f) => !Object.is(a[f], b[f]));
}

function describe(truth: Bar | null, stream: Bar | null): string {
  if (!truth) return 'the stream has a bar the raw ticks do not make';
  if (!stream) return `no stream bar for ${truth.trades} trade(s)`;
  return barDiff(truth, stream)
    .map((f) => `${f} ${truth[f]} (batch) != ${stream[f]} (stream)`)
    .join(', ');
}

/** Most ambiguous trades of one window tried in every combination (2^n folds); more is a disagreement. */
const MAX_AMBIGUOUS = 8;

export const surelyOnTime = (t: ReplayedTrade, slackUs: number) => t.highUs < -slackUs;
export const surelyLate = (t: ReplayedTrade, slackUs: number) => t.lowUs > slackUs;
export const isAmbiguous = (t: ReplayedTrade, slackUs: number) => !surelyOnTime(t, slackUs) && !surelyLate(t, slackUs);

export type BarVerdict = { class: 'match' } | { class: DifferenceClass; detail: string; lateTicks: number };

export function judgeBar(
  symbol: string,
  windowStart: number,
  trades: readonly ReplayedTrade[],
  stream: Bar | null,
  boundarySlackUs: number,
  partitionMissing: string | null,
): BarVerdict {
  const fold = (ts: readonly ReplayedTrade[]) =>
    ts.length
      ? barFromTrades(
          symbol,
          windowStart,
          ts.map((t) => t.tick),
        )
      : null;
  const truth = fold(trades);
  if (truth && stream && barDiff(truth, stream).length === 0) return { class: 'match' };
  const detail = describe(truth, stream);
  if (partitionMissing) return { class: 'missing_partition', detail: `${partitionMissing}; ${detail}`, lateTicks: 0 };
  const onTime = trades.filter((t) => surelyOnTime(t, boundarySlackUs));
  const ambiguous = trades.filter((t) => isAmbiguous(t, boundarySlackUs));
  if (ambiguous.length <= MAX_AMBIGUOUS) {
    for (let mask = 0; mask < 1 << ambiguous.length; mask++) {
      const kept = [...onTime, ...ambiguous.filter((_, i) => (mask >> i) & 1)];
      if (kept.length === trades.length) continue;
      const expected = fold(kept);
      const same = expected === null ? stream === null : stream !== null && barDiff(expected, stream).length === 0;
      if (same) {
        const lateTicks = trades.length - kept.length;
        return { class: 'late', detail: `${lateTicks} trade(s) beyond the allowed lateness; ${detail}`, lateTicks };
      }
    }
  }
  return { class: 'disagreement', detail, lateTicks: 0 };
}

export type AlertVerdict = { class: DifferenceClass; detail: string };

/**
 * An alert on one side only. The stream's alerts come from the enriched ticks it kept, and so do the replay's, so a
 * late trade explains an alert difference only through a trade whose lateness was ambiguous (the two sides kept
 * different trades): `late` when the alert's symbol has one at or before the alert; `missing_partition` when the
 * other side's partition is absent or not flushed; else a `disagreement`.
 */
export function judgeAlert(
  alert: Alert,
  side: 'batch' | 'stream',
  ambiguousBefore: (symbol: string, ts: number) => boolean,
  partitionMissing: string | null,
): AlertVerdict {
  const what = side === 'batch' ? 'recomputed, not in the stream' : 'in the stream, not recomputed';
  if (partitionMissing) return { class: 'missing_partition', detail: `${partitionMissing}; ${what}` };
  if (ambiguousBefore(alert.symbol, alert.ts)) {
    return { class: 'late', detail: `${what}; a trade of ${alert.symbol} arrived at its window's closing` };
  }
  return { class: 'disagreement', detail: `${what} (${alert.rule}, ${alert.symbol}, ts ${alert.ts})` };
}
