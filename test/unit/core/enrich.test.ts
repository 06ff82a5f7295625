import { describe, expect, it } from 'vitest';
import { Enricher } from '../../../core/enrich.ts';
import { enrichedTickSchema } from '../../../core/schemas/enriched.ts';
import type { ReferenceSymbol } from '../../../core/schemas/reference.ts';
import type { Tick } from '../../../core/schemas/tick.ts';
import { SeededRandom } from '../../../core/seeded-random.ts';
import { SEC, T0, quote, trade } from './fixtures.ts';

const AAPL: ReferenceSymbol = {
  symbol: 'AAPL',
  name: 'Apple Inc.',
  sector: 'Information Technology',
  exchange: 'NASDAQ',
  currency: 'USD',
  beta: 1.2,
};
const DAY = 24 * 3600 * SEC;
const PROCESSED = T0 + 99;

describe('Enricher', () => {
  it('computes mid, spread, returns, session VWAP and EWMA volatility (hand-computed values)', () => {
    const e = new Enricher();
    const q = e.enrich(quote('AAPL', 1, T0, 100.0, 100.1), AAPL, PROCESSED);
    expect(q.mid).toBeCloseTo(100.05, 12);
    expect(q.spreadBps).toBeCloseTo(9.995002498750056, 10);
    expect(q).toMatchObject({ logReturn: null, sessionVwap: null, ewmaVol: null });

    const t1 = e.enrich(trade('AAPL', 2, T0 + SEC, 100, 10), AAPL, PROCESSED);
    expect(t1).toMatchObject({ mid: q.mid, spreadBps: q.spreadBps, logReturn: null, sessionVwap: 100, ewmaVol: null });

    const t2 = e.enrich(trade('AAPL', 3, T0 + 2 * SEC, 101, 30), AAPL, PROCESSED);
    expect(t2.logReturn).toBeCloseTo(0.009950330853168092, 15); // ln(101/100)
    expect(t2.sessionVwap).toBeCloseTo(100.75, 12); // (100·10 + 101·30) / 40
    expect(t2.ewmaVol).toBeCloseTo(0.009950330853168092, 15); // seeded with the first squared return

    const t3 = e.enrich(trade('AAPL', 4, T0 + 3 * SEC, 99, 60), AAPL, PROCESSED);
    expect(t3.logReturn).toBeCloseTo(-0.020000666706669543, 15); // ln(99/101)
    expect(t3.sessionVwap).toBeCloseTo(99.7, 12); // (1000 + 3030 + 5940) / 100
    expect(t3.ewmaVol).toBeCloseTo(0.010819895524677449, 15); // sqrt(0.94·r2² + 0.06·r3²)
  });

  it('honours a configured lambda', () => {
    const e = new Enricher({ lambda: 0.5 });
    e.enrich(trade('AAPL', 1, T0, 100, 1), null, PROCESSED);
    e.enrich(trade('AAPL', 2, T0 + 1, 101, 1), null, PROCESSED);
    expect(e.enrich(trade('AAPL', 3, T0 + 2, 99, 1), null, PROCESSED).ewmaVol).toBeCloseTo(0.015796134856330968, 15);
    expect(() => new Enricher({ lambda: 1 })).toThrow();
  });

  it('copies reference fields, or nulls without a symbol master entry', () => {
    const e = new Enricher();
    const withRef = e.enrich(trade('AAPL', 1, T0, 100, 1), AAPL, PROCESSED);
    expect(withRef).toMatchObject({
      name: 'Apple Inc.',
      sector: 'Information Technology',
      currency: 'USD',
      listingExchange: 'NASDAQ',
      ev: 1,
      processedTs: PROCESSED,
    });
    const without = e.enrich(trade('ZZZ', 1, T0, 5, 1), undefined, PROCESSED);
    expect(without).toMatchObject({ name: null, sector: null, currency: null, listingExchange: null, mid: null });
    expect(enrichedTickSchema.safeParse(withRef).success).toBe(true);
    expect(enrichedTickSchema.safeParse(without).success).toBe(true);
  });

  it('keeps state per symbol', () => {
    const e = new Enricher();
    e.enrich(quote('AAPL', 1, T0, 10, 12), null, PROCESSED);
    e.enrich(trade('AAPL', 2, T0, 100, 1), null, PROCESSED);
    const msft = e.enrich(trade('MSFT', 1, T0 + 1, 400, 1), null, PROCESSED);
    expect(msft).toMatchObject({ mid: null, spreadBps: null, logReturn: null, sessionVwap: 400 });
  });

  it('resets the session VWAP at the UTC day change and ignores stragglers from the previous day', () => {
    const e = new Enricher();
    e.enrich(trade('AAPL', 1, T0 + DAY - 2, 100, 10), null, PROCESSED);
    const next = e.enrich(trade('AAPL', 2, T0 + DAY, 110, 1), null, PROCESSED);
    expect(next.sessionVwap).toBe(110);
    expect(next.logReturn).toBeCloseTo(Math.log(1.1), 15); // returns run across days
    const straggler = e.enrich(trade('AAPL', 3, T0 + DAY - 1, 90, 5), null, PROCESSED);
    expect(straggler.sessionVwap).toBeNull();
    expect(e.enrich(trade('AAPL', 4, T0 + DAY + 1, 120, 1), null, PROCESSED).sessionVwap).toBe(115);
  });

  it('gives quotes the current session VWAP and last volatility', () => {
    const e = new Enricher();
    e.enrich(trade('AAPL', 1, T0, 100, 1), null, PROCESSED);
    const t = e.enrich(trade('AAPL', 2, T0 + 1, 102, 1), null, PROCESSED);
    const q = e.enrich(quote('AAPL', 3, T0 + 2, 101, 101.02), null, PROCESSED);
    expect(q).toMatchObject({ sessionVwap: 101, ewmaVol: t.ewmaVol, logReturn: null });
    expect(e.enrich(quote('AAPL', 4, T0 + DAY, 101, 101.02), null, PROCESSED).sessionVwap).toBeNull();
  });

  it('continues identically after snapshot -> JSON -> restore mid-stream', () => {
    const rng = new SeededRandom(5);
    const syms = ['AAPL', 'MSFT', 'SPY'];
    const price = new Map(syms.map((s) => [s, 100]));
    const ticks: Tick[] = [];
    for (let i = 0; i < 600; i++) {
      const s = rng.pick(syms);
      const p = (price.get(s) as number) * Math.exp(rng.normal(0, 0.001));
      price.set(s, p);
      const ts = T0 + DAY - 300 * SEC + i * SEC; // crosses midnight
      ticks.push(rng.uniform() < 0.5 ? trade(s, i, ts, p, 1 + rng.int(100)) : quote(s, i, ts, p - 0.01, p + 0.01));
    }
    const whole = new Enricher({ lambda: 0.9 });
    const expected = ticks.map((t) => whole.enrich(t, null, PROCESSED));
    for (const cut of [1, 299, 450]) {
      let e = new Enricher({ lambda: 0.9 });
      const got = ticks.map((t, i) => {
        if (i === cut) e = Enricher.restore(JSON.parse(JSON.stringify(e.snapshot())));
        return e.enrich(t, null, PROCESSED);
      });
      expect(got).toStrictEqual(expected);
    }
    expect(() => Enricher.restore({ v: 2 })).toThrow();
  });
});
