import { NO_MODEL_SCORERS, ANOMALY_SCORER, scoreSeries, StreamScorer } from '../../core/models/score.ts';
import { barSeries } from '../../core/models/features.ts';
import { trainAll } from '../../core/models/fit.ts';
import { f1, modelQuality, type ModelQuality } from '../../core/models/quality.ts';
import type { ResolvedRule } from '../../core/alerts/rules.ts';
import type { PipelineOptions } from '../../core/pipeline.ts';
import type { AnomalyKind } from '../../core/schemas/labels.ts';
import type { AnomalyModel, AnomalyRow } from '../../core/schemas/model.ts';
import type { SyntheticOptionsInput } from '../sources/synthetic/options.ts';
import { LABEL_MARGIN_US, runAlertEval, type AlertEvalResult } from '../alerts/evaluate.ts';

/**
 * The model against the speed layer's rules on the labelled synthetic market (`ticklake models-eval`):
 *
 * 1. train: the market of the `trainMinutes` before the evaluation's start (same seed and settings, anomalies
 *    included, as the lake would hold them) through the processor's core → bars → one model per symbol;
 * 2. evaluate: the evaluation stretch through the processor's core and every rule, the model rule scored live by
 *    the StreamScorer over those models (the speed layer's caller), and the same bars scored by the batch caller;
 *    rules judged by core/alerts/quality.ts, the model per feature by core/models/quality.ts;
 * 3. clean: the same stretch with no labelled anomaly injected: whatever fires there is a false positive.
 */
export interface ModelEvalOptions {
  market: SyntheticOptionsInput;
  /** The evaluation stretch's start (µs) and length; training is the stretch before it. */
  startUs: number;
  minutes: number;
  trainMinutes: number;
  rules: readonly ResolvedRule[];
  pipeline: PipelineOptions;
  partitions: number;
  minBars: number;
  threshold: number;
}

