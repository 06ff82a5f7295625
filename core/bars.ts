import { z } from 'zod';
import { barAccSchema, barOf, compareBars, mergeTrade, newBarAcc, windowStartOf } from './bar-fold.ts';
import type { BarAcc } from './bar-fold.ts';
import { BAR_INTERVAL_US, barKey } from './schemas/bar.ts';
import type { Bar } from './schemas/bar.ts';
import type { Tick, TradeTick } from './schemas/tick.ts';

export * from './bar-fold.ts';

/**
 * Streaming 1-minute bars by event time, with a watermark and allowed lateness.
 *
 *  - watermark = max event time seen − outOfOrdernessUs, never moving back (advanceWatermark() can push it on
 *    when the input is idle);
 *  - a window [start, end) fires (revision 0) once watermark >= end;
 *  - a trade for a fired window while watermark < end + allowedLatenessUs updates it and re-emits it at once with
 *    revision + 1; a trade for a window nobody fired yet but whose end the watermark already passed (no trade
 *    had opened it) fires it at once with revision 0;
 *  - once watermark >= end + allowedLatenessUs the window's state is dropped, and a trade for it is returned as
 *    `late` (kept by the caller, never silently dropped);
 *  - quotes are ignored.
 * A trade is classified against the watermark before its own event time advances it. Windows fired by one
 * watermark move are emitted in (windowStart, symbol) order. Deterministic for a given input order, and
 * snapshot()/restore() at any point continues exactly as an uninterrupted run would.
 */

/** The one set of defaults (config's processor.outOfOrdernessMs / allowedLatenessMs are derived from it). */
export const BAR_DEFAULTS = Object.freeze({ outOfOrdernessUs: 2_000_000, allowedLatenessUs: 60_000_000 });

export const barAggregatorOptionsSchema = z.object({
  intervalUs: z.number().int().positive().default(BAR_INTERVAL_US),
  outOfOrdernessUs: z.number().int().nonnegative().default(BAR_DEFAULTS.outOfOrdernessUs),
  allowedLatenessUs: z.number().int().nonnegative().default(BAR_DEFAULTS.allowedLatenessUs),
});
export type BarAggregatorOptions = z.infer<typeof barAggregatorOptionsSchema>;

export type LateTrade = {
  kind: 'late';
  tick: TradeTick;
  reason: 'window_closed';
  windowStart: number;
  /** The watermark that had closed the window. */
  watermark: number;
};
export type BarEvent = { kind: 'bar'; bar: Bar } | LateTrade;

export const barAggregatorSnapshotSchema = z.object({
  v: z.literal(1),
  options: barAggregatorOptionsSchema,
  maxTs: z.number().nullable(),
  watermark: z.number().nullable(),
  /** revision −1: not fired yet. */
  windows: z.array(z.object({ acc: barAccSchema, revision: z.number().int().min(-1) })),
});
export type BarAggregatorSnapshot = z.infer<typeof barAggregatorSnapshotSchema>;

interface Window {
  acc: BarAcc;
  revision: number;
}

export class BarAggregator {
  readonly options: Readonly<BarAggregatorOptions>;
  private maxTs = -Infinity;
  private wm = -Infinity;
  private readonly windows = new Map<string, Window>();
  // Earliest watermark at which some window fires / expires: most trades move the watermark without reaching it.
  private nextFireAt = Infinity;
  private nextDropAt = Infinity;

  constructor(options: Partial<BarAggregatorOptions> = {}) {
    this.options = Object.freeze(barAggregatorOptionsSchema.parse(options));
  }

  get watermark(): number | null {
    return this.wm === -Infinity ? null : this.wm;
  }

  get openWindows(): number {
    return this.windows.size;
  }

