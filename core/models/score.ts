import type { ModelScorer } from '../alerts/engine.ts';
import type { Bar } from '../schemas/bar.ts';
import type { AnomalyModel, AnomalyRow, ModelFeature, RegressionParams } from '../schemas/model.ts';
import { barFeatures, type BarFeatures, type PrevBar } from './features.ts';

/**
 * Scoring: the stored coefficients evaluated directly (a dot product and two logarithms per bar), never through
 * ml-regression (a lint rule keeps it out of this file). The one scorer both callers use: the batch path over a
 * day's bars (scoreSeries) and the speed layer's model rule, bar by bar as they close (StreamScorer).
 */
/** The scorer name a `model_score` rule names to be scored by this model (infra/alerts/rules.yaml). */
export const ANOMALY_SCORER = 'anomaly';

/** Scorers for callers with no models (benchmarks, tests of other rules): the model rule then scores nothing. */
export const NO_MODEL_SCORERS = { [ANOMALY_SCORER]: () => null } as const;

export interface Scored {
  score: number;
  priceZ: number;
  volumeZ: number;
  kind: ModelFeature;
  modelVersion: string;
}

function z(p: RegressionParams, y: number, x: BarFeatures['x']): number {
  let fit = p.intercept;
  for (let i = 0; i < p.coef.length; i++) fit += (p.coef[i] as number) * (x[i] as number);
  return (y - fit) / p.residualStd;
}

/**
 * How unexplained the bar is: the larger of the two residual z-scores, one-sided (a quiet minute is not an
 * anomaly), and which feature gave it.
 */
export function scoreFeatures(model: AnomalyModel, f: BarFeatures): Scored {
  const priceZ = z(model.params.price, f.price, f.x);
  const volumeZ = z(model.params.volume, f.volume, f.x);
  const price = priceZ >= volumeZ;
  return {
    score: price ? priceZ : volumeZ,
    priceZ,
    volumeZ,
    kind: price ? 'price' : 'volume',
    modelVersion: model.version,
  };
}

export function scoreBar(model: AnomalyModel, bar: Bar, prev: PrevBar | undefined): Scored {
  return scoreFeatures(model, barFeatures(bar, prev));
}

/** A bar's scored row for the `anomalies` table. */
export function anomalyRow(bar: Bar, s: Scored, threshold: number): AnomalyRow {
  return {
    symbol: bar.symbol,
    windowStart: bar.windowStart,
    score: s.score,
    priceZ: s.priceZ,
    volumeZ: s.volumeZ,
    kind: s.kind,
    modelVersion: s.modelVersion,
    flagged: s.score >= threshold,
    revision: bar.revision,
  };
}

/**
 * The batch caller: one symbol's bars in window order (core/models/features.ts barSeries), each scored with its
 * predecessor; bars before `fromUs` only provide the previous close (the window's first bar gets its gap too).
 */
export function scoreSeries(
  model: AnomalyModel,
  bars: readonly Bar[],
  threshold: number,
  fromUs = -Infinity,
): AnomalyRow[] {
  const out: AnomalyRow[] = [];
  let prev: PrevBar | undefined;
  for (const b of bars) {
    if (b.windowStart >= fromUs) out.push(anomalyRow(b, scoreBar(model, b, prev), threshold));
    prev = b;
  }
  return out;
}

/**
 * The stream caller: keeps each symbol's previous close as bars arrive (a revision of the latest bar is scored
 * against the same predecessor as its first emission), and scores with whatever model `modelOf` returns now, so a
 * new version applies from the next bar. No model: null, and `unscored` hears of it (a metric, not a silent 0).
 */
export class StreamScorer {
  private readonly last = new Map<string, { bar: PrevBar; before: PrevBar | undefined }>();

  constructor(
    private readonly modelOf: (symbol: string) => AnomalyModel | undefined,
    private readonly unscored: (symbol: string) => void = () => {},
  ) {}

  score(bar: Bar): Scored | null {
    const seen = this.last.get(bar.symbol);
    let prev: PrevBar | undefined;
    if (seen === undefined || bar.windowStart > seen.bar.windowStart) {
      prev = seen?.bar;
      this.last.set(bar.symbol, { bar: { windowStart: bar.windowStart, close: bar.close }, before: prev });
    } else if (bar.windowStart === seen.bar.windowStart) {
      prev = seen.before;
      seen.bar.close = bar.close;
    } else {
      // An older window re-emitted (a late trade within lateness): its predecessor is no longer known.
      prev = undefined;
    }
    const model = this.modelOf(bar.symbol);
    if (model === undefined) {
      this.unscored(bar.symbol);
      return null;
    }
    return scoreBar(model, bar, prev);
  }
}

/** The model a stream scorer had when a bar closed at `atMs`: the newest trained at or before it (`history` sorted by
 * trainedAt, oldest first). */
export function modelAt(history: readonly AnomalyModel[], atMs: number): AnomalyModel | undefined {
  let found: AnomalyModel | undefined;
  for (const m of history) {
    if (m.trainedAt > atMs) break;
    found = m;
  }
  return found;
}

/**
 * The batch recomputation's caller (reconciliation): the same StreamScorer, each bar scored with the version the
 * speed layer was running when the bar closed, chosen from every version the lake keeps per symbol. The live layer
 * applies a version the moment it reads it from the models topic, a second or two after training, so a bar closing
 * inside that gap may have been scored by the previous version there (docs/RECONCILIATION.md).
 */
export function historicalScorer(history: ReadonlyMap<string, readonly AnomalyModel[]>): ModelScorer {
  let atMs = 0;
  const stream = new StreamScorer((symbol) => modelAt(history.get(symbol) ?? [], atMs));
  return (bar) => {
    atMs = bar.windowEnd / 1000;
    const s = stream.score(bar);
    return s === null ? null : { score: s.score, modelVersion: s.modelVersion };
  };
}
