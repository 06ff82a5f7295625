import { describe, expect, it } from 'vitest';
import { recomputeAlerts } from '../../../core/alerts/batch.ts';
import { parseAlertRules } from '../../../core/alerts/rules.ts';
import { configSchema } from '../../../core/config.ts';
import { pipelineOptionsFrom } from '../../../core/pipeline.ts';
import { alertSchema } from '../../../core/schemas/alert.ts';
import { demoMarketOptions } from '../../../cli/alerts-eval-command.ts';
import { demoIngestArgs } from '../../../cli/pipeline.ts';
import { runAlertEval } from '../../../streaming/alerts/evaluate.ts';

const config = configSchema.parse({ stack: { cacheDir: '-', stateDir: '/state' } });
const rules = parseAlertRules({
  version: 1,
  rules: [
    { id: 'pm', kind: 'price_move', movePct: 2, cooldownSec: 0 },
    { id: 'stale', kind: 'stale_feed', silenceSec: 30, cooldownSec: 0 },
  ],
});
const market = {
  seed: 3,
  symbols: 20,
  start: '2026-03-02T12:00:00Z',
  durationSec: 600,
  tradingHours: false,
  anomalies: { priceJump: { rate: 0.002 }, staleFeed: { rate: 0.0005, min: 40, max: 90 }, duplicate: { rate: 0.01 } },
};

describe('alerts-eval', () => {
  it('runs the market through the processor core and the rules, deterministically, and judges them by the labels', () => {
    const opts = { market, rules, pipeline: pipelineOptionsFrom(config), partitions: 3 };
    const a = runAlertEval(opts);
    const b = runAlertEval(opts);
    expect(a.alerts.map((x) => x.id)).toEqual(b.alerts.map((x) => x.id));
    for (const alert of a.alerts) expect(alertSchema.parse(alert)).toEqual(alert);
    const pm = a.quality.find((q) => q.rule === 'pm')!;
    const stale = a.quality.find((q) => q.rule === 'stale')!;
    expect(pm.labels).toBeGreaterThan(10);
    expect(stale.labels).toBeGreaterThan(3);
    // Injected jumps are 4–12 %: every one is seen, and nothing else moves 2 % in a minute.
    expect([pm.precision, pm.recall]).toEqual([1, 1]);
    expect(stale.recall).toBe(1);
    // Duplicates are dropped by the core's dedupe: no alert id twice.
    expect(new Set(a.alerts.map((x) => x.id)).size).toBe(a.alerts.length);
    expect(a.firesPerSymbolHour).toBeCloseTo(a.alerts.length / (20 * ((a.endUs - a.startUs) / 3.6e9)), 9);
  });

  it('the batch path (one engine over the lake rows, no heartbeats) raises the same alert ids as the stream', () => {
    const all = parseAlertRules({
      version: 1,
      rules: [
        { id: 'pm', kind: 'price_move' },
        { id: 'vs', kind: 'volume_spike', minTrades: 50 },
        { id: 'sb', kind: 'spread_blowout', minQuotes: 20 },
        { id: 'vw', kind: 'vwap_deviation', deviationBps: 100, minSessionTrades: 50 },
        { id: 'stale', kind: 'stale_feed', silenceSec: 30 },
      ],
    });
    const spikes = { volumeSpike: { rate: 0.002 }, spreadBlowout: { rate: 0.002 }, outOfOrder: { rate: 0.002 } };
    const stream = runAlertEval({
      market: { ...market, anomalies: { ...market.anomalies, ...spikes } },
      rules: all,
      pipeline: pipelineOptionsFrom(config),
      partitions: 4,
      collect: true,
    });
    const batch = recomputeAlerts(all, { ticks: stream.enriched!, bars: stream.bars! }, { now: () => 0 });
    expect(stream.alerts.length).toBeGreaterThan(50);
    expect(new Set(stream.alerts.map((a) => a.rule))).toEqual(new Set(['pm', 'vs', 'sb', 'vw', 'stale']));
    expect(batch.map((a) => a.id).sort()).toEqual(stream.alerts.map((a) => a.id).sort());
  });

  it("takes the demo's market settings, without its live-only options", () => {
    const opts = demoMarketOptions(demoIngestArgs(config));
    expect(opts).toMatchObject({ symbols: 50, tradingHours: false, anomalies: { priceJump: { rate: 0.0002 } } });
    expect(opts).not.toHaveProperty('speed');
    expect(opts).not.toHaveProperty('start');
    expect(opts).not.toHaveProperty('labelsFile');
  });
});
