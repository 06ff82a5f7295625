import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../core/seeded-random.ts';

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function variance(xs: number[]): number {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) * (b - m), 0) / xs.length;
}

function draw<T>(n: number, f: () => T): T[] {
  return Array.from({ length: n }, f);
}

describe('SeededRandom', () => {
  it('implements xoshiro128** (reference vector for state 1, 2, 3, 4)', () => {
    const r = SeededRandom.fromState({ seed: 0, s: [1, 2, 3, 4], spareNormal: null });
    expect(draw(6, () => r.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('pins the sequence of a seed, so synthetic data does not shift silently', () => {
    const r = new SeededRandom(42);
    expect(draw(5, () => r.nextUint32())).toEqual([2837322924, 544945897, 479756282, 3500138142, 339756180]);
    expect(new SeededRandom(7).fork('AAPL').uniform()).toBe(0.025791627820581198);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = draw(20, () => new SeededRandom(123).uniform());
    expect(new Set(a).size).toBe(1);
    const r1 = new SeededRandom(123);
    const r2 = new SeededRandom(123);
    const r3 = new SeededRandom(124);
    const s1 = draw(50, () => r1.uniform());
    expect(draw(50, () => r2.uniform())).toEqual(s1);
    expect(draw(50, () => r3.uniform())).not.toEqual(s1);
    // Seeds beyond 32 bits and fractions still separate streams.
    expect(new SeededRandom(2 ** 40).uniform()).not.toBe(new SeededRandom(0).uniform());
    expect(new SeededRandom(0.5).uniform()).not.toBe(new SeededRandom(0).uniform());
  });

  it('forks by label, independent of how much the parent has drawn', () => {
    const parent = new SeededRandom(9);
    const before = parent.fork('MSFT');
    draw(100, () => parent.uniform());
    const after = parent.fork('MSFT');
    expect(draw(10, () => after.uniform())).toEqual(draw(10, () => before.uniform()));
    expect(parent.fork('MSFT').uniform()).not.toBe(parent.fork('MSFT2').uniform());
    expect(parent.fork('x').uniform()).not.toBe(new SeededRandom(10).fork('x').uniform());
  });

  it('resumes from state() exactly, including a pending normal', () => {
    const r = new SeededRandom(5);
    r.normal();
    const resumed = SeededRandom.fromState(JSON.parse(JSON.stringify(r.state())));
    expect(draw(10, () => resumed.normal())).toEqual(draw(10, () => r.normal()));
  });

  it('keeps uniform() in [0, 1) and int() in range', () => {
    const r = new SeededRandom(1);
    const u = draw(10_000, () => r.uniform());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(mean(u)).toBeCloseTo(0.5, 1);
    const ints = draw(10_000, () => r.int(7));
    expect(new Set(ints)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));
  });

  it('draws from the right distributions (moments within sampling error)', () => {
    const r = new SeededRandom(2);
    const n = draw(20_000, () => r.normal(3, 2));
    expect(mean(n)).toBeCloseTo(3, 1);
    expect(Math.sqrt(variance(n))).toBeCloseTo(2, 1);
    expect(mean(draw(20_000, () => r.exponential(4)))).toBeCloseTo(0.25, 2);
    for (const lambda of [0.3, 5, 29.5, 30, 250]) {
      const p = draw(20_000, () => r.poisson(lambda));
      expect(p.every((k) => Number.isInteger(k) && k >= 0)).toBe(true);
      expect(Math.abs(mean(p) - lambda)).toBeLessThan(4 * Math.sqrt(lambda / p.length) + 1e-9);
      expect(variance(p) / lambda).toBeGreaterThan(0.9);
      expect(variance(p) / lambda).toBeLessThan(1.1);
    }
    expect(r.poisson(0)).toBe(0);
  });

  it('shuffles into a deterministic permutation and picks members', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const a = new SeededRandom(3).shuffle([...items]);
    expect(new SeededRandom(3).shuffle([...items])).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(a).not.toEqual(items);
    const arr = [1, 2, 3];
    expect(new SeededRandom(3).shuffle(arr)).toBe(arr);
    const r = new SeededRandom(4);
    expect(new Set(draw(200, () => r.pick(['a', 'b', 'c'])))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('rejects arguments that have no meaning', () => {
    const r = new SeededRandom(1);
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.int(2.5)).toThrow(RangeError);
    expect(() => r.pick([])).toThrow(RangeError);
    expect(() => r.exponential(0)).toThrow(RangeError);
    expect(() => r.poisson(-1)).toThrow(RangeError);
    expect(() => r.poisson(Number.NaN)).toThrow(RangeError);
    expect(() => new SeededRandom(Number.NaN)).toThrow(RangeError);
  });
});
