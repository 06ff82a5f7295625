import { describe, expect, it } from 'vitest';
import { AlertEngine, sourceOwner } from '../../../../core/alerts/engine.ts';
import { SpeedLayerPartition } from '../../../../core/alerts/partition.ts';
import { fnv1a } from '../../../../core/alerts/engine.ts';
import { partitionOf } from '../../../../core/partition-path.ts';
import { emptyOutputs, PartitionPipeline, pipelineOptionsFrom, type RawRecord } from '../../../../core/pipeline.ts';
import { reconcile, type ReconcileInput, type TableCoverage } from '../../../../core/reconcile/reconcile.ts';
import type { Alert } from '../../../../core/schemas/alert.ts';
import { barKey, type Bar } from '../../../../core/schemas/bar.ts';
import { HEARTBEAT_KEY, heartbeatValue } from '../../../../core/schemas/heartbeat.ts';
import { tickSchema, type Tick } from '../../../../core/schemas/tick.ts';
import { NO_MODEL_SCORERS } from '../../../../core/models/score.ts';
import { loadRulesFile, rulesFilePath } from '../../../../infra/alerts/rules-file.ts';
import { loadConfig } from '../../../../infra/config.ts';
import { SyntheticGenerator } from '../../../../streaming/sources/synthetic/generator.ts';
import { parseSyntheticOptions, resolveStartUs } from '../../../../streaming/sources/synthetic/source.ts';
import { syntheticUniverse } from '../../../../streaming/sources/synthetic/universe.ts';

const config = loadConfig({ env: {} });
const pipeline = pipelineOptionsFrom(config);
const { rules } = loadRulesFile(rulesFilePath(config));
const PARTITIONS = 3;
const MIN = 60_000_000;
const START = Date.parse('2026-11-20T14:30:00Z') * 1000;

interface Stream {
  raw: Tick[];
  bars: Bar[];
  alerts: Alert[];
  lateIds: string[];
}

/**
 * The stream as it runs: the synthetic market's records keyed onto PARTITIONS partitions, ingest's heartbeat to
 * every partition each second, one SpeedLayerPartition per partition (the processor's pipeline + the rules), and
 * what the sinks would land: the raw ticks, the latest bar revision per window, the alerts.
 */
function runStream(anomalies: Record<string, unknown>, seed = 5): Stream {
  const market = parseSyntheticOptions({
    seed,
    symbols: 8,
    maxTicks: 36_000,
    speed: 0,
    start: new Date(START / 1000).toISOString(),
    referenceFile: null,
    anomalies,
  });
  const gen = new SyntheticGenerator(
    market,
    syntheticUniverse(market.symbols, market.seed, []),
    resolveStartUs(market, 0),
  );
  const parts = Array.from({ length: PARTITIONS }, (_, p) => ({
    speed: new SpeedLayerPartition(
      PartitionPipeline.create(pipeline),
      new AlertEngine(rules, {
        now: () => 0,
        scorers: NO_MODEL_SCORERS,
        ownsSource: (s) => sourceOwner(s, PARTITIONS) === p,
      }),
    ),
    offset: 0,
  }));
  const out = emptyOutputs();
  const stream: Stream = { raw: [], bars: [], alerts: [], lateIds: [] };
  const latest = new Map<string, Bar>();
  const apply = (p: number, r: Omit<RawRecord, 'offset'>) => {
    const part = parts[p]!;
    part.speed.apply({ ...r, offset: String(part.offset++) }, undefined, 0, stream.alerts, out);
  };
  let maxTs = 0;
  let nextHb = 0;
  for (let r = gen.next(); r !== undefined; r = gen.next()) {
    const value = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    let tick: Tick | undefined;
    try {
      const parsed = tickSchema.safeParse(JSON.parse(value!.toString()));
      if (parsed.success) tick = parsed.data;
    } catch {
      // malformed: dead-lettered by the sink, never in the raw table
    }
    if (tick) {
      stream.raw.push(tick);
      maxTs = Math.max(maxTs, tick.ts);
      if (nextHb === 0) nextHb = tick.ts + 1_000_000;
      while (maxTs >= nextHb) {
        for (let p = 0; p < PARTITIONS; p++)
          apply(p, { key: HEARTBEAT_KEY, value: Buffer.from(heartbeatValue(market.source, nextHb)), timestampMs: 0 });
        nextHb += 1_000_000;
      }
    }
    const p = r.key === null ? 0 : fnv1a(r.key) % PARTITIONS;
    apply(p, { key: r.key, value, timestampMs: Math.floor((tick?.recvTs ?? maxTs) / 1000) });
  }
  for (const b of out.bars) {
    const k = barKey(b.symbol, b.windowStart);
    if ((latest.get(k)?.revision ?? -1) < b.revision) latest.set(k, b);
  }
  stream.bars = [...latest.values()];
  stream.lateIds = out.late.map((l) => l.tick.id);
  return stream;
}

function coverage(rows: readonly { ts: number }[]): TableCoverage {
  return {
    partitions: new Set(rows.map((r) => partitionOf(r.ts))),
    maxTs: rows.length ? Math.max(...rows.map((r) => r.ts)) : null,
  };
}

