import type { Alert } from '../core/schemas/alert.ts';
import type { Bar } from '../core/schemas/bar.ts';
import { dayRange } from './query.ts';

/**
 * What the server remembers of the current UTC day, fed from the lake at start and from Kafka after: every bar
 * (highest revision per window), the last trade price per symbol and the latest alerts. History requests are the
 * lake's rows merged with these, so a bar the sink has not flushed yet is still served. Pure: no I/O, a clock
 * passed in.
 */
export interface OverviewRow {
  symbol: string;
  last: number;
  /** The day's first bar's open. */
  open: number;
  changePct: number;
  high: number;
  low: number;
  volume: number;
  /** Closes of the day's bars, oldest first, at most SPARK_POINTS (evenly thinned). */
  spark: number[];
  lastTs: number;
}

export const SPARK_POINTS = 120;
export const KEPT_ALERTS = 500;

interface SymbolDay {
  bars: Map<number, Bar>;
  last?: { price: number; ts: number };
}

export class MarketDay {
  private dayStartUs: number;
  private readonly symbols = new Map<string, SymbolDay>();
  private readonly alerts: Alert[] = [];
  /** Symbols whose price moved since the last `takeChangedPrices`. */
  private readonly changed = new Set<string>();

  constructor(nowUs: number) {
    this.dayStartUs = dayRange(nowUs).fromUs;
  }

  /** Forgets yesterday once the clock or the data has moved past midnight UTC. */
  roll(nowUs: number): void {
    const start = dayRange(nowUs).fromUs;
    if (start <= this.dayStartUs) return;
    this.dayStartUs = start;
    this.symbols.clear();
    this.alerts.length = 0;
    this.changed.clear();
  }

  private inDay(tsUs: number): boolean {
    return tsUs >= this.dayStartUs && tsUs < this.dayStartUs + 24 * 3600 * 1_000_000;
  }

  private day(symbol: string): SymbolDay {
    let d = this.symbols.get(symbol);
    if (!d) this.symbols.set(symbol, (d = { bars: new Map() }));
    return d;
  }

  /** True when the bar is of today and newer than what is held for its window (a revision replaces). */
  applyBar(bar: Bar): boolean {
    if (!this.inDay(bar.windowStart)) return false;
    const d = this.day(bar.symbol);
    const held = d.bars.get(bar.windowStart);
    if (held && held.revision >= bar.revision) return false;
    d.bars.set(bar.windowStart, bar);
    if (!d.last || bar.lastTs >= d.last.ts) {
      d.last = { price: bar.close, ts: bar.lastTs };
      this.changed.add(bar.symbol);
    }
    return true;
  }

  applyTrade(symbol: string, price: number, tsUs: number): void {
    if (!this.inDay(tsUs)) return;
    const d = this.day(symbol);
    if (d.last && d.last.ts > tsUs) return;
    d.last = { price, ts: tsUs };
    this.changed.add(symbol);
  }

  applyAlert(alert: Alert): boolean {
    if (!this.inDay(alert.ts)) return false;
    if (this.alerts.some((a) => a.id === alert.id)) return false;
    this.alerts.push(alert);
    this.alerts.sort((a, b) => a.ts - b.ts);
    if (this.alerts.length > KEPT_ALERTS) this.alerts.splice(0, this.alerts.length - KEPT_ALERTS);
    return true;
  }

  /** The day's bars of `symbol` in [fromUs, toUs), oldest first. */
  bars(symbol: string, fromUs: number, toUs: number): Bar[] {
    const d = this.symbols.get(symbol);
    if (!d) return [];
    return [...d.bars.values()]
      .filter((b) => b.windowStart >= fromUs && b.windowStart < toUs)
      .sort((a, b) => a.windowStart - b.windowStart);
  }

  recentAlerts(): readonly Alert[] {
    return this.alerts;
  }

  row(symbol: string): OverviewRow | null {
    const d = this.symbols.get(symbol);
    if (!d || !d.last) return null;
    const bars = [...d.bars.values()].sort((a, b) => a.windowStart - b.windowStart);
    const open = bars[0]?.open ?? d.last.price;
    let high = d.last.price;
    let low = d.last.price;
    let volume = 0;
    for (const b of bars) {
      high = Math.max(high, b.high);
      low = Math.min(low, b.low);
      volume += b.volume;
    }
    return {
      symbol,
      last: d.last.price,
      open,
      changePct: open > 0 ? ((d.last.price - open) / open) * 100 : 0,
      high,
      low,
      volume,
      spark: thin(
        bars.map((b) => b.close),
        SPARK_POINTS,
      ),
      lastTs: d.last.ts,
    };
  }

  overview(): OverviewRow[] {
    const rows: OverviewRow[] = [];
    for (const s of [...this.symbols.keys()].sort()) {
      const r = this.row(s);
      if (r) rows.push(r);
    }
    return rows;
  }

  /** Last price and change of the symbols that moved since the previous call (the throttled `prices` event). */
  takeChangedPrices(): { symbol: string; last: number; changePct: number; lastTs: number }[] {
    const out = [];
    for (const s of this.changed) {
      const r = this.row(s);
      if (r) out.push({ symbol: s, last: r.last, changePct: r.changePct, lastTs: r.lastTs });
    }
    this.changed.clear();
    return out;
  }
}

/** At most `n` points of `values`, evenly spaced, always keeping the last. */
export function thin(values: readonly number[], n: number): number[] {
  if (values.length <= n) return [...values];
  const out: number[] = [];
  const step = (values.length - 1) / (n - 1);
  for (let i = 0; i < n; i++) out.push(values[Math.round(i * step)]!);
  return out;
}

/** The day's biggest gainers and losers by change since the open. */
export function movers(rows: readonly OverviewRow[], n = 5): { gainers: OverviewRow[]; losers: OverviewRow[] } {
  const sorted = [...rows].sort((a, b) => b.changePct - a.changePct);
  return {
    gainers: sorted.filter((r) => r.changePct > 0).slice(0, n),
    losers: sorted
      .filter((r) => r.changePct < 0)
      .reverse()
      .slice(0, n),
  };
}
