import type { ReferenceSymbol } from '../../../core/schemas/reference.ts';
import { TICK_SCHEMA_VERSION, tickId } from '../../../core/schemas/tick.ts';
import type { Tick } from '../../../core/schemas/tick.ts';
import { SeededRandom } from '../../../core/seeded-random.ts';
import type { SourceRecord } from '../source.ts';
import { FaultPlanner, MALFORMED_DLQ_REASON, malformedValue, variantNeedsTrade } from './faults.ts';
import type { SyntheticLabel } from '../../../core/schemas/labels.ts';
import { MarketModel } from './market.ts';
import type { AnomalyKind, MalformedVariant, SyntheticOptions } from './options.ts';
import { SessionCalendar, uShape } from './session.ts';

/**
 * The synthetic feed as a pure, synchronous, seeded record stream: `next()` returns records one at a time (and sets
 * `lastTs`, the record's event time, for pacing). No I/O and no wall clock: the same options and start give the same
 * records and labels, byte for byte.
 *
 * Each step draws the next event time from a Poisson process (rate = symbols × ratePerSymbol × U-shape), advances the
 * index, picks a symbol by activity weight, updates its price and makes a trade or a quote. Faults then act on that
 * tick: replace it (malformed), hold it back (out_of_order, late), silence its symbol (stale_feed), alter it (jump,
 * spike, blowout), or re-send an earlier one (duplicate). A label is recorded when the labelled record is emitted.
 */

interface Held {
  tick: Tick;
  releaseAt: number;
}

const DUP_RING = 256;
/**
 * Out-of-order holds and stale periods are not started this close to the session close, so they end in the same
 * session (a held tick waiting overnight for its symbol's next tick would be a very different fault).
 */
const OOO_CLOSE_MARGIN_US = 60_000_000;

export class SyntheticGenerator {
  readonly labels: SyntheticLabel[] = [];
  readonly counters: Record<string, number> = { trades: 0, quotes: 0, staleDropped: 0 };
  /** Event time of the record last returned by next(). */
  lastTs = Number.NaN;
  /** Records returned so far (the next record's output index). */
  emitted = 0;

  private readonly market: MarketModel;
  private readonly marketRng: SeededRandom;
  private readonly faults: FaultPlanner;
  private readonly calendar: SessionCalendar;
  private readonly symbols: string[];
  private readonly seq: Float64Array;
  private readonly staleUntil: Float64Array;
  private readonly heldOoo = new Map<number, Held>();
  private readonly late: Held[] = [];
  private readonly ring: Array<{ record: SourceRecord; tick: Tick; index: number }> = [];
  private ringAt = 0;
  /** Only duplicates read the ring, so only they pay for filling it. */
  private readonly keepRing: boolean;
  private readonly queue: SourceRecord[] = [];
  private readonly queueTs: number[] = [];
  /** queue[head..tail) is pending; the arrays are reused (not truncated) once drained. */
  private head = 0;
  private tail = 0;
  private t: number;
  private openUs = Number.NEGATIVE_INFINITY;
  private closeUs = Number.POSITIVE_INFINITY;
  private readonly endUs: number;
  private readonly totalRate: number;
  private produced = 0;
  private step = 0;
  private done = false;

  constructor(
    private readonly opts: SyntheticOptions,
    universe: readonly ReferenceSymbol[],
    startUs: number,
    private readonly serialize: (tick: Tick) => string = JSON.stringify,
  ) {
    const root = new SeededRandom(opts.seed);
    this.marketRng = root.fork('market');
    this.faults = new FaultPlanner(opts.anomalies, root.fork('faults'), opts.maxTicks);
    this.calendar = new SessionCalendar(opts.utcOffsetMinutes);
    this.symbols = universe.map((u) => u.symbol);
    // Sequence numbers (and so tick ids) start at the run's start time in µs: two runs of the market — a demo
    // restarted minutes later with start=now — never reuse an id, which the processor's dedupe window (10 min)
    // would otherwise drop as duplicates of the earlier run's ticks. Runs with the same start are one run.
    this.seq = new Float64Array(universe.length).fill(startUs);
    this.staleUntil = new Float64Array(universe.length);
    this.t = startUs;
    if (opts.tradingHours) this.enterSession(startUs);
    this.market = new MarketModel(universe, opts.market, this.marketRng, this.t, root.fork('setup'));
    this.endUs = opts.durationSec === undefined ? Number.POSITIVE_INFINITY : startUs + opts.durationSec * 1e6;
    this.totalRate = opts.ratePerSymbol * universe.length;
    this.keepRing = opts.anomalies.duplicate.rate > 0 || opts.anomalies.duplicate.count > 0;
  }

  next(): SourceRecord | undefined {
    while (this.head >= this.tail) {
      if (this.done) return undefined;
      this.head = 0;
      this.tail = 0;
      this.advance();
    }
    this.lastTs = this.queueTs[this.head] as number;
    this.emitted++;
    return this.queue[this.head++];
  }

  get finished(): boolean {
    return this.done && this.head >= this.tail;
  }

