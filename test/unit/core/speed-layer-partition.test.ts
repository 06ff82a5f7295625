import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../core/alerts/engine.ts';
import { SpeedLayerPartition } from '../../../core/alerts/partition.ts';
import { PartitionPipeline, type PipelineOptions, type RawRecord } from '../../../core/pipeline.ts';
import type { Alert } from '../../../core/schemas/alert.ts';
import { HEARTBEAT_KEY, heartbeatValue } from '../../../core/schemas/heartbeat.ts';
import { loadRulesFile, rulesFilePath } from '../../../infra/alerts/rules-file.ts';
import { NO_MODEL_SCORERS } from '../../../core/models/score.ts';
import { loadConfig } from '../../../infra/config.ts';
import { pipelineOptionsFrom } from '../../../core/pipeline.ts';
import { SyntheticGenerator } from '../../../streaming/sources/synthetic/generator.ts';
import { parseSyntheticOptions, resolveStartUs } from '../../../streaming/sources/synthetic/source.ts';
import { syntheticUniverse } from '../../../streaming/sources/synthetic/universe.ts';

const config = loadConfig({ env: {} });
const options: PipelineOptions = pipelineOptionsFrom(config);
const { rules } = loadRulesFile(rulesFilePath(config));

/** One partition's worth of records from the synthetic market, with a heartbeat every second of event time. */
function records(): RawRecord[] {
  const market = parseSyntheticOptions({
    seed: 7,
    symbols: 6,
    maxTicks: 30_000,
    speed: 0,
    start: '2026-11-20T14:30:00Z',
    referenceFile: null,
    anomalies: { priceJump: { count: 20 }, spreadBlowout: { count: 20 }, staleFeed: { count: 2 } },
  });
  const gen = new SyntheticGenerator(
    market,
    syntheticUniverse(market.symbols, market.seed, []),
    resolveStartUs(market, 0),
  );
  const out: RawRecord[] = [];
  let nextHb = 0;
  for (let r = gen.next(); r !== undefined; r = gen.next()) {
    const ts = gen.lastTs;
    if (nextHb === 0) nextHb = ts + 1_000_000;
    while (ts >= nextHb) {
      out.push({
        key: HEARTBEAT_KEY,
        value: Buffer.from(heartbeatValue(market.source, nextHb)),
        offset: String(out.length),
        timestampMs: Math.floor(nextHb / 1000),
      });
      nextHb += 1_000_000;
    }
    const value = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    out.push({ key: r.key, value, offset: String(out.length), timestampMs: Math.floor(ts / 1000) });
  }
  return out;
}

const fresh = () =>
  new SpeedLayerPartition(
    PartitionPipeline.create(options),
    new AlertEngine(rules, { now: () => 0, scorers: NO_MODEL_SCORERS }),
  );

describe('SpeedLayerPartition', () => {
  const input = records();

  it('raises alerts of several rules on the labelled market', () => {
    const p = fresh();
    const alerts: Alert[] = [];
    for (const r of input) p.apply(r, undefined, 0, alerts);
    expect(alerts.length).toBeGreaterThan(10);
    expect(new Set(alerts.map((a) => a.rule)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(alerts.map((a) => a.id)).size).toBe(alerts.length);
  });

  it('restored from a snapshot mid-stream (through JSON), gives exactly the alerts of an uninterrupted run', () => {
    const whole: Alert[] = [];
    const a = fresh();
    for (const r of input) a.apply(r, undefined, 0, whole);

    const split: Alert[] = [];
    const b = fresh();
    const cut = Math.floor(input.length * 0.6);
    for (const r of input.slice(0, cut)) b.apply(r, undefined, 0, split);
    const snapshot = JSON.parse(JSON.stringify(b.snapshot()));
    const c = SpeedLayerPartition.restore(
      options,
      new AlertEngine(rules, { now: () => 0, scorers: NO_MODEL_SCORERS }),
      snapshot,
    );
    expect(c.nextOffset).toBe(String(cut));
    for (const r of input.slice(cut)) c.apply(r, undefined, 0, split);
    expect(split).toEqual(whole);
  });

  it('refuses a snapshot that is not one', () => {
    expect(() =>
      SpeedLayerPartition.restore(options, new AlertEngine(rules, { now: () => 0, scorers: NO_MODEL_SCORERS }), {
        v: 1,
        pipeline: {},
      }),
    ).toThrow();
  });
});
