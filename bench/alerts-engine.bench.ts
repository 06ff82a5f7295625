/**
 * Cost of the alert rules per tick on one core: the shipped rules (infra/alerts/rules.yaml) over the demo market's
 * enriched ticks (50 symbols, labelled anomalies), against the processor's pure pipeline over the same records
 * measured in the same run (the baseline), so the ratio says what the speed layer adds to a tick's path.
 *
 *   node --import tsx bench/alerts-engine.bench.ts [records] [runs]
 */
import { cpus } from 'node:os';
import { AlertEngine } from '../core/alerts/engine.ts';
import { configSchema } from '../core/config.ts';
import { emptyOutputs, PartitionPipeline, pipelineOptionsFrom } from '../core/pipeline.ts';
import type { EnrichedTick } from '../core/schemas/enriched.ts';
import { loadRulesFile, SHIPPED_RULES_URL } from '../infra/alerts/rules-file.ts';
import { NO_MODEL_SCORERS } from '../core/models/score.ts';
import { fileURLToPath } from 'node:url';
import { SyntheticGenerator } from '../streaming/sources/synthetic/generator.ts';
import { parseSyntheticOptions } from '../streaming/sources/synthetic/source.ts';
import { syntheticUniverse } from '../streaming/sources/synthetic/universe.ts';

const records = Number(process.argv[2] ?? 200_000);
const runs = Number(process.argv[3] ?? 7);
const START_US = 1_772_452_800_000_000;

const market = parseSyntheticOptions({
  seed: 1,
  symbols: 50,
  tradingHours: false,
  start: START_US,
  maxTicks: records,
  anomalies: { priceJump: { rate: 0.0002 }, volumeSpike: { rate: 0.0002 }, spreadBlowout: { rate: 0.0002 } },
});
const universe = syntheticUniverse(market.symbols, market.seed);
const reference = new Map(universe.map((u) => [u.symbol, u]));
const gen = new SyntheticGenerator(market, universe, START_US);
const raw: { key: string; value: Buffer; ts: number }[] = [];
for (let r = gen.next(); r !== undefined; r = gen.next()) {
  raw.push({ key: r.key, value: Buffer.from(r.value), ts: gen.lastTs });
}
const pipelineOptions = pipelineOptionsFrom(configSchema.parse({ stack: { cacheDir: '-', stateDir: '-' } }));
const { rules } = loadRulesFile(fileURLToPath(SHIPPED_RULES_URL));

function runPipeline(collect: EnrichedTick[] | null): number {
  const p = PartitionPipeline.create(pipelineOptions);
  const out = emptyOutputs();
  let offset = 0;
  const t0 = process.hrtime.bigint();
  for (const r of raw) {
    out.enriched.length = 0;
    out.bars.length = 0;
    p.process({ key: r.key, value: r.value, offset: String(offset++), timestampMs: r.ts / 1000 }, reference, r.ts, out);
    if (collect) collect.push(...out.enriched);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const enriched: EnrichedTick[] = [];
runPipeline(enriched);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

const pipelineRates: number[] = [];
const engineRates: number[] = [];
let alerts = 0;
for (let i = 0; i < runs + 1; i++) {
  const pipeSeconds = runPipeline(null);
  const engine = new AlertEngine(rules, { now: () => 0, scorers: NO_MODEL_SCORERS });
  alerts = 0;
  const t0 = process.hrtime.bigint();
  for (const t of enriched) alerts += engine.onTick(t).length;
  const engineSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (i === 0) continue; // warm-up
  pipelineRates.push(raw.length / pipeSeconds);
  engineRates.push(enriched.length / engineSeconds);
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, median of ${runs} runs`);
console.log(
  `pipeline (validate → dedupe → enrich → bars): ${fmt(median(pipelineRates))} records/s (${raw.length} records)`,
);
console.log(
  `alert engine, ${rules.length} shipped rules: ${fmt(median(engineRates))} ticks/s (${enriched.length} ticks, ${alerts} alerts)`,
);
console.log(
  `engine per tick: ${(1e6 / median(engineRates)).toFixed(2)} µs; pipeline per record: ${(1e6 / median(pipelineRates)).toFixed(2)} µs`,
);
