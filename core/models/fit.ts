import { MultivariateLinearRegression } from 'ml-regression';
import type { Bar } from '../schemas/bar.ts';
import { MODEL_SCHEMA_VERSION, type AnomalyModel, type ModelFeature, type RegressionParams } from '../schemas/model.ts';
import { barFeatures, FEATURE_SPEC, type BarFeatures, type PrevBar } from './features.ts';
import { canonicalJson, fnv1a64 } from './hash.ts';

/**
 * Training: per symbol, two ordinary least-squares fits with ml-regression (price and volume feature on the same
 * explanatory variables, core/models/features.ts), each done twice: the first fit finds the outliers (the training
 * window has anomalies of its own), residuals beyond TRIM_SIGMAS robust standard deviations are left out, and the
 * second fit on the rest is the model. Deterministic: same bars in, same coefficients and the same version out.
 */
export const TRIM_SIGMAS = 4;
const DAY_US = 86_400_000_000;
const MIN_RESIDUAL_STD = 1e-6;

export interface TrainOptions {
  /** Fewer usable bars than this: no model (its coefficients would be noise). */
  minBars: number;
  /** The training window, [fromUs, toUs): part of the version, and it decides whether time of day is a regressor. */
  fromUs: number;
  toUs: number;
  trainedAt: number;
}

interface Fitted {
  params: RegressionParams;
  metrics: { n: number; trimmed: number; r2: number; residualStd: number };
  json: Record<string, unknown>;
}

function ols(x: number[][], y: number[]): { model: MultivariateLinearRegression; residuals: number[] } {
  const model = new MultivariateLinearRegression(
    x,
    y.map((v) => [v]),
    { intercept: true, statistics: false },
  );
  const residuals = y.map((v, i) => v - (model.predict(x[i] as number[])[0] as number));
  return { model, residuals };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function fitOne(x: number[][], y: number[]): Fitted | null {
  const first = ols(x, y);
  const med = median(first.residuals);
  const robust = 1.4826 * median(first.residuals.map((r) => Math.abs(r - med)));
  const keep = first.residuals.map((r) => robust === 0 || Math.abs(r - med) <= TRIM_SIGMAS * robust);
  const kx = x.filter((_, i) => keep[i]);
  const ky = y.filter((_, i) => keep[i]);
  if (ky.length <= x[0]!.length + 1) return null;
  const final = ols(kx, ky);
  const n = ky.length;
  const ss = final.residuals.reduce((s, r) => s + r * r, 0);
  const mean = ky.reduce((s, v) => s + v, 0) / n;
  const tot = ky.reduce((s, v) => s + (v - mean) ** 2, 0);
  const residualStd = Math.sqrt(ss / (n - x[0]!.length - 1));
  // Constant data leaves rounding noise as residuals: no spread to scale a z-score by.
  if (!(residualStd > MIN_RESIDUAL_STD) || !Number.isFinite(residualStd)) return null;
  const w = final.model.weights;
  const params: RegressionParams = {
    intercept: w[w.length - 1]![0]!,
    coef: w.slice(0, -1).map((row) => row[0]!),
    residualStd,
  };
  if (![params.intercept, ...params.coef].every(Number.isFinite)) return null;
  return {
    params,
    metrics: { n, trimmed: y.length - n, r2: tot > 0 ? 1 - ss / tot : 0, residualStd },
    json: final.model.toJSON(),
  };
}

/** Whether a window is long enough for the time of day to be estimated rather than extrapolated from a few hours. */
export function usesDayPhase(fromUs: number, toUs: number): boolean {
  return toUs - fromUs >= DAY_US;
}

/** The version: a hash of what the model is (spec, window, parameters, fit metrics), never of when it was made. */
export function modelVersion(content: Omit<AnomalyModel, 'version' | 'trainedAt' | 'fit'>): string {
  return `m${FEATURE_SPEC.featureVersion}-${fnv1a64(canonicalJson(content))}`;
}

/**
 * One symbol's model from its bars (window order, latest revision each: features.ts barSeries), or null when it
 * has fewer than `minBars` in the window or a fit is degenerate (constant data).
 */
export function trainSymbol(symbol: string, bars: readonly Bar[], opts: TrainOptions): AnomalyModel | null {
  const inWindow = bars.filter((b) => b.symbol === symbol && b.windowStart >= opts.fromUs && b.windowStart < opts.toUs);
  if (inWindow.length < Math.max(opts.minBars, 8)) return null;
  const dayPhase = usesDayPhase(opts.fromUs, opts.toUs);
  const feats: BarFeatures[] = [];
  let prev: PrevBar | undefined;
  for (const b of inWindow) {
    feats.push(barFeatures(b, prev));
    prev = b;
  }
  const x = feats.map((f) => (dayPhase ? [...f.x] : [f.x[0]]));
  const fits: Partial<Record<ModelFeature, Fitted>> = {};
  for (const feature of ['price', 'volume'] as const) {
    const fitted = fitOne(
      x,
      feats.map((f) => f[feature]),
    );
    if (fitted === null) return null;
    fits[feature] = fitted;
  }
  const price = fits.price as Fitted;
  const volume = fits.volume as Fitted;
  const content = {
    v: MODEL_SCHEMA_VERSION,
    symbol,
    spec: { name: FEATURE_SPEC.name, featureVersion: FEATURE_SPEC.featureVersion },
    window: { fromUs: opts.fromUs, toUs: opts.toUs, bars: inWindow.length },
    params: { price: price.params, volume: volume.params },
    metrics: { price: price.metrics, volume: volume.metrics },
  };
  return {
    ...content,
    version: modelVersion(content),
    fit: { price: price.json, volume: volume.json },
    trainedAt: opts.trainedAt,
  };
}

/** Every symbol's model from a window's bars (any order, any revisions); symbols without enough bars are listed. */
export function trainAll(
  series: ReadonlyMap<string, readonly Bar[]>,
  opts: TrainOptions,
): { models: AnomalyModel[]; skipped: string[] } {
  const models: AnomalyModel[] = [];
  const skipped: string[] = [];
  for (const symbol of [...series.keys()].sort()) {
    const m = trainSymbol(symbol, series.get(symbol) ?? [], opts);
    if (m === null) skipped.push(symbol);
    else models.push(m);
  }
  return { models, skipped };
}
