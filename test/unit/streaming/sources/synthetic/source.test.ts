import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { tickId, tickSchema } from '../../../../../core/schemas/tick.ts';
import type { SyntheticLabel } from '../../../../../core/schemas/labels.ts';
import { parseLabels } from '../../../../../core/schemas/labels.ts';
import type { SyntheticOptionsInput } from '../../../../../streaming/sources/synthetic/options.ts';
import { createSyntheticSource } from '../../../../../streaming/sources/synthetic/source.ts';
import type { SourceRecord } from '../../../../../streaming/sources/source.ts';
import { FakeClock } from '../replay/fake-clock.ts';

const MONDAY_OPEN = '2024-03-04T14:30:00Z'; // 09:30 EST
const START_US = Date.parse(MONDAY_OPEN) * 1000;

type Any = Record<string, unknown>;

async function run(input: SyntheticOptionsInput, clock?: FakeClock) {
  const src = createSyntheticSource({ speed: 0, start: MONDAY_OPEN, ...input }, { clock });
  const records: SourceRecord[] = [];
  for await (const batch of src.batches(new AbortController().signal)) records.push(...batch);
  await src.close();
  return { src, records, values: records.map((r) => String(r.value)), labels: src.labels(), stats: src.stats() };
}

function tryParse(v: string): Any | undefined {
  try {
    return JSON.parse(v) as Any;
  } catch {
    return undefined;
  }
}

const ALL_FAULTS: SyntheticOptionsInput['anomalies'] = {
  priceJump: { count: 4 },
  volumeSpike: { count: 4 },
  spreadBlowout: { count: 4 },
  staleFeed: { count: 3, min: 10, max: 30 },
  duplicate: { count: 4 },
  outOfOrder: { count: 4 },
  late: { count: 4, min: 5, max: 10 },
  malformed: { count: 18, oversizedBytes: 20_000 },
};

