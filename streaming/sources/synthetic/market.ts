import type { ReferenceSymbol } from '../../../core/schemas/reference.ts';
import type { SeededRandom } from '../../../core/seeded-random.ts';
import type { MarketParams } from './options.ts';

/**
 * The price model (pure, seeded, allocation-free per tick apart from its results). Time is in seconds of event time;
 * annual parameters are scaled by TRADING_SECONDS_PER_YEAR.
 *
 *   index:   d ln I = (μ − σ_M²/2) dt + σ_M dW                       (GBM, advanced at every event)
 *   symbol:  Δ ln P_i = β_i Δ ln I  − h_i Δt/2 + √(h_i Δt)·z  + J     (updated when the symbol ticks, Δt since its last tick)
 *   GARCH:   h_i ← (1 − α − β)·h̄_i + α·h_i·z² + β·h_i                 (per symbol tick; ×3 after a jump, capped at 25 h̄_i)
 *   jumps:   J ≠ 0 with probability 1 − exp(−λ Δt), J ~ N(0, σ_J) clipped to ±3σ_J
 *   spread:  s_i = spreadBps_i · clamp(√(h_i / h̄_i), 0.5, 8), bid/ask = mid ∓ s/2 rounded outwards to $0.01
 *
 * h_i is the idiosyncratic variance per second; h̄_i = σ_i² / TRADING_SECONDS_PER_YEAR its long-run level.
 */
export const TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600;
const SESSION_SECONDS = 6.5 * 3600;
const TICK = 0.01;
/** Natural trades stay at or below this; volume-spike anomalies start above it. */
export const MAX_NATURAL_TRADE_SHARES = 50_000;
/** Activity weight of the k-th symbol ∝ 1 / k^ZIPF: the first symbols of the universe are the busiest. */
const ZIPF = 0.6;

export interface Quote {
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
}

/** Walker's alias table: O(1) weighted choice with one uniform. */
class AliasTable {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: readonly number[]) {
    const n = weights.length;
    const total = weights.reduce((a, b) => a + b, 0);
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = weights.map((w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop() as number;
      const l = large.pop() as number;
      this.prob[s] = scaled[s] as number;
      this.alias[s] = l;
      scaled[l] = (scaled[l] as number) + (scaled[s] as number) - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    for (const i of [...small, ...large]) this.prob[i] = 1;
  }

  pick(u: number): number {
    const x = u * this.prob.length;
    const i = Math.floor(x);
    return x - i < (this.prob[i] as number) ? i : (this.alias[i] as number);
  }
}

export class MarketModel {
  readonly size: number;
  private readonly beta: Float64Array;
  private readonly logPrice: Float64Array;
  private readonly lastLogIndex: Float64Array;
  private readonly lastUpdateUs: Float64Array;
  private readonly h: Float64Array;
  private readonly hBar: Float64Array;
  private readonly spreadBps: Float64Array;
  private readonly picker: AliasTable;
  private logIndex = 0;
  private indexUs: number;
  private readonly indexMuDt: number;
  private readonly indexSdDt: number;
  private readonly jumpRatePerSec: number;
  private readonly jumpSd: number;
  /** The last touch() result in whole cents (scratch fields: no allocation per tick). */
  private bidC = 0;
  private askC = 0;

  constructor(
    universe: readonly ReferenceSymbol[],
    private readonly params: MarketParams,
    private readonly rng: SeededRandom,
    startUs: number,
    setupRng: SeededRandom,
  ) {
    const n = universe.length;
    this.size = n;
    this.beta = Float64Array.from(universe, (r) => r.beta);
    this.logPrice = new Float64Array(n);
    this.lastLogIndex = new Float64Array(n);
    this.lastUpdateUs = new Float64Array(n).fill(startUs);
    this.h = new Float64Array(n);
    this.hBar = new Float64Array(n);
    this.spreadBps = new Float64Array(n);
    const weights: number[] = [];
    for (let i = 0; i < n; i++) {
      // Base prices lognormal around $60 within [$5, $1500]; vols and spreads lognormal around their medians.
      this.logPrice[i] = Math.log(Math.min(1500, Math.max(5, Math.exp(setupRng.normal(Math.log(60), 0.9)))));
      const vol = params.idioVol * Math.exp(setupRng.normal(0, 0.35));
      this.hBar[i] = (vol * vol) / TRADING_SECONDS_PER_YEAR;
      this.h[i] = this.hBar[i] as number;
      this.spreadBps[i] = Math.min(40, Math.max(1, params.spreadBps * Math.exp(setupRng.normal(0, 0.5))));
      weights.push(1 / Math.pow(i + 1, ZIPF));
    }
    this.picker = new AliasTable(weights);
    this.indexUs = startUs;
    this.indexMuDt = (params.indexDrift - (params.indexVol * params.indexVol) / 2) / TRADING_SECONDS_PER_YEAR;
    this.indexSdDt = params.indexVol / Math.sqrt(TRADING_SECONDS_PER_YEAR);
    this.jumpRatePerSec = params.jumpsPerDay / SESSION_SECONDS;
    this.jumpSd = params.jumpSdPct / 100;
  }

