import { describe, expect, it } from 'vitest';
import { AlertEngine, sourceOwner, type ModelScorer } from '../../../../core/alerts/engine.ts';
import { parseAlertRules, type AlertRulesFileInput, type ResolvedRule } from '../../../../core/alerts/rules.ts';
import { alertSchema, type Alert } from '../../../../core/schemas/alert.ts';
import type { Bar } from '../../../../core/schemas/bar.ts';
import type { EnrichedTick } from '../../../../core/schemas/enriched.ts';

const T0 = 1_772_452_800_000_000; // 2026-03-02T12:00:00Z
const S = 1_000_000;

const seqs = new Map<string, number>();
function base(symbol: string, ts: number, source = 'synthetic') {
  const seq = (seqs.get(symbol) ?? 0) + 1;
  seqs.set(symbol, seq);
  const nulls = { name: null, sector: null, currency: null, listingExchange: null, logReturn: null, ewmaVol: null };
  return {
    v: 1 as const,
    ev: 1 as const,
    id: `${source}:${symbol}:${seq}`,
    source,
    symbol,
    seq,
    ts,
    recvTs: ts,
    processedTs: ts,
    ...nulls,
  };
}
function trade(
  symbol: string,
  ts: number,
  price: number,
  size = 100,
  sessionVwap: number | null = price,
): EnrichedTick {
  return { ...base(symbol, ts), type: 'trade', price, size, mid: price, spreadBps: 4, sessionVwap };
}
function quote(symbol: string, ts: number, bid: number, ask: number, source = 'synthetic'): EnrichedTick {
  const mid = (bid + ask) / 2;
  const spreadBps = ((ask - bid) / mid) * 10_000;
  return {
    ...base(symbol, ts, source),
    type: 'quote',
    bid,
    ask,
    bidSize: 100,
    askSize: 100,
    mid,
    spreadBps,
    sessionVwap: null,
  };
}

function rules(...list: AlertRulesFileInput['rules']): ResolvedRule[] {
  return parseAlertRules({ version: 1, rules: list });
}

function engine(r: ResolvedRule[], extra: Partial<ConstructorParameters<typeof AlertEngine>[1]> = {}) {
  let clock = 42;
  return new AlertEngine(r, { now: () => clock++, ...extra });
}

function feed(e: AlertEngine, ticks: EnrichedTick[]): Alert[] {
  return ticks.flatMap((t) => e.onTick(t));
}

describe('price_move', () => {
  const r = rules({ id: 'pm', kind: 'price_move', movePct: 2, windowSec: 60, cooldownSec: 30 });

  it('fires on a trade ≥ X % from the window extreme, with a deterministic id, schema-valid', () => {
    const e = engine(r);
    const alerts = feed(e, [
      trade('AAPL', T0, 100),
      trade('AAPL', T0 + 10 * S, 100.5),
      trade('AAPL', T0 + 20 * S, 102.1),
    ]);
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!;
    expect(alertSchema.parse(a)).toEqual(a);
    expect(a).toMatchObject({
      id: `pm:AAPL:${T0 + 20 * S}`,
      rule: 'pm',
      symbol: 'AAPL',
      ts: T0 + 20 * S,
      threshold: 2,
    });
    expect(a.value).toBeCloseTo(2.1, 6);
    expect(a.source).toBe('synthetic');
    expect(a.emittedTs).toBe(42);
  });

  it('does not compare with trades older than the window, and reports a fall as negative', () => {
    const e = engine(r);
    expect(feed(e, [trade('AAPL', T0, 100), trade('AAPL', T0 + 61 * S, 103)])).toEqual([]);
    const down = feed(e, [trade('AAPL', T0 + 70 * S, 100.9)]);
    expect(down).toHaveLength(1);
    expect(down[0]!.value).toBeCloseTo(-2.03883, 4);
  });

  it('reports one jump once: the window restarts at the new level', () => {
    const e = engine(rules({ id: 'pm', kind: 'price_move', movePct: 2, windowSec: 60, cooldownSec: 0 }));
    const alerts = feed(e, [trade('AAPL', T0, 100), trade('AAPL', T0 + S, 105), trade('AAPL', T0 + 2 * S, 105.2)]);
    expect(alerts.map((a) => a.ts)).toEqual([T0 + S]);
  });

  it('cooldown is per rule and symbol: another symbol fires, the same one waits', () => {
    const e = engine(r);
    const alerts = feed(e, [
      trade('AAPL', T0, 100),
      trade('MSFT', T0, 100),
      trade('AAPL', T0 + S, 103), // fires
      trade('AAPL', T0 + 2 * S, 106.5), // a new 3 % move, inside AAPL's 30 s cooldown
      trade('MSFT', T0 + 3 * S, 97), // MSFT has its own cooldown
      trade('AAPL', T0 + 40 * S, 110), // cooldown over, move from 106.5
    ]);
    expect(alerts.map((a) => `${a.symbol}@${(a.ts - T0) / S}`)).toEqual(['AAPL@1', 'MSFT@3', 'AAPL@40']);
    expect(e.stats().suppressed).toEqual({ pm: 1 });
  });

  it('symbols filter limits the rule; criticalAt escalates severity', () => {
    const e = engine(rules({ id: 'pm', kind: 'price_move', movePct: 2, criticalAt: 5, symbols: ['AAPL'] }));
    const alerts = feed(e, [
      trade('AAPL', T0, 100),
      trade('MSFT', T0, 100),
      trade('AAPL', T0 + S, 106),
      trade('MSFT', T0 + S, 110),
    ]);
    expect(alerts.map((a) => [a.symbol, a.severity])).toEqual([['AAPL', 'critical']]);
  });
});