describe('synthetic source', () => {
  it('is deterministic: same options give identical bytes and labels, another seed does not', async () => {
    const opts = { seed: 11, maxTicks: 3000, anomalies: ALL_FAULTS };
    const a = await run(opts);
    const b = await run(opts);
    expect(a.values).toEqual(b.values);
    expect(a.records.map((r) => r.key)).toEqual(b.records.map((r) => r.key));
    expect(a.labels).toEqual(b.labels);
    const c = await run({ ...opts, seed: 12 });
    expect(c.values).not.toEqual(a.values);
  });

  it('keeps the market path when faults that do not touch prices are switched on', async () => {
    const clean = await run({ seed: 5, maxTicks: 2000 });
    const dup = await run({ seed: 5, maxTicks: 2000, anomalies: { duplicate: { count: 5 } } });
    const dupIndexes = new Set(dup.labels.map((l) => l.detail.index as number));
    expect(dupIndexes.size).toBe(5);
    const withoutDups = dup.values.filter((_, i) => !dupIndexes.has(i));
    expect(withoutDups).toEqual(clean.values.slice(0, withoutDups.length));
  });

  it('emits only schema-valid ticks with derived ids, apart from labelled malformed records', async () => {
    const { values, labels, stats } = await run({ seed: 3, maxTicks: 5000, anomalies: ALL_FAULTS });
    expect(values).toHaveLength(5000);
    expect(stats.emitted).toBe(5000);
    const malformed = new Set(labels.filter((l) => l.kind === 'malformed').map((l) => l.detail.index as number));
    expect(malformed.size).toBe(18);
    const invalid: number[] = [];
    values.forEach((v, i) => {
      const parsed = tickSchema.safeParse(tryParse(v));
      const ok = parsed.success && parsed.data.id === tickId(parsed.data.source, parsed.data.symbol, parsed.data.seq);
      if (!ok) invalid.push(i);
    });
    const oversized = labels.filter((l) => l.detail.variant === 'oversized').map((l) => l.detail.index as number);
    // Oversized records are valid ticks that are too big: the processor rejects them by size, not by schema.
    expect(invalid).toEqual([...malformed].filter((i) => !oversized.includes(i)).sort((x, y) => x - y));
  });

  it('writes labels that point at records with the labelled property', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'synthetic-'));
    const labelsFile = join(dir, 'labels.ndjson');
    const { values, records, labels } = await run({ seed: 21, maxTicks: 20_000, labelsFile, anomalies: ALL_FAULTS });
    expect(parseLabels(readFileSync(labelsFile, 'utf8'))).toEqual(labels);
    const counts: Record<string, number> = {};
    for (const l of labels) counts[l.kind] = (counts[l.kind] ?? 0) + 1;
    expect(counts).toEqual({
      price_jump: 4,
      volume_spike: 4,
      spread_blowout: 4,
      stale_feed: 3,
      duplicate: 4,
      out_of_order: 4,
      late: 4,
      malformed: 18,
    });

    const ticks = values.map(tryParse);
    const indexOfId = new Map<string, number>();
    ticks.forEach((t, i) => {
      if (t !== undefined && typeof t.id === 'string' && !indexOfId.has(t.id)) indexOfId.set(t.id, i);
    });
    const bySymbol = (symbol: string, before: number, type?: string) =>
      ticks.slice(0, before).filter((t) => t?.symbol === symbol && (type === undefined || t?.type === type));

    const check: Record<string, (l: SyntheticLabel, t: Any | undefined, index: number) => void> = {
      price_jump: (l, t, index) => {
        expect(t).toMatchObject({ type: 'trade', price: l.detail.price });
        const prev = bySymbol(l.symbol, index, 'trade').at(-1) as Any;
        expect(Math.abs((t?.price as number) / (prev.price as number) - 1)).toBeGreaterThan(0.03);
      },
      volume_spike: (l, t) => {
        expect(t).toMatchObject({ type: 'trade', size: l.detail.size });
        expect(t?.size as number).toBeGreaterThanOrEqual(200_000);
      },
      spread_blowout: (l, t, index) => {
        expect(t).toMatchObject({ type: 'quote', bid: l.detail.bid, ask: l.detail.ask });
        const spread = (q: Any | undefined) => ((q?.ask as number) - (q?.bid as number)) / (q?.ask as number);
        const others = bySymbol(l.symbol, index, 'quote')
          .map(spread)
          .sort((a, b) => a - b);
        const median = others[Math.floor(others.length / 2)] ?? 0;
        expect(spread(t)).toBeGreaterThan(10 * median);
      },
      duplicate: (l, t, index) => {
        const original = l.detail.originalIndex as number;
        expect(original).toBeLessThan(index);
        expect(records[index]).toEqual(records[original]);
        expect(t?.id).toBe(l.id);
        expect(indexOfId.get(l.id as string)).toBe(original);
      },
      out_of_order: (l, t, index) => {
        expect(t?.id).toBe(l.id);
        const after = indexOfId.get(l.detail.afterId as string) as number;
        expect(after).toBe(index - 1);
        const newer = ticks[after] as Any;
        expect(newer.symbol).toBe(l.symbol);
        expect(newer.ts as number).toBeGreaterThan(t?.ts as number);
        expect(newer.seq as number).toBeGreaterThan(t?.seq as number);
        expect(l.detail.lagUs).toBe((newer.ts as number) - (t?.ts as number));
      },
      late: (l, t, index) => {
        expect(t?.id).toBe(l.id);
        const newest = Math.max(...ticks.slice(0, index).map((x) => (typeof x?.ts === 'number' ? x.ts : 0)));
        expect(newest - (t?.ts as number)).toBeGreaterThan(0);
        expect(newest - (t?.ts as number)).toBeLessThanOrEqual(l.detail.lagUs as number);
        expect(l.detail.lagUs as number).toBeGreaterThanOrEqual(5_000_000);
        expect(t?.recvTs as number).toBeGreaterThanOrEqual((t?.ts as number) + (l.detail.lagUs as number));
      },
      malformed: (l, t, index) => {
        const raw = values[index] as string;
        expect(records[index]?.key).toBe(l.symbol);
        expect(raw).toContain(`"id":"${l.id}"`);
        expect(Buffer.byteLength(raw)).toBe(l.detail.bytes);
        const variant = l.detail.variant;
        if (variant === 'invalid_json') expect(t).toBeUndefined();
        if (variant === 'nan_price') expect(t?.price).toBe('NaN');
        if (variant === 'negative_price') expect(t?.price as number).toBeLessThan(0);
        if (variant === 'missing_fields') expect('price' in (t as Any) || 'bid' in (t as Any)).toBe(false);
        if (variant === 'empty_symbol') expect(t?.symbol).toBe('');
        if (variant === 'oversized') expect(raw.length).toBe(20_000);
      },
    };
    for (const l of labels) {
      if (l.kind === 'stale_feed') {
        const until = l.detail.untilTs as number;
        const during = ticks.filter(
          (t) => t?.symbol === l.symbol && (t.ts as number) >= l.ts && (t.ts as number) < until,
        );
        expect(during).toEqual([]);
        expect(until - l.ts).toBe(l.detail.durationUs);
        continue;
      }
      const index = l.detail.index as number;
      expect(l.ts).toBe(ticks[index]?.ts ?? l.ts);
      check[l.kind]?.(l, ticks[index], index);
    }
    expect(new Set(labels.filter((l) => l.kind === 'malformed').map((l) => l.detail.variant))).toEqual(
      new Set(['invalid_json', 'nan_price', 'negative_price', 'missing_fields', 'empty_symbol', 'oversized']),
    );
  });

  it('ticks only inside trading hours, Monday to Friday, when trading hours are on', async () => {
    // Friday 15:00 EST to Monday 10:00 EDT (DST starts on Sunday 10 March 2024).
    const start = '2024-03-08T20:00:00Z';
    const durationSec = (Date.parse('2024-03-11T14:00:00Z') - Date.parse(start)) / 1000;
    const { values } = await run({ seed: 2, symbols: 5, ratePerSymbol: 0.5, start, durationSec });
    const ts = values.map((v) => (JSON.parse(v) as { ts: number }).ts);
    const inFriday = (t: number) =>
      t >= Date.parse('2024-03-08T20:00:00Z') * 1000 && t < Date.parse('2024-03-08T21:00:00Z') * 1000;
    const inMonday = (t: number) =>
      t >= Date.parse('2024-03-11T13:30:00Z') * 1000 && t < Date.parse('2024-03-11T14:00:00Z') * 1000;
    expect(ts.filter((t) => !inFriday(t) && !inMonday(t))).toEqual([]);
    expect(ts.filter(inFriday).length).toBeGreaterThan(1000);
    expect(ts.filter(inMonday).length).toBeGreaterThan(500);
    // Off: the same window has ticks on the weekend too.
    const open = await run({ seed: 2, symbols: 5, ratePerSymbol: 0.01, start, durationSec, tradingHours: false });
    const weekend = open.values.filter((v) => {
      const day = new Date((JSON.parse(v) as { ts: number }).ts / 1000).getUTCDay();
      return day === 0 || day === 6;
    });
    expect(weekend.length).toBeGreaterThan(100);
  });

  it('is busier near the open and the close than at midday', async () => {
    const { values } = await run({ seed: 8, symbols: 5, ratePerSymbol: 0.2, durationSec: 6.5 * 3600 });
    const halfHours = new Array<number>(13).fill(0);
    for (const v of values)
      halfHours[Math.floor(((JSON.parse(v) as { ts: number }).ts - START_US) / 1_800_000_000)]! += 1;
    const [first, mid, last] = [halfHours[0] as number, halfHours[6] as number, halfHours[12] as number];
    expect(first).toBeGreaterThan(2 * mid);
    expect(last).toBeGreaterThan(2 * mid);
    expect(values.length).toBeGreaterThan(20_000);
  });

  it('mixes trades and quotes as configured', async () => {
    const types = async (tradeRatio: number) =>
      (await run({ seed: 9, maxTicks: 4000, tradeRatio })).values.map((v) => (JSON.parse(v) as { type: string }).type);
    const mixed = await types(0.3);
    const share = mixed.filter((t) => t === 'trade').length / mixed.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
    expect(new Set(await types(1))).toEqual(new Set(['trade']));
    expect(new Set(await types(0))).toEqual(new Set(['quote']));
  });

  it('works with 5,000 symbols', async () => {
    const { values, records, src } = await run({ seed: 4, symbols: 5000, maxTicks: 20_000, batchSize: 2000 });
    expect(src.universe).toHaveLength(5000);
    expect(values).toHaveLength(20_000);
    const universe = new Set(src.universe.map((u) => u.symbol));
    const seen = new Set(records.map((r) => r.key));
    expect([...seen].every((s) => universe.has(s))).toBe(true);
    expect(seen.size).toBeGreaterThan(2500);
    expect(seen.has('SYN4900')).toBe(true);
  });

  it('paces by event time: wall time = event-time span / speed', async () => {
    const clock = new FakeClock();
    const start = clock.nowMs;
    const { values } = await run({ seed: 6, maxTicks: 400, speed: 50, batchSize: 100 }, clock);
    const ts = values.map((v) => (JSON.parse(v) as { ts: number }).ts);
    const spanMs = ((ts.at(-1) as number) - (ts[0] as number)) / 1000;
    expect(spanMs).toBeGreaterThan(500);
    // Waits under 1 ms are not slept, so the clock may trail the due time by less than 1 ms.
    expect(clock.nowMs - start).toBeGreaterThan(spanMs / 50 - 1);
    expect(clock.nowMs - start).toBeLessThanOrEqual(spanMs / 50);
  });

  it("with start 'now', keeps event time on the wall clock however late the first batch is pulled", async () => {
    const clock = new FakeClock();
    const wallAtCreate = 1_800_000_000_000;
    const src = createSyntheticSource(
      { seed: 6, symbols: 5, start: 'now', tradingHours: false, maxTicks: 200, speed: 1 },
      { clock, nowMs: () => wallAtCreate },
    );
    clock.nowMs += 2_000; // time between creating the source and pulling its first batch
    const pulled = clock.nowMs;
    let lagMs = 0;
    for await (const batch of src.batches(new AbortController().signal)) {
      const lastTs = (JSON.parse(String(batch.at(-1)!.value)) as { ts: number }).ts / 1000;
      // Wall time now, on the creation clock, against the event time of the newest record released.
      lagMs = Math.max(lagMs, wallAtCreate + (clock.nowMs - (pulled - 2_000)) - lastTs);
    }
    await src.close();
    // Released when due by event time = wall time, not 2 s behind it.
    expect(lagMs).toBeLessThan(1_000);
  });

  it('shortens the overnight pause to maxPauseMs when paced', async () => {
    const clock = new FakeClock();
    const start = clock.nowMs;
    const { values } = await run(
      {
        seed: 6,
        symbols: 2,
        ratePerSymbol: 0.05,
        start: '2024-03-04T20:59:00Z',
        maxTicks: 30,
        speed: 1,
        maxPauseMs: 500,
      },
      clock,
    );
    const days = new Set(values.map((v) => new Date((JSON.parse(v) as { ts: number }).ts / 1000).getUTCDate()));
    expect(days).toEqual(new Set([4, 5]));
    expect(clock.sleeps).toContain(500);
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(500);
    expect(clock.nowMs - start).toBeLessThan(30 * 500);
  });

  it('stops at durationSec of event time', async () => {
    const { values } = await run({ seed: 1, durationSec: 10 });
    const ts = values.map((v) => (JSON.parse(v) as { ts: number }).ts);
    expect(Math.max(...ts)).toBeLessThan(START_US + 10_000_000);
    expect(ts.length).toBeGreaterThan(500);
  });

  it("defaults the start to today's 09:30 New York open and accepts 'now'", () => {
    const nowMs = Date.parse('2024-07-09T02:00:00Z'); // 8 July in New York
    expect(createSyntheticSource({}, { nowMs: () => nowMs }).startUs).toBe(Date.parse('2024-07-08T13:30:00Z') * 1000);
    expect(createSyntheticSource({ start: 'now' }, { nowMs: () => nowMs }).startUs).toBe(nowMs * 1000);
    expect(createSyntheticSource({ start: START_US }).startUs).toBe(START_US);
  });

  it('stops when closed', async () => {
    const src = createSyntheticSource({ seed: 1, speed: 0, start: MONDAY_OPEN, batchSize: 10 });
    let batches = 0;
    for await (const _ of src.batches(new AbortController().signal)) {
      batches++;
      await src.close();
    }
    expect(batches).toBe(1);
  });

  it('rejects bad options with CONFIG_INVALID', () => {
    const bad: SyntheticOptionsInput[] = [
      { anomalies: { late: { count: 3 } } },
      { anomalies: { malformed: { rate: 0.6 }, duplicate: { rate: 0.6 } } },
      { market: { garchAlpha: 0.5, garchBeta: 0.5 } },
      { symbols: 0 },
      { start: 'yesterday' as never },
      { source: 'bad:name' },
      { unknown: 1 } as never,
    ];
    for (const input of bad) {
      let err: unknown;
      try {
        createSyntheticSource(input);
      } catch (e) {
        err = e;
      }
      expect(isTickLakeError(err, 'CONFIG_INVALID'), JSON.stringify(input)).toBe(true);
    }
  });
});

describe('tick ids across runs', () => {
  const ids = async (start: string) =>
    new Set(
      (await run({ seed: 3, symbols: 5, maxTicks: 2_000, start, referenceFile: null })).values.map(
        (v) => (JSON.parse(v) as { id: string }).id,
      ),
    );

  it('two runs started minutes apart share no tick id (a restarted live market is not a replay of the last one)', async () => {
    const first = await ids('2024-03-04T14:30:00Z');
    const second = await ids('2024-03-04T14:37:00Z');
    expect(first.size).toBe(2_000);
    expect([...second].filter((id) => first.has(id))).toEqual([]);
  });

  it('the same start gives the same ids (one run, replayed)', async () => {
    expect([...(await ids(MONDAY_OPEN))]).toEqual([...(await ids(MONDAY_OPEN))]);
  });
});
