/**
 * A small, fast, seedable PRNG (xoshiro128**, seeded through splitmix32) for the synthetic market, shuffled test
 * inputs and anything else that must be reproducible from a seed. Not for cryptography.
 *
 * Determinism contract: the same seed gives the same sequence on every platform (only 32-bit integer ops and
 * IEEE-754 doubles), and `fork(label)` depends only on this generator's seed and the label — not on how many
 * numbers were drawn before — so adding a draw in one place never shifts another component's stream.
 */

const TWO_POW_32 = 4294967296;

function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/** FNV-1a over UTF-16 code units: enough to turn a fork label into 32 well-spread bits. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** Folds any finite number (including seeds above 2^32 and fractions) into 32 bits. */
function seedBits(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const int = Math.trunc(seed);
  const lo = int >>> 0;
  const hi = Math.floor(int / TWO_POW_32) >>> 0;
  const frac = Math.floor((seed - int) * TWO_POW_32) >>> 0;
  return (lo ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(frac, 0x85ebca77)) >>> 0;
}

/** ln(k!) exactly for small k, Stirling series beyond (error < 1e-12 for k >= 10). */
function logFactorial(k: number): number {
  if (k < 10) {
    let f = 1;
    for (let i = 2; i <= k; i++) f *= i;
    return Math.log(f);
  }
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x * x);
}

export interface SeededRandomState {
  seed: number;
  s: readonly [number, number, number, number];
  spareNormal: number | null;
}

export class SeededRandom {
  readonly seed: number;
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.seed = seed;
    let st = seedBits(seed);
    let out: number;
    [st, out] = splitmix32(st);
    this.s0 = out | 0;
    [st, out] = splitmix32(st);
    this.s1 = out | 0;
    [st, out] = splitmix32(st);
    this.s2 = out | 0;
    [, out] = splitmix32(st);
    this.s3 = out | 0;
    // xoshiro's only bad state is all zeros; splitmix32 cannot produce four zeros in a row, but be explicit.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The generator's position, e.g. to resume a synthetic feed from a checkpoint. */
  state(): SeededRandomState {
    return {
      seed: this.seed,
      s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spareNormal: this.spareNormal,
    };
  }

  static fromState(state: SeededRandomState): SeededRandom {
    const r = new SeededRandom(state.seed);
    [r.s0, r.s1, r.s2, r.s3] = state.s.map((x) => x | 0) as [number, number, number, number];
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) throw new RangeError('xoshiro128** state must not be all zeros');
    r.spareNormal = state.spareNormal;
    return r;
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Gaussian via Box–Muller; the second value of each pair is kept for the next call. */
  normal(mean = 0, sd = 1): number {
    let z: number;
    if (this.spareNormal !== null) {
      z = this.spareNormal;
      this.spareNormal = null;
    } else {
      const u1 = 1 - this.uniform(); // (0, 1]: log(0) would be -Infinity
      const u2 = this.uniform();
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      z = r * Math.cos(theta);
      this.spareNormal = r * Math.sin(theta);
    }
    return mean + sd * z;
  }

  /** Exponential with the given rate (mean 1 / rate), e.g. inter-arrival times of a Poisson process. */
  exponential(rate: number): number {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be positive and finite, got ${rate}`);
    return -Math.log(1 - this.uniform()) / rate;
  }

  /**
   * Poisson-distributed count. Multiplication method for small lambda; Hörmann's PTRS (transformed rejection)
   * for lambda >= 30, where the multiplication method would need ~lambda uniforms per draw.
   */
  poisson(lambda: number): number {
    if (!(lambda >= 0) || !Number.isFinite(lambda)) {
      throw new RangeError(`lambda must be non-negative and finite, got ${lambda}`);
    }
    if (lambda === 0) return 0;
    if (lambda < 30) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.uniform();
      while (p > limit) {
        k++;
        p *= this.uniform();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      const lhs = Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b);
      if (lhs <= -lambda + k * loglam - logFactorial(k)) return k;
    }
  }

  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0 || maxExclusive > TWO_POW_32) {
      throw new RangeError(`maxExclusive must be an integer in 1..2^32, got ${maxExclusive}`);
    }
    return Math.floor(this.uniform() * maxExclusive);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty array');
    return items[this.int(items.length)] as T;
  }

  /** Fisher–Yates, in place; returns the same array for chaining. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** An independent stream named by `label`, derived from this generator's seed only (not its position). */
  fork(label: string): SeededRandom {
    const mixed = (seedBits(this.seed) ^ Math.imul(hashLabel(label), 0x27d4eb2f)) >>> 0;
    const [, out] = splitmix32(mixed ^ 0x5bd1e995);
    return new SeededRandom(out);
  }
}
