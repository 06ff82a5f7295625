import { z } from 'zod';
import type { EnrichedTick } from '../schemas/enriched.ts';
import type { RuleOf } from './rules.ts';

/**
 * The tick rules, one pure function each over one symbol's state for one rule: given the rule, the state and a
 * tick, it updates the state and returns a candidate alert or null. The engine (engine.ts) owns cooldown, ids and
 * the alert record; these only decide. States are plain JSON values so a snapshot is the state itself.
 */
export interface Candidate {
  ts: number;
  windowStart: number;
  value: number;
  threshold: number;
  message: string;
}

const US_PER_DAY = 86_400_000_000;

/**
 * The weight of the n-th observation (n ≥ 1) in a mean whose memory halves every `halfLife` observations: 1/n at
 * first (a plain mean, so the first value does not linger as a tiny α would leave it), then 1 − 2^(−1/halfLife).
 */
export function ewmaWeight(halfLife: number, n: number): number {
  return Math.max(1 - Math.pow(2, -1 / halfLife), 1 / n);
}

// --- price_move: monotonic deques of (ts, price) give the window's min and max in O(1) amortised.

export const priceMoveStateSchema = z.object({
  /** [ts, price] pairs, prices increasing (front = window minimum). */
  minQ: z.array(z.tuple([z.number(), z.number()])),
  /** [ts, price] pairs, prices decreasing (front = window maximum). */
  maxQ: z.array(z.tuple([z.number(), z.number()])),
  /** Latest trade time seen; an out-of-order trade is queued at this time, keeping the queues time-ordered. */
  lastTs: z.number(),
});
export type PriceMoveState = z.infer<typeof priceMoveStateSchema>;

export function newPriceMoveState(): PriceMoveState {
  return { minQ: [], maxQ: [], lastTs: Number.MIN_SAFE_INTEGER };
}

export function evalPriceMove(rule: RuleOf<'price_move'>, s: PriceMoveState, t: EnrichedTick): Candidate | null {
  if (t.type !== 'trade') return null;
  const at = Math.max(t.ts, s.lastTs);
  s.lastTs = at;
  const from = at - rule.windowSec * 1e6;
  while (s.minQ.length > 0 && (s.minQ[0] as [number, number])[0] < from) s.minQ.shift();
  while (s.maxQ.length > 0 && (s.maxQ[0] as [number, number])[0] < from) s.maxQ.shift();
  const p = t.price;
  let out: Candidate | null = null;
  const lo = s.minQ[0];
  const hi = s.maxQ[0];
  if (lo !== undefined && hi !== undefined) {
    const up = (p / lo[1] - 1) * 100;
    const down = (p / hi[1] - 1) * 100;
    const move = up >= -down ? up : down;
    const ref = up >= -down ? lo : hi;
    if (Math.abs(move) >= rule.movePct) {
      out = {
        ts: t.ts,
        windowStart: t.ts,
        value: round(move, 4),
        threshold: rule.movePct,
        message: `${t.symbol} ${move >= 0 ? '+' : ''}${move.toFixed(2)}% in ${((t.ts - ref[0]) / 1e6).toFixed(1)}s (${ref[1]} → ${p}; threshold ${rule.movePct}% within ${rule.windowSec}s)`,
      };
    }
  }
  while (s.minQ.length > 0 && (s.minQ[s.minQ.length - 1] as [number, number])[1] >= p) s.minQ.pop();
  while (s.maxQ.length > 0 && (s.maxQ[s.maxQ.length - 1] as [number, number])[1] <= p) s.maxQ.pop();
  s.minQ.push([at, p]);
  s.maxQ.push([at, p]);
  return out;
}

/** After an alert the move is spent: the window restarts at the new level, so the same jump is not reported again. */
export function resetPriceMove(s: PriceMoveState): void {
  s.minQ = s.minQ.slice(-1);
  s.maxQ = s.maxQ.slice(-1);
}

// --- volume_spike: a trade's size against the symbol's rolling typical size (an EWMA of ln(size), i.e. a
// geometric mean: trade sizes are heavy-tailed, and an arithmetic mean would jump with every block trade).

export const volumeSpikeStateSchema = z.object({ n: z.number().int(), mean: z.number() });
export type VolumeSpikeState = z.infer<typeof volumeSpikeStateSchema>;

export function newVolumeSpikeState(): VolumeSpikeState {
  return { n: 0, mean: 0 };
}

