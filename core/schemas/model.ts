import { z } from 'zod';
import { symbolSchema } from './tick.ts';

/**
 * The anomaly model of one symbol (core/models/): what the lake's `models/` holds and the compacted `models` topic
 * carries (key = symbol). `version` is a content hash of everything but `trainedAt`, so training twice on the same
 * bars gives the same version; `trainedAt` records when this copy was made and is kept out of the hash.
 */
export const MODEL_SCHEMA_VERSION = 1 as const;

/** One fitted linear regression: y ≈ intercept + Σ coef[i]·x[i], with the residuals' scale for the z-score. */
export const regressionParamsSchema = z.object({
  intercept: z.number().finite(),
  coef: z.array(z.number().finite()),
  /** Standard deviation of the residuals the fit kept (the z-score's unit). */
  residualStd: z.number().finite().positive(),
});
export type RegressionParams = z.infer<typeof regressionParamsSchema>;

export const regressionMetricsSchema = z.object({
  /** Bars the final fit used (after trimming outliers). */
  n: z.number().int().positive(),
  /** Bars left out of the final fit as outliers of the first one (the anomalies in the training data). */
  trimmed: z.number().int().nonnegative(),
  r2: z.number().finite(),
  residualStd: z.number().finite().positive(),
});

export const MODEL_FEATURES = ['price', 'volume'] as const;
export type ModelFeature = (typeof MODEL_FEATURES)[number];

export const anomalyModelSchema = z.object({
  v: z.literal(MODEL_SCHEMA_VERSION),
  symbol: symbolSchema,
  version: z.string().regex(/^m\d+-[0-9a-f]{16}$/),
  /** The feature spec's identity (core/models/features.ts FEATURE_SPEC): features change ⇒ a different version. */
  spec: z.object({ name: z.string(), featureVersion: z.number().int().positive() }),
  /** Training window of event time, [fromUs, toUs), and the bars found in it. */
  window: z.object({ fromUs: z.number().int(), toUs: z.number().int(), bars: z.number().int().positive() }),
  params: z.object({ price: regressionParamsSchema, volume: regressionParamsSchema }),
  metrics: z.object({ price: regressionMetricsSchema, volume: regressionMetricsSchema }),
  /**
   * ml-regression's own `toJSON()` of each final fit, kept as it was produced: a loaded MultivariateLinearRegression
   * cannot be serialised again, so the original is the only copy. Nothing scores with it (scoring reads `params`).
   */
  fit: z.object({ price: z.record(z.string(), z.unknown()), volume: z.record(z.string(), z.unknown()) }),
  trainedAt: z.number().int(),
});
export type AnomalyModel = z.infer<typeof anomalyModelSchema>;

/** The lake's `models/latest.json`: symbol → the version scoring uses. */
export const modelsManifestSchema = z.object({
  v: z.literal(1),
  updatedAt: z.number().int(),
  models: z.record(z.string(), z.string()),
});
export type ModelsManifest = z.infer<typeof modelsManifestSchema>;

/**
 * One scored closed bar (lake table `anomalies`, BigQuery `anomalies`): both features' z-scores, the score (the
 * larger), which feature gave it, and whether it reached the threshold. One row per (symbol, window_start).
 */
export const anomalyRowSchema = z.object({
  symbol: symbolSchema,
  windowStart: z.number().int(),
  score: z.number().finite(),
  priceZ: z.number().finite(),
  volumeZ: z.number().finite(),
  kind: z.enum(MODEL_FEATURES),
  modelVersion: z.string().min(1),
  flagged: z.boolean(),
  /** The bar revision scored. */
  revision: z.number().int().nonnegative(),
});
export type AnomalyRow = z.infer<typeof anomalyRowSchema>;

/** An anomaly row as the lake stores it: `flagged` as 0/1 (the lake's columns have no boolean). */
export type StoredAnomalyRow = Omit<AnomalyRow, 'flagged'> & { flagged: 0 | 1 };

export function storedAnomalyRow(r: AnomalyRow): StoredAnomalyRow {
  return { ...r, flagged: r.flagged ? 1 : 0 };
}