  private enterSession(tUs: number): void {
    const s = this.calendar.sessionAtOrAfter(tUs);
    this.openUs = s.openUs;
    this.closeUs = s.closeUs;
    this.t = Math.max(tUs, s.openUs);
  }

  private advance(): void {
    const o = this.opts;
    if (o.maxTicks !== undefined && this.produced >= o.maxTicks) return this.finish();
    const intensity = o.tradingHours ? uShape((this.t - this.openUs) / (this.closeUs - this.openUs)) : 1;
    let next = this.t + Math.round(this.marketRng.exponential(this.totalRate * intensity) * 1e6);
    let overnight = false;
    if (next >= this.closeUs) {
      this.enterSession(this.closeUs);
      next = this.t;
      overnight = true;
    }
    if (next >= this.endUs) return this.finish();
    this.t = next;
    this.market.advanceIndex(next, overnight);
    this.releaseLate(next);

    const i = this.market.pickSymbol();
    this.market.updateSymbol(i);
    const tradeDraw = this.marketRng.uniform() < o.tradeRatio;
    const latencyUs = 50 + Math.floor(-Math.log(1 - this.marketRng.uniform()) * 500);
    this.step++;
    if ((this.staleUntil[i] as number) > next) {
      this.counters.staleDropped = (this.counters.staleDropped ?? 0) + 1;
      return;
    }
    const kind = this.faults.enabled ? this.faults.decide(this.step, (k) => this.applies(k, i)) : null;
    if (kind === null) {
      this.produced++;
      const tick = this.makeTick(i, tradeDraw, latencyUs, 1);
      this.emitTick(i, tick, null);
      return;
    }
    this.inject(kind, i, tradeDraw, latencyUs);
  }

  private applies(kind: AnomalyKind, i: number): boolean {
    switch (kind) {
      case 'out_of_order':
      case 'stale_feed':
        // One held tick per symbol, and a held symbol must keep ticking so the held tick comes out.
        return !this.heldOoo.has(i) && this.t < this.closeUs - OOO_CLOSE_MARGIN_US;
      case 'late':
        return this.t + this.opts.anomalies.late.max * 1e6 < this.closeUs;
      case 'duplicate':
        return this.ring.length > 0;
      default:
        return true;
    }
  }

  private inject(kind: AnomalyKind, i: number, tradeDraw: boolean, latencyUs: number): void {
    const a = this.opts.anomalies;
    const f = this.faults;
    const symbol = this.symbols[i] as string;
    if (kind === 'stale_feed') {
      const durationUs = Math.round(f.between(a.staleFeed) * 1e6);
      this.staleUntil[i] = this.t + durationUs;
      this.counters.staleDropped = (this.counters.staleDropped ?? 0) + 1;
      this.label('stale_feed', symbol, this.t, undefined, { untilTs: this.t + durationUs, durationUs });
      return;
    }
    let variant: MalformedVariant | undefined;
    let isTrade = tradeDraw;
    if (kind === 'price_jump' || kind === 'volume_spike') isTrade = true;
    if (kind === 'spread_blowout') isTrade = false;
    if (kind === 'malformed') {
      variant = f.variant();
      if (variantNeedsTrade(variant)) isTrade = true;
    }
    let prevPrice = 0;
    if (kind === 'price_jump') {
      prevPrice = this.market.mid(i);
      this.market.shiftPrice(i, 1 + (f.sign() * f.between(a.priceJump)) / 100);
    }
    const normalSpreadBps = this.market.currentSpreadBps(i);
    const widen = kind === 'spread_blowout' ? Math.max(f.between(a.spreadBlowout), 200 / normalSpreadBps) : 1;
    const tick = this.makeTick(i, isTrade, latencyUs, widen);
    this.produced++;
    switch (kind) {
      case 'out_of_order':
        this.heldOoo.set(i, { tick, releaseAt: Number.POSITIVE_INFINITY });
        return;
      case 'late': {
        const releaseAt = this.t + Math.round(f.between(a.late) * 1e6);
        const at = this.late.findIndex((h) => h.releaseAt > releaseAt);
        this.late.splice(at < 0 ? this.late.length : at, 0, { tick, releaseAt });
        return;
      }
      case 'malformed': {
        const v = variant as MalformedVariant;
        const value = malformedValue(tick, v, f.int(1_000_000) / 1_000_000, a.malformed.oversizedBytes);
        const detail = { variant: v, dlqReason: MALFORMED_DLQ_REASON[v], bytes: Buffer.byteLength(value) };
        this.push({ key: symbol, value }, tick.ts, { kind, symbol, ts: tick.ts, id: tick.id, detail });
        return;
      }
      case 'price_jump': {
        const price = (tick as { price: number }).price;
        const movePct = Math.round((price / prevPrice - 1) * 10_000) / 100;
        this.emitTick(i, tick, { kind, detail: { prevPrice: round2(prevPrice), price, movePct } });
        return;
      }
      case 'volume_spike': {
        const t = tick as { size: number };
        t.size = 100 * Math.round(f.between(a.volumeSpike) / 100);
        this.emitTick(i, tick, { kind, detail: { size: t.size } });
        return;
      }
      case 'spread_blowout': {
        const q = tick as { bid: number; ask: number };
        const spreadBps = Math.round(((q.ask - q.bid) / ((q.ask + q.bid) / 2)) * 1e6) / 100;
        const detail = { bid: q.bid, ask: q.ask, spreadBps, normalSpreadBps: round2(normalSpreadBps) };
        this.emitTick(i, tick, { kind, detail });
        return;
      }
      case 'duplicate': {
        const dup = this.ring[f.int(this.ring.length)] as (typeof this.ring)[number];
        this.emitTick(i, tick, null);
        if (this.opts.maxTicks !== undefined && this.produced >= this.opts.maxTicks) return;
        this.produced++;
        const detail = { originalIndex: dup.index };
        this.push(dup.record, dup.tick.ts, { kind, symbol: dup.tick.symbol, ts: dup.tick.ts, id: dup.tick.id, detail });
        return;
      }
    }
  }