describe('volume_spike', () => {
  const r = rules({ id: 'vs', kind: 'volume_spike', ratio: 50, minTrades: 20, halfLifeTrades: 100 });

  it('fires on a trade ≥ ratio × the typical (geometric mean) size, only after the warm-up', () => {
    const e = engine(r);
    const early = feed(e, [trade('AAPL', T0, 100, 100), trade('AAPL', T0 + S, 100, 10_000)]);
    expect(early).toEqual([]); // 100× but the baseline has seen 1 trade
    const warm = Array.from({ length: 30 }, (_, i) => trade('AAPL', T0 + (2 + i) * S, 100, i % 2 ? 50 : 200));
    expect(feed(e, warm)).toEqual([]);
    const [a, ...rest] = feed(e, [trade('AAPL', T0 + 40 * S, 100, 4_000), trade('AAPL', T0 + 41 * S, 100, 8_000)]);
    expect(rest).toEqual([]);
    // typical ≈ 115 (geometric mean of 50 and 200, nudged up by the clipped 10,000): 4,000 is ~35×, 8,000 ~65×.
    expect(a?.ts).toBe(T0 + 41 * S);
    expect(a?.value).toBeGreaterThan(50);
  });
});

describe('spread_blowout', () => {
  const r = rules({ id: 'sb', kind: 'spread_blowout', minBps: 50, ratio: 5, minQuotes: 5, cooldownSec: 0 });

  it('one alert per episode of wide quotes, quotes only, re-armed once the spread is back', () => {
    const e = engine(r);
    const normal = (i: number) => quote('AAPL', T0 + i * S, 99.98, 100.02); // 4 bps
    const wide = (i: number) => quote('AAPL', T0 + i * S, 99, 101); // 200 bps
    const alerts = feed(e, [
      ...[0, 1, 2, 3, 4, 5].map(normal),
      wide(6),
      wide(7),
      { ...trade('AAPL', T0 + 8 * S, 100), spreadBps: 200 },
      normal(9),
      wide(10),
    ]);
    expect(alerts.map((a) => (a.ts - T0) / S)).toEqual([6, 10]);
    expect(alerts[0]!.value).toBeCloseTo(200, 1);
    expect(alerts[0]!.threshold).toBe(50);
  });

  it('a symbol whose normal spread is wide needs ratio × its own baseline, not just minBps', () => {
    const e = engine(r);
    const alerts = feed(e, [
      ...[0, 1, 2, 3, 4, 5].map((i) => quote('PENNY', T0 + i * S, 4.9, 5.1)), // 400 bps
      quote('PENNY', T0 + 6 * S, 4.8, 5.2), // 800 bps: 2× its baseline
    ]);
    expect(alerts).toEqual([]);
  });
});

