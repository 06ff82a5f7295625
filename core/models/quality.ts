import type { AnomalyKind, SyntheticLabel } from '../schemas/labels.ts';
import type { AnomalyRow, ModelFeature } from '../schemas/model.ts';

/**
 * The model's quality against the synthetic market's labels, per feature: a bar is the model's detection of a
 * price jump when its price z-score reaches the threshold, of a volume spike when its volume z-score does (a bar
 * with both is a detection of both). It matches a label of the feature's kind on the same symbol whose event time
 * is inside the bar's window (±`slackUs`). Precision over the bars flagged by the feature; recall over the labels
 * up to `labelsUntil` (the last bars of a run are not closed yet).
 */
export const FEATURE_LABEL: Record<ModelFeature, AnomalyKind> = { price: 'price_jump', volume: 'volume_spike' };

export interface ModelQuality {
  feature: ModelFeature;
  label: AnomalyKind;
  flagged: number;
  truePositives: number;
  labels: number;
  detected: number;
  precision: number | null;
  recall: number | null;
}

const BAR_US = 60_000_000;

export function modelQuality(
  rows: readonly AnomalyRow[],
  labels: readonly SyntheticLabel[],
  threshold: number,
  opts: { labelsUntil?: number; slackUs?: number } = {},
): ModelQuality[] {
  const slack = opts.slackUs ?? 1_000_000;
  const until = opts.labelsUntil ?? Number.POSITIVE_INFINITY;
  return (['price', 'volume'] as const).map((feature) => {
    const label = FEATURE_LABEL[feature];
    const mine = labels.filter((l) => l.kind === label);
    const bySymbol = new Map<string, SyntheticLabel[]>();
    for (const l of mine) bySymbol.set(l.symbol, [...(bySymbol.get(l.symbol) ?? []), l]);
    const flagged = rows.filter((r) => (feature === 'price' ? r.priceZ : r.volumeZ) >= threshold);
    const detected = new Set<SyntheticLabel>();
    let truePositives = 0;
    for (const r of flagged) {
      let hit = false;
      for (const l of bySymbol.get(r.symbol) ?? []) {
        if (l.ts < r.windowStart - slack || l.ts >= r.windowStart + BAR_US + slack) continue;
        hit = true;
        if (l.ts <= until) detected.add(l);
      }
      if (hit) truePositives++;
    }
    const judged = mine.filter((l) => l.ts <= until).length;
    return {
      feature,
      label,
      flagged: flagged.length,
      truePositives,
      labels: judged,
      detected: detected.size,
      precision: flagged.length === 0 ? null : truePositives / flagged.length,
      recall: judged === 0 ? null : detected.size / judged,
    };
  });
}

export function f1(precision: number | null, recall: number | null): number | null {
  if (precision === null || recall === null) return null;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}