  private makeTick(i: number, trade: boolean, latencyUs: number, widen: number): Tick {
    const symbol = this.symbols[i] as string;
    const seq = (this.seq[i] as number) + 1;
    this.seq[i] = seq;
    const id = tickId(this.opts.source, symbol, seq);
    const source = this.opts.source;
    const v = TICK_SCHEMA_VERSION;
    const ts = this.t;
    const recvTs = ts + latencyUs;
    // Literal objects with a fixed key order: the JSON is byte-stable and V8 keeps one hidden class per type.
    if (trade) {
      this.counters.trades = (this.counters.trades ?? 0) + 1;
      const { price, size } = this.market.trade(i);
      return { v, id, source, symbol, seq, type: 'trade', ts, recvTs, price, size };
    }
    this.counters.quotes = (this.counters.quotes ?? 0) + 1;
    const { bid, bidSize, ask, askSize } = this.market.quote(i, widen);
    return { v, id, source, symbol, seq, type: 'quote', ts, recvTs, bid, bidSize, ask, askSize };
  }

  /** Emits a valid tick; then, if its symbol has a held out-of-order tick that is older, that one right after. */
  private emitTick(i: number, tick: Tick, label: { kind: AnomalyKind; detail: Record<string, unknown> } | null): void {
    const record: SourceRecord = { key: tick.symbol, value: this.serialize(tick) };
    const index = this.push(record, tick.ts, label && { ...label, symbol: tick.symbol, ts: tick.ts, id: tick.id });
    if (label === null && this.keepRing) {
      this.ring[this.ringAt] = { record, tick, index };
      this.ringAt = (this.ringAt + 1) % DUP_RING;
    }
    if (this.heldOoo.size === 0) return;
    const held = this.heldOoo.get(i);
    if (held === undefined || held.tick.ts >= tick.ts) return;
    this.heldOoo.delete(i);
    // Received just after the tick it was overtaken by.
    const older = { ...held.tick, recvTs: tick.recvTs } as Tick;
    const detail = { afterId: tick.id, lagUs: tick.ts - older.ts };
    this.push({ key: older.symbol, value: this.serialize(older) }, older.ts, {
      kind: 'out_of_order',
      symbol: older.symbol,
      ts: older.ts,
      id: older.id,
      detail,
    });
  }

  private releaseLate(nowUs: number): void {
    while (this.late.length > 0 && (this.late[0] as Held).releaseAt <= nowUs)
      this.emitLate(this.late.shift() as Held, nowUs);
  }

  private emitLate(h: Held, nowUs: number): void {
    const tick = { ...h.tick, recvTs: nowUs + 1000 } as Tick;
    const detail = { lagUs: nowUs - tick.ts };
    this.push({ key: tick.symbol, value: this.serialize(tick) }, tick.ts, {
      kind: 'late',
      symbol: tick.symbol,
      ts: tick.ts,
      id: tick.id,
      detail,
    });
  }

  /** End of a bounded run: held ticks come out (late ones labelled with the lag they actually got). */
  private finish(): void {
    this.done = true;
    for (const held of this.heldOoo.values()) {
      this.push({ key: held.tick.symbol, value: this.serialize(held.tick) }, held.tick.ts, null);
    }
    this.heldOoo.clear();
    for (const h of this.late.splice(0)) this.emitLate(h, this.t);
  }

  /** Queues a record; returns its output index. A label gets that index as detail.index. */
  private push(record: SourceRecord, ts: number, label: SyntheticLabel | null): number {
    const index = this.emitted + (this.tail - this.head);
    this.queue[this.tail] = record;
    this.queueTs[this.tail++] = ts;
    if (label !== null) this.label(label.kind, label.symbol, label.ts, label.id, { index, ...label.detail });
    return index;
  }

  private label(
    kind: AnomalyKind,
    symbol: string,
    ts: number,
    id: string | undefined,
    detail: Record<string, unknown>,
  ): void {
    this.labels.push(id === undefined ? { kind, symbol, ts, detail } : { kind, symbol, ts, id, detail });
    this.counters[kind] = (this.counters[kind] ?? 0) + 1;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