function input(s: Stream, over: Partial<ReconcileInput> = {}): ReconcileInput {
  const fromUs = START;
  const toUs = START + 12 * MIN;
  return {
    fromUs,
    toUs,
    raw: s.raw,
    bars: s.bars.filter((b) => b.windowStart >= fromUs && b.windowStart < toUs),
    alerts: s.alerts,
    coverage: {
      raw: coverage(s.raw),
      bars: coverage(s.bars.map((b) => ({ ts: b.windowStart }))),
      alerts: coverage(s.alerts),
    },
    replay: { pipeline, rules, scorers: NO_MODEL_SCORERS },
    boundarySlackUs: 2_000_000,
    run: { id: 'test', ts: START + 3600 * 1e6 },
    ...over,
  };
}

describe('reconcile (pure): the stream against the batch truth from raw ticks', () => {
  const clean = runStream({ duplicate: { count: 30 }, outOfOrder: { count: 30 }, priceJump: { count: 10 } });

  it('finds no difference on a market with no tick later than the allowed lateness', () => {
    expect(clean.lateIds).toEqual([]);
    const r = reconcile(input(clean));
    expect(r.differences).toEqual([]);
    const bars = r.rows.filter((row) => row.table === 'bars');
    expect(bars.map((row) => row.partition)).toEqual(['dt=2026-11-20/hour=14']);
    expect(bars[0]!.matched).toBeGreaterThan(8 * 10);
    expect(bars[0]!.matched).toBe(bars[0]!.streamRows);
    const alerts = r.rows.find((row) => row.table === 'alerts')!;
    expect(alerts.batchRows).toBeGreaterThan(0);
    expect(alerts.matched).toBe(alerts.streamRows);
  });

  it('reports exactly the windows of trades beyond the lateness, classified late', () => {
    const s = runStream({ late: { count: 12, min: 100, max: 400 } }, 9);
    expect(s.lateIds.length).toBeGreaterThan(2);
    const r = reconcile(input(s));
    const byId = new Map(s.raw.map((t) => [t.id, t]));
    const expected = new Set(
      s.lateIds
        .map((id) => byId.get(id)!)
        .filter((t) => t.ts >= START && t.ts < START + 12 * MIN)
        .map((t) => barKey(t.symbol, t.ts - (t.ts % MIN))),
    );
    expect(expected.size).toBeGreaterThan(0);
    expect(r.differences.filter((d) => d.class !== 'late')).toEqual([]);
    expect(new Set(r.differences.filter((d) => d.table === 'bars').map((d) => d.key))).toEqual(expected);
    const lateTicks = r.rows.reduce((n, row) => n + row.lateTicks, 0);
    expect(lateTicks).toBe(s.lateIds.filter((id) => byId.get(id)!.ts < START + 12 * MIN).length);
  });

  it('finds a corrupted bar and calls it a disagreement', () => {
    const bars = clean.bars.map((b, i) => (i === 40 ? { ...b, volume: b.volume + 1 } : b));
    const r = reconcile(input({ ...clean, bars }));
    expect(r.differences).toHaveLength(1);
    expect(r.differences[0]).toMatchObject({ table: 'bars', class: 'disagreement' });
    expect(r.differences[0]!.detail).toMatch(/^volume \d/);
    expect(r.rows.find((row) => row.table === 'bars')!.disagreement).toBe(1);
  });

  it('calls a dropped or an invented alert a disagreement', () => {
    const [dropped, ...rest] = clean.alerts.filter((a) => a.ts >= START + MIN && a.ts < START + 11 * MIN);
    const invented = { ...dropped!, id: `${dropped!.id}-x` };
    const r = reconcile(input({ ...clean, alerts: [...clean.alerts.filter((a) => a !== dropped), invented] }));
    expect(rest.length).toBeGreaterThanOrEqual(0);
    expect(r.differences.map((d) => [d.table, d.class, d.key]).sort()).toEqual(
      [
        ['alerts', 'disagreement', dropped!.id],
        ['alerts', 'disagreement', invented.id],
      ].sort(),
    );
  });

  it('calls bars of a partition the stream has not flushed missing_partition, not a disagreement', () => {
    const cut = START + 8 * MIN;
    const bars = clean.bars.filter((b) => b.windowStart < cut);
    const r = reconcile(
      input(
        { ...clean, bars },
        { coverage: { ...input(clean).coverage, bars: coverage(bars.map((b) => ({ ts: b.windowStart }))) } },
      ),
    );
    expect(r.differences.length).toBeGreaterThan(8 * 3);
    expect(new Set(r.differences.map((d) => d.class))).toEqual(new Set(['missing_partition']));
  });

  it('writes one row per table and partition, a clean hour included', () => {
    const r = reconcile(input(clean, { fromUs: START, toUs: START + 3600e6 }));
    expect(r.rows.map((row) => `${row.table} ${row.partition}`)).toEqual([
      'bars dt=2026-11-20/hour=14',
      'alerts dt=2026-11-20/hour=14',
      'bars dt=2026-11-20/hour=15',
      'alerts dt=2026-11-20/hour=15',
    ]);
  });
});