describe('vwap_deviation', () => {
  const r = rules({
    id: 'vw',
    kind: 'vwap_deviation',
    deviationBps: 300,
    minSessionTrades: 3,
    rearmFraction: 0.5,
    cooldownSec: 0,
  });

  it('fires when a trade is ≥ X bps from the session VWAP, once until it comes back within half of X', () => {
    const e = engine(r);
    const alerts = feed(e, [
      trade('AAPL', T0, 100, 100, 100),
      trade('AAPL', T0 + S, 104, 100, 100), // 400 bps but only 2 session trades
      trade('AAPL', T0 + 2 * S, 100, 100, 100),
      trade('AAPL', T0 + 3 * S, 104, 100, 100), // fires
      trade('AAPL', T0 + 4 * S, 105, 100, 100), // disarmed
      trade('AAPL', T0 + 5 * S, 101, 100, 100), // 100 bps < 150: re-armed
      trade('AAPL', T0 + 6 * S, 96.5, 100, 100), // fires (−350)
    ]);
    expect(alerts.map((a) => [(a.ts - T0) / S, a.value])).toEqual([
      [3, 400],
      [6, -350],
    ]);
  });
});

describe('stale_feed', () => {
  const r = rules(
    { id: 'stale', kind: 'stale_feed', scope: 'symbol', silenceSec: 60, cooldownSec: 0 },
    { id: 'stale-src', kind: 'stale_feed', scope: 'source', silenceSec: 30, cooldownSec: 0 },
  );

  it('judges silence by the partition watermark (heartbeats), once per silence', () => {
    const e = engine(r);
    feed(e, [quote('AAPL', T0, 99.98, 100.02), quote('MSFT', T0, 99.98, 100.02)]);
    const alerts: Alert[] = [];
    for (let i = 1; i <= 120; i++) {
      alerts.push(...e.onTick(quote('MSFT', T0 + i * S, 99.98, 100.02)));
      alerts.push(...e.onHeartbeat({ source: 'synthetic', ts: T0 + i * S }));
    }
    expect(alerts.map((a) => [a.rule, a.symbol, (a.ts - T0) / S, a.windowStart])).toEqual([['stale', 'AAPL', 60, T0]]);
    expect(alerts[0]!.id).toBe(`stale:AAPL:${T0}`);
    // AAPL comes back, then goes silent again (the source's heartbeats go on): a new silence, a new alert.
    e.onTick(quote('AAPL', T0 + 121 * S, 99.98, 100.02));
    const again: Alert[] = [];
    for (let i = 122; i <= 181; i++) again.push(...e.onHeartbeat({ source: 'synthetic', ts: T0 + i * S }));
    expect(again.map((a) => [a.symbol, a.windowStart])).toEqual([
      ['MSFT', T0 + 120 * S],
      ['AAPL', T0 + 121 * S],
    ]);
  });

  it('a source that was down (no tick or heartbeat for an hour) is one source alert, not one per symbol', () => {
    const e = engine(r);
    const alerts: Alert[] = [];
    for (let i = 0; i <= 5; i++) {
      alerts.push(...e.onTick(quote('AAPL', T0 + i * S, 99.98, 100.02)));
      alerts.push(...e.onTick(quote('MSFT', T0 + i * S, 99.98, 100.02)));
      alerts.push(...e.onHeartbeat({ source: 'synthetic', ts: T0 + i * S }));
    }
    // The whole feed was off for an hour (ingest stopped); it comes back with a heartbeat, then AAPL trades.
    const back = T0 + 3600 * S;
    alerts.push(...e.onHeartbeat({ source: 'synthetic', ts: back }));
    alerts.push(...e.onTick(quote('AAPL', back + S / 2, 99.98, 100.02)));
    expect(alerts.map((a) => [a.rule, a.symbol, a.windowStart])).toEqual([['stale-src', '*', T0 + 5 * S]]);
    // MSFT stays silent after the source's return: judged from the return, so 60 s after it, not at once; and the
    // outage survives a snapshot taken meanwhile.
    for (let i = 1; i <= 30; i++) expect(e.onHeartbeat({ source: 'synthetic', ts: back + i * S })).toEqual([]);
    const restored = engine(r);
    restored.restore(JSON.parse(JSON.stringify(e.snapshot())));
    const after: Alert[] = [];
    for (let i = 31; i <= 60; i++) after.push(...restored.onHeartbeat({ source: 'synthetic', ts: back + i * S }));
    expect(after.map((a) => [a.symbol, (a.ts - back) / S])).toEqual([['MSFT', 60]]);
  });

  it('never uses the wall clock: without event time moving, nothing goes stale', () => {
    const e = engine(r.slice(0, 1), { now: () => Date.now() * 1000 });
    e.onTick(quote('AAPL', T0, 99.98, 100.02));
    expect(e.advanceWatermark(T0 + 59 * S)).toEqual([]);
    expect(e.advanceWatermark(T0 - 600 * S)).toEqual([]); // backwards: ignored
    expect(e.advanceWatermark(T0 + 60 * S).map((a) => a.symbol)).toEqual(['AAPL']);
  });

  it('a whole source going silent is one alert, from the engine that owns the source', () => {
    const partitions = 3;
    const engines = [0, 1, 2].map((p) => engine(r, { ownsSource: (s) => sourceOwner(s, partitions) === p }));
    const alerts: Alert[] = [];
    for (const e of engines) {
      e.onTick(quote('BTC-USD', T0, 99.98, 100.02, 'coinbase'));
      e.onTick(quote('AAPL', T0, 99.98, 100.02, 'alpaca'));
      // alpaca keeps going (its heartbeats reach every partition); coinbase stops.
      for (let i = 1; i <= 40; i++) alerts.push(...e.onHeartbeat({ source: 'alpaca', ts: T0 + i * S }));
    }
    const src = alerts.filter((a) => a.rule === 'stale-src');
    expect(src).toHaveLength(1);
    expect(src[0]).toMatchObject({ symbol: '*', source: 'coinbase', ts: T0 + 30 * S, id: `stale-src:*coinbase:${T0}` });
    expect(alertSchema.parse(src[0])).toEqual(src[0]);
  });
});

