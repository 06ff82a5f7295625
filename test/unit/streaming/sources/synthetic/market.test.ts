import { describe, expect, it } from 'vitest';
import type { ReferenceSymbol } from '../../../../../core/schemas/reference.ts';
import { SeededRandom } from '../../../../../core/seeded-random.ts';
import { MAX_NATURAL_TRADE_SHARES, MarketModel } from '../../../../../streaming/sources/synthetic/market.ts';
import { marketParamsSchema } from '../../../../../streaming/sources/synthetic/options.ts';

const T0 = 1_709_562_600_000_000;

function instrument(symbol: string, beta: number): ReferenceSymbol {
  return { symbol, name: symbol, sector: 'Test', exchange: 'TEST', currency: 'USD', beta };
}

function model(betas: number[], params: Record<string, number> = {}, seed = 1): MarketModel {
  const rng = new SeededRandom(seed);
  return new MarketModel(
    betas.map((b, i) => instrument(`S${i}`, b)),
    marketParamsSchema.parse(params),
    rng.fork('market'),
    T0,
    rng.fork('setup'),
  );
}

function corr(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, k) => {
    const y = ys[k] as number;
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

describe('MarketModel', () => {
  it('moves each symbol with its beta to the index', () => {
    // Tiny idiosyncratic noise: a symbol's log return is then ≈ beta × the index's log return.
    const m = model([0, 1, 2], { idioVol: 0.001, indexVol: 0.3, jumpsPerDay: 0 });
    const slopes = [0, 1, 2].map(() => ({ sxy: 0, sxx: 0 }));
    let prevIndex = Math.log(m.index());
    const prev = [0, 1, 2].map((i) => Math.log(m.mid(i)));
    for (let k = 1; k <= 2000; k++) {
      m.advanceIndex(T0 + k * 10_000_000);
      const idx = Math.log(m.index());
      for (let i = 0; i < 3; i++) {
        m.updateSymbol(i);
        const r = Math.log(m.mid(i)) - (prev[i] as number);
        prev[i] = Math.log(m.mid(i));
        const s = slopes[i] as { sxy: number; sxx: number };
        s.sxy += r * (idx - prevIndex);
        s.sxx += (idx - prevIndex) ** 2;
      }
      prevIndex = idx;
    }
    const beta = slopes.map((s) => s.sxy / s.sxx);
    expect(beta[0]).toBeCloseTo(0, 1);
    expect(beta[1]).toBeCloseTo(1, 1);
    expect(beta[2]).toBeCloseTo(2, 1);
  });

  it('clusters volatility and widens the spread when volatility is high', () => {
    // Strong GARCH, no index: realised volatility per window should track the quoted spread, and persist.
    const m = model([1], { indexVol: 0, garchAlpha: 0.2, garchBeta: 0.78, jumpsPerDay: 0 });
    const window = 25;
    const vols: number[] = [];
    const spreads: number[] = [];
    let prev = Math.log(m.mid(0));
    let sq = 0;
    let spread = 0;
    for (let k = 1; k <= window * 800; k++) {
      m.advanceIndex(T0 + k * 200_000);
      m.updateSymbol(0);
      const lp = Math.log(m.mid(0));
      sq += (lp - prev) ** 2;
      prev = lp;
      spread += m.currentSpreadBps(0);
      if (k % window === 0) {
        vols.push(Math.sqrt(sq));
        spreads.push(spread / window);
        sq = 0;
        spread = 0;
      }
    }
    expect(corr(vols, spreads)).toBeGreaterThan(0.5);
    // Clustering: a window's volatility predicts the next one's (i.i.d. volatility would give ≈ 0).
    expect(corr(vols.slice(0, -1), vols.slice(1))).toBeGreaterThan(0.3);
    // Without GARCH there is nothing to predict.
    const flat = model([1], { indexVol: 0, garchAlpha: 0, garchBeta: 0, jumpsPerDay: 0 });
    const flatVols: number[] = [];
    prev = Math.log(flat.mid(0));
    for (let k = 1; k <= window * 800; k++) {
      flat.advanceIndex(T0 + k * 200_000);
      flat.updateSymbol(0);
      const lp = Math.log(flat.mid(0));
      sq += (lp - prev) ** 2;
      prev = lp;
      if (k % window === 0) {
        flatVols.push(Math.sqrt(sq));
        sq = 0;
      }
    }
    expect(Math.abs(corr(flatVols.slice(0, -1), flatVols.slice(1)))).toBeLessThan(0.15);
  });

  it('quotes on the cent grid, at least a cent wide, and trades inside the quote in mostly round lots', () => {
    const m = model([1, 1, 1, 1, 1], {}, 4);
    const sizes: number[] = [];
    const problems: string[] = [];
    const onGrid = (p: number) => Math.round(p * 100) / 100 === p;
    for (let k = 1; k <= 4000; k++) {
      const i = k % 5;
      m.advanceIndex(T0 + k * 100_000);
      m.updateSymbol(i);
      const q = m.quote(i);
      if (!onGrid(q.bid) || !onGrid(q.ask) || q.ask - q.bid < 0.0099 || q.bid <= 0) problems.push(JSON.stringify(q));
      const t = m.trade(i);
      if (!onGrid(t.price) || t.price < q.bid || t.price > q.ask) problems.push(JSON.stringify({ q, t }));
      sizes.push(t.size);
    }
    expect(problems).toEqual([]);
    const roundLots = sizes.filter((s) => s % 100 === 0).length / sizes.length;
    expect(roundLots).toBeGreaterThan(0.7);
    expect(roundLots).toBeLessThan(0.9);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_NATURAL_TRADE_SHARES);
    // Heavy tail: some trades are 10+ lots although the median is one lot.
    const sorted = [...sizes].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThanOrEqual(200);
    expect(sizes.filter((s) => s >= 1000).length).toBeGreaterThan(20);
  });

  it('picks the first symbols of the universe more often than the last', () => {
    const m = model(Array.from({ length: 50 }, () => 1));
    const counts = new Array<number>(50).fill(0);
    for (let k = 0; k < 50_000; k++) counts[m.pickSymbol()]! += 1;
    expect(counts[0]).toBeGreaterThan(5 * (counts[49] as number));
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('shifts the price level on a labelled jump and keeps it', () => {
    const m = model([1], { jumpsPerDay: 0 });
    const before = m.mid(0);
    m.shiftPrice(0, 1.1);
    expect(m.mid(0) / before).toBeCloseTo(1.1, 10);
  });
});
