import { describe, expect, it } from 'vitest';
import { addExact, addProduct, roundedSum } from '../../../core/exact-sum.ts';
import type { ExactSum } from '../../../core/exact-sum.ts';
import { SeededRandom } from '../../../core/seeded-random.ts';

// Every double these tests produce (prices, sizes, their products and the error terms) is an integer once
// scaled by 2^200, so BigInt gives the exact reference.
function exact(x: number): bigint {
  return BigInt(x * 2 ** 100) * 2n ** 100n;
}
function exactProduct(a: number, b: number): bigint {
  return BigInt(a * 2 ** 100) * BigInt(b * 2 ** 100);
}
function total(partials: ExactSum): bigint {
  return partials.reduce((acc, p) => acc + exact(p), 0n);
}

describe('exact sums', () => {
  it('keeps the exact total where naive summation loses it', () => {
    const p: ExactSum = [];
    for (const x of [1e16, 1, -1e16, 0.1, 0.2]) addExact(p, x);
    expect(total(p)).toBe(exact(1) + exact(0.1) + exact(0.2));
    expect(roundedSum(p)).toBe(1.3);
    expect(1e16 + 1 - 1e16 + 0.1 + 0.2).not.toBe(1.3);
    expect(roundedSum([])).toBe(0);
  });

  it('adds products exactly (not the rounded product)', () => {
    const rng = new SeededRandom(8);
    for (let i = 0; i < 500; i++) {
      const a = Math.round((1 + rng.uniform() * 500) * 1e4) / 1e4;
      const b = 1 + rng.int(2000) + (rng.uniform() < 0.3 ? rng.uniform() : 0);
      const p: ExactSum = [];
      addProduct(p, a, b);
      expect(total(p)).toBe(exactProduct(a, b));
    }
  });

  it('gives a bit-identical rounded total in any order', () => {
    const rng = new SeededRandom(9);
    const values = Array.from({ length: 300 }, () => (100 + rng.uniform() * 50) * (1 + rng.int(900)));
    const reference: ExactSum = [];
    for (const v of values) addExact(reference, v);
    const expected = roundedSum(reference);
    const naive = new Set<number>();
    for (let k = 0; k < 20; k++) {
      const order = rng.shuffle([...values]);
      const p: ExactSum = [];
      for (const v of order) addExact(p, v);
      expect(roundedSum(p)).toBe(expected);
      expect(total(p)).toBe(total(reference));
      naive.add(order.reduce((a, b) => a + b, 0));
    }
    expect(naive.size).toBeGreaterThan(1); // the naive sum does depend on order for this data
  });

  it('rounds half-way totals to even, looking past the first partials', () => {
    // 2^53 + 1 is exactly half-way between two doubles; a tiny extra term decides the rounding.
    const up: ExactSum = [];
    for (const x of [2 ** 53, 1, 2 ** -20]) addExact(up, x);
    expect(roundedSum(up)).toBe(2 ** 53 + 2);
    const down: ExactSum = [];
    for (const x of [2 ** 53, 1, -(2 ** -20)]) addExact(down, x);
    expect(roundedSum(down)).toBe(2 ** 53);
  });
});