describe('model_score hook', () => {
  const bar = (windowStart: number, close: number, revision = 0): Bar => ({
    v: 1,
    symbol: 'AAPL',
    windowStart,
    windowEnd: windowStart + 60 * S,
    open: 100,
    high: Math.max(100, close),
    low: Math.min(100, close),
    close,
    volume: 1000,
    vwap: 100,
    trades: 10,
    firstTs: windowStart,
    lastTs: windowStart + 59 * S,
    revision,
  });
  const scorer: ModelScorer = (b) => ({
    score: Math.abs(b.close / b.open - 1) * 100,
    modelVersion: 'iforest-2026-03-01',
  });
  const r = rules({ id: 'ms', kind: 'model_score', scorer: 'anomaly', threshold: 1, cooldownSec: 0 });

  it('a registered scorer over a closed bar fires above the threshold and carries the model version, once per window', () => {
    const e = engine(r, { scorers: { anomaly: scorer } });
    const alerts = [bar(T0, 100.5), bar(T0 + 60 * S, 102), bar(T0 + 60 * S, 103, 1)].flatMap((b) => e.onBar(b));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ id: `ms:AAPL:${T0 + 60 * S}`, modelVersion: 'iforest-2026-03-01', threshold: 1 });
    expect(alerts[0]!.value).toBeCloseTo(2, 9);
  });

  it('a scorer that throws skips the bar and is counted; other rules go on', () => {
    const broken: ModelScorer = () => {
      throw new Error('model bug');
    };
    const e = engine([...r, ...rules({ id: 'pm', kind: 'price_move' })], { scorers: { anomaly: broken } });
    expect(e.onBar(bar(T0, 105))).toEqual([]);
    expect(e.stats().scorerErrors).toEqual({ ms: 1 });
    expect(feed(e, [trade('AAPL', T0, 100), trade('AAPL', T0 + S, 103)])).toHaveLength(1);
  });

  it('an enabled rule naming an unregistered scorer is refused, and the engine keeps its rules', () => {
    const e = engine(rules({ id: 'pm', kind: 'price_move' }));
    expect(() => e.setRules(r)).toThrow(/rule ms: scorer "anomaly" is not registered/);
    expect(e.activeRules.map((x) => x.id)).toEqual(['pm']);
  });
});