  add(tick: Tick): BarEvent[] {
    if (tick.type !== 'trade') return [];
    const { intervalUs, allowedLatenessUs } = this.options;
    const out: BarEvent[] = [];
    const start = windowStartOf(tick.ts, intervalUs);
    const end = start + intervalUs;
    if (this.wm >= end + allowedLatenessUs) {
      out.push({ kind: 'late', tick, reason: 'window_closed', windowStart: start, watermark: this.wm });
    } else {
      const key = barKey(tick.symbol, start);
      const w = this.windows.get(key);
      if (w === undefined) {
        const nw: Window = { acc: newBarAcc(tick, start, intervalUs), revision: -1 };
        this.windows.set(key, nw);
        if (this.wm >= end) {
          nw.revision = 0;
          out.push({ kind: 'bar', bar: barOf(nw.acc, 0) });
        } else if (end < this.nextFireAt) {
          this.nextFireAt = end;
        }
        if (end + allowedLatenessUs < this.nextDropAt) this.nextDropAt = end + allowedLatenessUs;
      } else {
        mergeTrade(w.acc, tick);
        if (w.revision >= 0) out.push({ kind: 'bar', bar: barOf(w.acc, ++w.revision) });
      }
    }
    if (tick.ts > this.maxTs) {
      this.maxTs = tick.ts;
      this.raise(tick.ts - this.options.outOfOrdernessUs, out);
    }
    return out;
  }

  /** Moves the watermark to `watermarkUs` if that is later (e.g. wall clock minus a delay while no data flows). */
  advanceWatermark(watermarkUs: number): BarEvent[] {
    const out: BarEvent[] = [];
    this.raise(watermarkUs, out);
    return out;
  }

  /** End of a bounded stream: fires every window not fired yet. Fired windows stay open for late trades. */
  flush(): BarEvent[] {
    const fired: Window[] = [];
    for (const w of this.windows.values()) if (w.revision < 0) fired.push(w);
    this.nextFireAt = Infinity;
    return this.emitFired(fired);
  }

  snapshot(): BarAggregatorSnapshot {
    return {
      v: 1,
      options: { ...this.options },
      maxTs: this.maxTs === -Infinity ? null : this.maxTs,
      watermark: this.watermark,
      windows: [...this.windows.values()].map((w) => ({ acc: structuredClone(w.acc), revision: w.revision })),
    };
  }

  static restore(snapshot: unknown): BarAggregator {
    const s = barAggregatorSnapshotSchema.parse(snapshot);
    const agg = new BarAggregator(s.options);
    agg.maxTs = s.maxTs ?? -Infinity;
    agg.wm = s.watermark ?? -Infinity;
    for (const w of s.windows)
      agg.windows.set(barKey(w.acc.symbol, w.acc.windowStart), { acc: structuredClone(w.acc), revision: w.revision });
    agg.recomputeNext();
    return agg;
  }

  private raise(watermark: number, out: BarEvent[]): void {
    if (!(watermark > this.wm)) return;
    this.wm = watermark;
    if (watermark < this.nextFireAt && watermark < this.nextDropAt) return;
    const fired: Window[] = [];
    for (const w of this.windows.values()) if (w.revision < 0 && w.acc.windowEnd <= watermark) fired.push(w);
    for (const e of this.emitFired(fired)) out.push(e);
    const lateness = this.options.allowedLatenessUs;
    for (const [key, w] of this.windows) if (w.acc.windowEnd + lateness <= watermark) this.windows.delete(key);
    this.recomputeNext();
  }

  private emitFired(fired: Window[]): BarEvent[] {
    fired.sort((a, b) => compareBars(a.acc, b.acc));
    return fired.map((w) => {
      w.revision = 0;
      return { kind: 'bar', bar: barOf(w.acc, 0) };
    });
  }

  private recomputeNext(): void {
    this.nextFireAt = Infinity;
    this.nextDropAt = Infinity;
    for (const w of this.windows.values()) {
      if (w.revision < 0 && w.acc.windowEnd < this.nextFireAt) this.nextFireAt = w.acc.windowEnd;
      const drop = w.acc.windowEnd + this.options.allowedLatenessUs;
      if (drop < this.nextDropAt) this.nextDropAt = drop;
    }
  }
}