export function evalVolumeSpike(rule: RuleOf<'volume_spike'>, s: VolumeSpikeState, t: EnrichedTick): Candidate | null {
  if (t.type !== 'trade') return null;
  const x = Math.log(t.size);
  if (s.n === 0) {
    s.n = 1;
    s.mean = x;
    return null;
  }
  const typical = Math.exp(s.mean);
  const ratio = t.size / typical;
  let out: Candidate | null = null;
  if (s.n >= rule.minTrades && ratio >= rule.ratio && t.size >= rule.minShares) {
    out = {
      ts: t.ts,
      windowStart: t.ts,
      value: round(ratio, 1),
      threshold: rule.ratio,
      message: `${t.symbol} trade of ${t.size} shares, ${ratio.toFixed(0)}× its typical ${typical.toFixed(0)} (threshold ${rule.ratio}×)`,
    };
  }
  // A spike enters the baseline clipped at the threshold, so one block trade doesn't blind the rule to the next.
  s.n++;
  s.mean += ewmaWeight(rule.halfLifeTrades, s.n) * (Math.min(x, s.mean + Math.log(rule.ratio)) - s.mean);
  return out;
}

// --- spread_blowout: a quote's spread against an absolute floor and the symbol's rolling mean spread.

export const spreadBlowoutStateSchema = z.object({ n: z.number().int(), mean: z.number(), armed: z.boolean() });
export type SpreadBlowoutState = z.infer<typeof spreadBlowoutStateSchema>;

export function newSpreadBlowoutState(): SpreadBlowoutState {
  return { n: 0, mean: 0, armed: true };
}

export function evalSpreadBlowout(
  rule: RuleOf<'spread_blowout'>,
  s: SpreadBlowoutState,
  t: EnrichedTick,
): Candidate | null {
  // Trades carry the last quote's spread: judging them too would report one wide quote once per trade.
  if (t.type !== 'quote' || t.spreadBps === null) return null;
  const bps = t.spreadBps;
  if (s.n === 0) {
    s.n = 1;
    s.mean = bps;
    return null;
  }
  const limit = Math.max(rule.minBps, rule.ratio * s.mean);
  let out: Candidate | null = null;
  // One alert per episode: a market that stays wide re-arms the rule only once a quote is back under the limit.
  if (bps < limit) s.armed = true;
  else if (s.armed && s.n >= rule.minQuotes) {
    s.armed = false;
    out = {
      ts: t.ts,
      windowStart: t.ts,
      value: round(bps, 2),
      threshold: round(limit, 2),
      message: `${t.symbol} spread ${bps.toFixed(1)} bps (bid ${t.bid} / ask ${t.ask}), ${(bps / s.mean).toFixed(1)}× its usual ${s.mean.toFixed(1)} bps`,
    };
  }
  s.n++;
  s.mean += ewmaWeight(rule.halfLifeQuotes, s.n) * (Math.min(bps, rule.ratio * s.mean) - s.mean);
  return out;
}

// --- vwap_deviation: a trade's distance from the session VWAP, with hysteresis so a drift reports once.

export const vwapDeviationStateSchema = z.object({
  day: z.number().int(),
  trades: z.number().int(),
  armed: z.boolean(),
});
export type VwapDeviationState = z.infer<typeof vwapDeviationStateSchema>;

export function newVwapDeviationState(): VwapDeviationState {
  return { day: -1, trades: 0, armed: true };
}

export function evalVwapDeviation(
  rule: RuleOf<'vwap_deviation'>,
  s: VwapDeviationState,
  t: EnrichedTick,
): Candidate | null {
  if (t.type !== 'trade' || t.sessionVwap === null) return null;
  // The session is the enricher's: the tick's UTC day of event time.
  const day = Math.floor(t.ts / US_PER_DAY);
  if (day > s.day) {
    s.day = day;
    s.trades = 0;
    s.armed = true;
  } else if (day < s.day) {
    return null;
  }
  s.trades++;
  const dev = (t.price / t.sessionVwap - 1) * 10_000;
  const abs = Math.abs(dev);
  if (!s.armed) {
    if (abs < rule.deviationBps * rule.rearmFraction) s.armed = true;
    return null;
  }
  if (s.trades < rule.minSessionTrades || abs < rule.deviationBps) return null;
  s.armed = false;
  return {
    ts: t.ts,
    windowStart: t.ts,
    value: round(dev, 2),
    threshold: rule.deviationBps,
    message: `${t.symbol} at ${t.price}, ${dev >= 0 ? '+' : ''}${dev.toFixed(0)} bps from session VWAP ${t.sessionVwap.toFixed(4)} (threshold ${rule.deviationBps} bps)`,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
