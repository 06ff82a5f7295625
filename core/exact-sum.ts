/**
 * Exact sums of doubles, so that aggregates do not depend on the order values arrive in.
 *
 * A sum is kept as "partials": non-overlapping doubles in increasing magnitude whose exact (real-number) total is
 * the exact total of everything added (Shewchuk's expansion arithmetic, the method behind Python's math.fsum).
 * `roundedSum` returns that exact total correctly rounded to the nearest double, and the exact total does not
 * depend on order, so neither does the result: stream and batch bars agree bit for bit.
 *
 * `addProduct` adds a·b exactly (not the rounded product) using Dekker's split, so Σ(price·size) is exact too.
 * Valid while magnitudes stay far from overflow (|x| < 1e300) — prices and sizes are.
 */

export type ExactSum = number[];

/** Adds x to the expansion in place. */
export function addExact(partials: ExactSum, x: number): void {
  let n = 0;
  for (let j = 0; j < partials.length; j++) {
    let y = partials[j] as number;
    if (Math.abs(x) < Math.abs(y)) {
      const t = x;
      x = y;
      y = t;
    }
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) partials[n++] = lo;
    x = hi;
  }
  partials.length = n;
  partials.push(x);
}

const SPLITTER = 134_217_729; // 2^27 + 1

/** Adds the exact product a·b to the expansion in place. */
export function addProduct(partials: ExactSum, a: number, b: number): void {
  const p = a * b;
  let c = SPLITTER * a;
  const aHi = c - (c - a);
  const aLo = a - aHi;
  c = SPLITTER * b;
  const bHi = c - (c - b);
  const bLo = b - bHi;
  const err = aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo;
  addExact(partials, p);
  if (err !== 0) addExact(partials, err);
}

/** The exact total, correctly rounded (round half to even). */
export function roundedSum(partials: ExactSum): number {
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n] as number;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n] as number;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // hi + lo rounded half-even may be wrong when the rest of the partials push lo off the exact halfway point.
  if (n > 0) {
    const next = partials[n - 1] as number;
    if ((lo < 0 && next < 0) || (lo > 0 && next > 0)) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
  }
  return hi;
}