  /** Market index level (starts at 1000). */
  index(): number {
    return 1000 * Math.exp(this.logIndex);
  }

  /**
   * Moves the index to `tUs`. Closed market hours are skipped by the caller moving `reset` to the new open: there
   * is no overnight move.
   */
  advanceIndex(tUs: number, reset = false): void {
    const dt = (tUs - this.indexUs) / 1e6;
    this.indexUs = tUs;
    if (reset || dt <= 0) return;
    this.logIndex += this.indexMuDt * dt + this.indexSdDt * Math.sqrt(dt) * this.rng.normal();
  }

  pickSymbol(): number {
    return this.picker.pick(this.rng.uniform());
  }

  /** Brings symbol i to the index's current time; called when the symbol ticks. */
  updateSymbol(i: number): void {
    const dt = (this.indexUs - (this.lastUpdateUs[i] as number)) / 1e6;
    const dIndex = this.logIndex - (this.lastLogIndex[i] as number);
    this.lastLogIndex[i] = this.logIndex;
    this.lastUpdateUs[i] = this.indexUs;
    let lp = (this.logPrice[i] as number) + (this.beta[i] as number) * dIndex;
    if (dt > 0) {
      const h = this.h[i] as number;
      const hBar = this.hBar[i] as number;
      const z = this.rng.normal();
      lp += -0.5 * h * dt + Math.sqrt(h * dt) * z;
      const p = this.params;
      let hNext = (1 - p.garchAlpha - p.garchBeta) * hBar + p.garchAlpha * h * z * z + p.garchBeta * h;
      if (this.jumpRatePerSec > 0 && this.rng.uniform() < 1 - Math.exp(-this.jumpRatePerSec * dt)) {
        const j = this.rng.normal(0, this.jumpSd);
        lp += Math.max(-3 * this.jumpSd, Math.min(3 * this.jumpSd, j));
        hNext *= 3;
      }
      this.h[i] = Math.min(hNext, 25 * hBar);
    }
    this.logPrice[i] = lp;
  }

  mid(i: number): number {
    return Math.max(TICK, Math.exp(this.logPrice[i] as number));
  }

  /** Multiplies the symbol's price level (a labelled price jump); the path continues from the new level. */
  shiftPrice(i: number, factor: number): void {
    this.logPrice[i] = (this.logPrice[i] as number) + Math.log(factor);
  }

  /** Current quoted spread in bps of the mid. */
  currentSpreadBps(i: number): number {
    const ratio = Math.sqrt((this.h[i] as number) / (this.hBar[i] as number));
    return (this.spreadBps[i] as number) * Math.min(8, Math.max(0.5, ratio));
  }

  /** A quote around the mid; `widen` multiplies the spread (spread-blowout anomalies). */
  quote(i: number, widen = 1): Quote {
    this.touch(i, widen);
    return { bid: this.bidC / 100, ask: this.askC / 100, bidSize: this.lotSize(100), askSize: this.lotSize(100) };
  }

  /** A trade at the touch (80 %) or at the rounded mid, with a round-lot-heavy, Pareto-tailed size. */
  trade(i: number): { price: number; size: number } {
    this.touch(i, 1);
    const u = this.rng.uniform();
    const midC = Math.min(this.askC, Math.max(this.bidC, Math.round(this.mid(i) * 100)));
    const cents = u < 0.4 ? this.bidC : u < 0.8 ? this.askC : midC;
    return { price: cents / 100, size: this.tradeSize() };
  }

  /**
   * Sets bidC/askC: mid ∓ half-spread rounded outwards to whole cents, at least one cent wide. Prices are built as
   * integer cents / 100, so they serialise as the shortest decimal (179.5, not 179.49999999999997).
   */
  private touch(i: number, widen: number): void {
    const mid = this.mid(i);
    const half = (0.5 * mid * this.currentSpreadBps(i) * widen) / 10_000;
    this.bidC = Math.max(1, Math.floor((mid - half) * 100 + 1e-9));
    this.askC = Math.max(this.bidC + 1, Math.ceil((mid + half) * 100 - 1e-9));
  }

  /** 20 % odd lots (1–99 shares), else 100 × Pareto(α = 1.5) lots, at most MAX_NATURAL_TRADE_SHARES. */
  private tradeSize(): number {
    if (this.rng.uniform() < 0.2) return 1 + Math.floor(this.rng.uniform() * 99);
    return 100 * this.paretoLots(1.5, MAX_NATURAL_TRADE_SHARES / 100);
  }

  private lotSize(maxLots: number): number {
    return 100 * this.paretoLots(1.2, maxLots);
  }

  private paretoLots(alpha: number, maxLots: number): number {
    const lots = Math.floor(Math.pow(1 - this.rng.uniform(), -1 / alpha));
    return Math.min(maxLots, Math.max(1, lots));
  }
}