describe('state', () => {
  const all = rules(
    { id: 'pm', kind: 'price_move', movePct: 1, cooldownSec: 5 },
    { id: 'vs', kind: 'volume_spike', ratio: 20, minTrades: 10, cooldownSec: 0 },
    { id: 'sb', kind: 'spread_blowout', minBps: 20, ratio: 3, minQuotes: 5 },
    { id: 'vw', kind: 'vwap_deviation', deviationBps: 100, minSessionTrades: 5 },
    { id: 'st', kind: 'stale_feed', silenceSec: 20, gapMultiple: 5 },
  );
  // A small deterministic market: three symbols, a random walk, occasional big trades, wide quotes and silences.
  function market(n: number): EnrichedTick[] {
    let x = 7;
    const rand = () => (x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const price: Record<string, number> = { AAPL: 100, MSFT: 200, NVDA: 50 };
    const vwap: Record<string, number> = { ...price };
    const out: EnrichedTick[] = [];
    for (let i = 0; i < n; i++) {
      const sym = (['AAPL', 'MSFT', 'NVDA'] as const)[Math.floor(rand() * 3)]!;
      if (sym === 'NVDA' && i % 400 > 300) continue; // NVDA's silences
      const ts = T0 + i * 200_000;
      price[sym]! *= 1 + (rand() - 0.5) * 0.01;
      vwap[sym] = 0.99 * vwap[sym]! + 0.01 * price[sym]!;
      const p = Math.round(price[sym]! * 100) / 100;
      if (rand() < 0.5)
        out.push(trade(sym, ts, p, rand() < 0.02 ? 50_000 : 100 + Math.floor(rand() * 300), vwap[sym]!));
      else {
        const half = rand() < 0.02 ? p * 0.01 : p * 0.0002;
        out.push(quote(sym, ts, Math.round((p - half) * 100) / 100, Math.round((p + half) * 100) / 100 + 0.01));
      }
    }
    return out;
  }
  const strip = (a: Alert[]) => a.map(({ emittedTs: _e, ...rest }) => rest);

  it('snapshot → JSON → restore mid-stream continues exactly as an uninterrupted run', () => {
    const ticks = market(6000);
    const whole = engine(all);
    const expected = feed(whole, ticks);
    expect(new Set(expected.map((a) => a.rule))).toEqual(new Set(['pm', 'vs', 'sb', 'vw', 'st']));
    for (const cut of [1, 1777, 4000]) {
      const first = engine(all);
      const before = feed(first, ticks.slice(0, cut));
      const second = engine(all);
      second.restore(JSON.parse(JSON.stringify(first.snapshot())));
      const after = feed(second, ticks.slice(cut));
      expect(strip([...before, ...after])).toEqual(strip(expected));
    }
  });

  it('a corrupt snapshot is refused', () => {
    expect(() => engine(all).restore({ v: 1, watermark: 'soon' })).toThrow();
  });

  it('setRules keeps per-symbol state for rules that stay, starts new ones fresh, drops removed ones', () => {
    const ticks = market(3000);
    const e = engine(all);
    feed(e, ticks);
    const warmed = e.snapshot().rules.find((r) => r.id === 'vs')!;
    // Same id and kind, new parameter: the warm baseline carries over.
    e.setRules(all.map((r) => (r.id === 'vs' ? { ...r, ratio: 10 } : r)).filter((r) => r.id !== 'pm'));
    const snap = e.snapshot();
    expect(snap.rules.find((r) => r.id === 'vs')).toEqual(warmed);
    expect(snap.rules.map((r) => r.id)).toEqual(['vs', 'sb', 'vw', 'st']);
    // A warm baseline fires at once on a big trade under the new ratio; a fresh engine would still be warming up.
    const big = trade('AAPL', T0 + 3001 * 200_000, 100, 30_000);
    expect(e.onTick(big).map((a) => a.rule)).toContain('vs');
    expect(engine(all.map((r) => (r.id === 'vs' ? { ...r, ratio: 10 } : r))).onTick(big)).toEqual([]);
    // pm was removed: re-adding it starts from nothing.
    e.setRules(all);
    expect(e.snapshot().rules.find((r) => r.id === 'pm')!.state.symbols).toEqual([]);
  });

  it('the same events give the same alerts; only emittedTs comes from the clock', () => {
    const ticks = market(3000);
    const a = feed(engine(all, { now: () => 1 }), ticks);
    const b = feed(engine(all, { now: () => 2 }), ticks);
    expect(strip(a)).toEqual(strip(b));
    expect(new Set(a.map((x) => x.emittedTs))).toEqual(new Set([1]));
  });
});
