/**
 * The anomaly model's costs on one core, each beside a baseline measured in the same run:
 *
 * - training per symbol-day: trainAll (two ml-regression fits per symbol, each twice) vs computing the same bars'
 *   features only;
 * - batch scoring (scoreSeries, the anomalies table's path) in bars/s vs the features only;
 * - live scoring: AlertEngine.onBar with the shipped model rule and the StreamScorer (the speed layer's path) in
 *   bars/s vs onBar with no model (the rule asks and gets null).
 *
 *   node --import tsx bench/models.bench.ts [symbols] [days] [runs]
 */
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { AlertEngine } from '../core/alerts/engine.ts';
import { barFeatures, barSeries, type PrevBar } from '../core/models/features.ts';
import { trainAll } from '../core/models/fit.ts';
import { ANOMALY_SCORER, NO_MODEL_SCORERS, scoreSeries, StreamScorer } from '../core/models/score.ts';
import { BAR_INTERVAL_US, type Bar } from '../core/schemas/bar.ts';
import { SeededRandom } from '../core/seeded-random.ts';
import { loadRulesFile, SHIPPED_RULES_URL } from '../infra/alerts/rules-file.ts';
import { median, printTable } from './support.ts';

const symbols = Number(process.argv[2] ?? 50);
const days = Number(process.argv[3] ?? 1);
const runs = Number(process.argv[4] ?? 7);
const START_US = Date.UTC(2026, 2, 2) * 1000;
const BARS_PER_DAY = 1440;

/** A day of 1-minute bars per symbol around the clock: a seeded walk, ~30 trades a minute. */
function makeBars(): Bar[] {
  const rng = new SeededRandom(1);
  const out: Bar[] = [];
  for (let s = 0; s < symbols; s++) {
    let price = 50 + 100 * rng.uniform();
    for (let i = 0; i < days * BARS_PER_DAY; i++) {
      const open = price;
      const close = open * Math.exp(0.001 * rng.normal());
      const trades = 10 + Math.floor(40 * rng.uniform());
      const windowStart = START_US + i * BAR_INTERVAL_US;
      out.push({
        v: 1,
        symbol: `S${String(s).padStart(4, '0')}`,
        windowStart,
        windowEnd: windowStart + BAR_INTERVAL_US,
        open,
        high: Math.max(open, close) * (1 + 0.0005 * Math.abs(rng.normal())),
        low: Math.min(open, close) * (1 - 0.0005 * Math.abs(rng.normal())),
        close,
        volume: trades * 300 * Math.exp(0.4 * rng.normal()),
        vwap: (open + close) / 2,
        trades,
        firstTs: windowStart,
        lastTs: windowStart + BAR_INTERVAL_US - 1,
        revision: 0,
      });
      price = close;
    }
  }
  return out;
}

const bars = makeBars();
const series = barSeries(bars);
const window = { fromUs: START_US, toUs: START_US + days * 86_400_000_000 };
const { rules } = loadRulesFile(fileURLToPath(SHIPPED_RULES_URL));
const modelRules = rules.filter((r) => r.kind === 'model_score');
const seconds = (f: () => void) => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
const featuresOnly = () => {
  let sink = 0;
  for (const list of series.values()) {
    let prev: PrevBar | undefined;
    for (const b of list) {
      sink += barFeatures(b, prev).price;
      prev = b;
    }
  }
  return sink;
};

const r = {
  train: [] as number[],
  feat: [] as number[],
  batch: [] as number[],
  live: [] as number[],
  none: [] as number[],
};
let models = trainAll(series, { minBars: 120, ...window, trainedAt: 0 }).models;
for (let i = 0; i < runs + 1; i++) {
  const train = seconds(() => (models = trainAll(series, { minBars: 120, ...window, trainedAt: 0 }).models));
  const feat = seconds(featuresOnly);
  const byId = new Map(models.map((m) => [m.symbol, m]));
  const batch = seconds(() => {
    for (const [s, list] of series) scoreSeries(byId.get(s)!, list, 8);
  });
  const stream = new StreamScorer((s) => byId.get(s));
  const scorer = { [ANOMALY_SCORER]: (b: Bar) => stream.score(b) };
  const liveEngine = new AlertEngine(modelRules, { now: () => 0, scorers: scorer });
  const live = seconds(() => {
    for (const b of bars) liveEngine.onBar(b);
  });
  const noneEngine = new AlertEngine(modelRules, { now: () => 0, scorers: NO_MODEL_SCORERS });
  const none = seconds(() => {
    for (const b of bars) noneEngine.onBar(b);
  });
  if (i === 0) continue; // warm-up
  r.train.push(train);
  r.feat.push(feat);
  r.batch.push(bars.length / batch);
  r.live.push(bars.length / live);
  r.none.push(bars.length / none);
}

const symbolDays = symbols * days;
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${symbols} symbols × ${days} day(s) = ${bars.length} bars, ${models.length} models, median of ${runs} runs`,
);
printTable('anomaly model', [
  [
    'training, µs per symbol-day',
    (median(r.train) * 1e6) / symbolDays,
    (median(r.feat) * 1e6) / symbolDays,
    'features only',
  ],
  ['batch scoring, bars/s', median(r.batch), bars.length / median(r.feat), 'features only'],
  ['live scoring (engine.onBar + model), bars/s', median(r.live), median(r.none), 'engine.onBar, no model'],
]);
console.log(
  `\nper bar: batch ${(1e6 / median(r.batch)).toFixed(2)} µs, live ${(1e6 / median(r.live)).toFixed(2)} µs; training ${((median(r.train) * 1000) / symbolDays).toFixed(2)} ms per symbol-day`,
);
