import { AlertEngine, fnv1a, sourceOwner, type ModelScorer } from '../../core/alerts/engine.ts';
import { NO_MODEL_SCORERS } from '../../core/models/score.ts';
import { ruleQuality, type RuleQuality } from '../../core/alerts/quality.ts';
import type { ResolvedRule } from '../../core/alerts/rules.ts';
import { SpeedLayerPartition } from '../../core/alerts/partition.ts';
import { emptyOutputs, PartitionPipeline, type PipelineOptions } from '../../core/pipeline.ts';
import type { Alert } from '../../core/schemas/alert.ts';
import type { Bar } from '../../core/schemas/bar.ts';
import type { EnrichedTick } from '../../core/schemas/enriched.ts';
import { HEARTBEAT_KEY, heartbeatValue } from '../../core/schemas/heartbeat.ts';
import type { SyntheticLabel } from '../../core/schemas/labels.ts';
import { SyntheticGenerator } from '../sources/synthetic/generator.ts';
import type { SyntheticOptionsInput } from '../sources/synthetic/options.ts';
import { parseSyntheticOptions, resolveStartUs } from '../sources/synthetic/source.ts';
import { loadReferenceFile, syntheticUniverse } from '../sources/synthetic/universe.ts';
import { loadShippedReference } from '../../infra/reference-file.ts';

/**
 * Alert quality on the synthetic market: its records go through the processor's pure core (PartitionPipeline:
 * validate → dedupe → enrich → bars) and the alert engine, one pair per simulated partition, as `ticklake
 * process` and the alerts process would run them; then the alerts are matched to the market's labels
 * (core/alerts/quality.ts). No Kafka: records are routed to partitions by a hash of their key, and heartbeats go to
 * every partition once a second of event time, as ingest sends them about once a second at speed 1.
 */
/** Labels this close to the end of the run are left out: their alert may not be due yet (the stale rule's 60 s). */
export const LABEL_MARGIN_US = 120_000_000;

export interface AlertEvalOptions {
  market: SyntheticOptionsInput;
  rules: readonly ResolvedRule[];
  pipeline: PipelineOptions;
  partitions: number;
  heartbeatIntervalUs?: number;
  /** Keep every enriched tick and bar in the result (to check the batch path against the stream). */
  collect?: boolean;
  /** The model rule's scorers (`ticklake models-eval` passes trained models); default: no model, no score. */
  scorers?: Readonly<Record<string, ModelScorer>>;
}

export interface AlertEvalResult {
  alerts: Alert[];
  labels: SyntheticLabel[];
  quality: RuleQuality[];
  symbols: number;
  records: number;
  startUs: number;
  endUs: number;
  /** Alerts per symbol per hour of event time, all rules together and by rule. */
  firesPerSymbolHour: number;
  firesPerSymbolHourByRule: Record<string, number>;
  /** Event time from the start to the first alert, s (what a new user of the demo waits); null if none. */
  firstAlertAfterSec: number | null;
  seconds: number;
  /** With `collect`: what the partitions' pipelines emitted. */
  enriched?: EnrichedTick[];
  bars?: Bar[];
}

export function runAlertEval(opts: AlertEvalOptions): AlertEvalResult {
  const began = performance.now();
  const market = parseSyntheticOptions({ speed: 0, ...opts.market });
  const reference =
    market.referenceFile === null
      ? []
      : market.referenceFile === undefined
        ? loadShippedReference()
        : loadReferenceFile(market.referenceFile);
  const universe = syntheticUniverse(market.symbols, market.seed, reference);
  const startUs = resolveStartUs(market, Date.now());
  const gen = new SyntheticGenerator(market, universe, startUs);
  const refMap = new Map(universe.map((u) => [u.symbol, u]));
  const n = opts.partitions;
  const parts = Array.from({ length: n }, (_, p) => ({
    speed: new SpeedLayerPartition(
      PartitionPipeline.create(opts.pipeline),
      new AlertEngine(opts.rules, {
        now: () => clockUs,
        ownsSource: (s) => sourceOwner(s, n) === p,
        scorers: opts.scorers ?? NO_MODEL_SCORERS,
      }),
    ),
    offset: 0,
  }));
  const hbEvery = opts.heartbeatIntervalUs ?? 1_000_000;
  const alerts: Alert[] = [];
  const out = emptyOutputs();
  const collected = opts.collect ? { enriched: [] as EnrichedTick[], bars: [] as Bar[] } : undefined;
  // The generator's event time stands in for the Kafka record timestamp and the wall clock: deterministic.
  let clockUs = startUs;
  let nextHeartbeat = startUs + hbEvery;
  let records = 0;

  const feed = (p: (typeof parts)[number], key: string, value: string) => {
    out.enriched.length = 0;
    out.bars.length = 0;
    const record = {
      key,
      value: Buffer.from(value),
      offset: String(p.offset++),
      timestampMs: Math.floor(clockUs / 1000),
    };
    p.speed.apply(record, refMap, clockUs, alerts, out);
    if (collected) {
      collected.enriched.push(...out.enriched);
      collected.bars.push(...out.bars);
    }
  };

  for (let r = gen.next(); r !== undefined; r = gen.next()) {
    records++;
    if (gen.lastTs > clockUs) clockUs = gen.lastTs;
    while (clockUs >= nextHeartbeat) {
      const hb = heartbeatValue(market.source, nextHeartbeat);
      const at = clockUs;
      clockUs = nextHeartbeat;
      for (const p of parts) feed(p, HEARTBEAT_KEY, hb);
      clockUs = at;
      nextHeartbeat += hbEvery;
    }
    const value = typeof r.value === 'string' ? r.value : r.value.toString('utf8');
    feed(parts[fnv1a(r.key) % n] as (typeof parts)[number], r.key, value);
  }

  const endUs = clockUs;
  const hours = Math.max(1e-9, (endUs - startUs) / 3.6e9);
  const symbolHours = universe.length * hours;
  const byRule: Record<string, number> = {};
  for (const rule of opts.rules) byRule[rule.id] = alerts.filter((a) => a.rule === rule.id).length / symbolHours;
  return {
    alerts,
    labels: gen.labels,
    quality: opts.rules.map((rule) => ruleQuality(rule, alerts, gen.labels, { labelsUntil: endUs - LABEL_MARGIN_US })),
    symbols: universe.length,
    records,
    startUs,
    endUs,
    firesPerSymbolHour: alerts.length / symbolHours,
    firesPerSymbolHourByRule: byRule,
    firstAlertAfterSec: alerts.length === 0 ? null : (Math.min(...alerts.map((a) => a.ts)) - startUs) / 1e6,
    seconds: (performance.now() - began) / 1000,
    ...collected,
  };
}