export interface DetectorRow {
  kind: AnomalyKind;
  detector: string;
  flagged: number;
  truePositives: number;
  labels: number;
  detected: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface ModelEvalResult {
  symbols: number;
  models: number;
  skipped: string[];
  trainSeconds: number;
  rows: DetectorRow[];
  /** Per kind: the model's F1 and the best single rule's (null where the model has no feature for the kind). */
  summary: Array<{ kind: AnomalyKind; model: number | null; bestRule: string | null; bestRuleF1: number | null }>;
  /** Flags per symbol-day on the clean stretch, the model (batch flags) and each rule. */
  clean: Array<{ detector: string; flags: number; perSymbolDay: number }>;
  /** The live model rule's alerts and the batch path's flagged bars in the evaluation stretch. */
  live: { alerts: number; versionsMatch: boolean; batchFlagged: number; liveNotInBatch: number };
  seconds: number;
}

const KINDS: AnomalyKind[] = ['price_jump', 'volume_spike', 'spread_blowout', 'stale_feed'];

function scoreAll(models: ReadonlyMap<string, AnomalyModel>, r: AlertEvalResult, threshold: number): AnomalyRow[] {
  const rows: AnomalyRow[] = [];
  for (const [symbol, bars] of barSeries(r.bars ?? [])) {
    const m = models.get(symbol);
    if (m) rows.push(...scoreSeries(m, bars, threshold));
  }
  return rows;
}

function liveScorers(models: ReadonlyMap<string, AnomalyModel>) {
  const stream = new StreamScorer((s) => models.get(s));
  return {
    [ANOMALY_SCORER]: (bar: Parameters<StreamScorer['score']>[0]) => {
      const s = stream.score(bar);
      return s && { score: s.score, modelVersion: s.modelVersion };
    },
  };
}

export function runModelEval(opts: ModelEvalOptions): ModelEvalResult {
  const began = performance.now();
  const trainStartUs = opts.startUs - opts.trainMinutes * 60_000_000;
  const common = { rules: opts.rules, pipeline: opts.pipeline, partitions: opts.partitions, collect: true };
  const training = runAlertEval({
    ...common,
    rules: [],
    scorers: NO_MODEL_SCORERS,
    market: { ...opts.market, start: trainStartUs, durationSec: opts.trainMinutes * 60 },
  });
  const t0 = performance.now();
  const trained = trainAll(barSeries(training.bars ?? []), {
    minBars: opts.minBars,
    fromUs: trainStartUs,
    toUs: opts.startUs,
    trainedAt: 0,
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const models = new Map(trained.models.map((m) => [m.symbol, m]));

  const evaluated = runAlertEval({
    ...common,
    scorers: liveScorers(models),
    market: { ...opts.market, start: opts.startUs, durationSec: opts.minutes * 60 },
  });
  const scored = scoreAll(models, evaluated, opts.threshold);
  const labelsUntil = evaluated.endUs - LABEL_MARGIN_US;
  const mq = modelQuality(scored, evaluated.labels, opts.threshold, { labelsUntil });
  const rows: DetectorRow[] = [];
  const modelRuleIds = new Set(opts.rules.filter((r) => r.kind === 'model_score').map((r) => r.id));
  for (const kind of KINDS) {
    const m = mq.find((q) => q.label === kind) as ModelQuality | undefined;
    if (m) rows.push({ kind, detector: 'model (batch)', ...pick(m), f1: f1(m.precision, m.recall) });
    for (const q of evaluated.quality) {
      if (q.label !== kind) continue;
      rows.push({ kind, detector: q.rule, ...pick({ ...q, flagged: q.alerts }), f1: f1(q.precision, q.recall) });
    }
  }
  const summary = KINDS.map((kind) => {
    const model = rows.find((r) => r.kind === kind && r.detector === 'model (batch)')?.f1 ?? null;
    const rules = rows.filter((r) => r.kind === kind && r.detector !== 'model (batch)' && r.f1 !== null);
    const best = rules.sort((a, b) => (b.f1 as number) - (a.f1 as number))[0];
    return { kind, model, bestRule: best?.detector ?? null, bestRuleF1: best?.f1 ?? null };
  });

  const liveAlerts = evaluated.alerts.filter((a) => modelRuleIds.has(a.rule));
  const flaggedKeys = new Map(scored.filter((r) => r.flagged).map((r) => [`${r.symbol}@${r.windowStart}`, r]));
  const live = {
    alerts: liveAlerts.length,
    batchFlagged: flaggedKeys.size,
    liveNotInBatch: liveAlerts.filter((a) => !flaggedKeys.has(`${a.symbol}@${a.windowStart}`)).length,
    versionsMatch: liveAlerts.every((a) => a.modelVersion === models.get(a.symbol)?.version),
  };

  const none = { rate: 0, count: 0 };
  const cleanRun = runAlertEval({
    ...common,
    scorers: liveScorers(models),
    market: {
      ...opts.market,
      start: opts.startUs,
      durationSec: opts.minutes * 60,
      anomalies: {
        ...(opts.market.anomalies ?? {}),
        priceJump: none,
        volumeSpike: none,
        spreadBlowout: none,
        staleFeed: none,
      },
    },
  });
  const symbolDays = (cleanRun.symbols * (cleanRun.endUs - cleanRun.startUs)) / 86_400_000_000;
  const cleanFlags = scoreAll(models, cleanRun, opts.threshold).filter((r) => r.flagged).length;
  const clean = [
    { detector: 'model (batch)', flags: cleanFlags, perSymbolDay: cleanFlags / symbolDays },
    ...opts.rules.map((r) => {
      const n = cleanRun.alerts.filter((a) => a.rule === r.id).length;
      return { detector: r.id, flags: n, perSymbolDay: n / symbolDays };
    }),
  ];
  return {
    symbols: evaluated.symbols,
    models: trained.models.length,
    skipped: trained.skipped,
    trainSeconds,
    rows,
    summary,
    clean,
    live,
    seconds: (performance.now() - began) / 1000,
  };
}

function pick(q: {
  flagged: number;
  truePositives: number;
  labels: number;
  detected: number;
  precision: number | null;
  recall: number | null;
}) {
  const { flagged, truePositives, labels, detected, precision, recall } = q;
  return { flagged, truePositives, labels, detected, precision, recall };
}
