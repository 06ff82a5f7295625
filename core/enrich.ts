import { z } from 'zod';
import { ENRICHED_SCHEMA_VERSION } from './schemas/enriched.ts';
import type { EnrichedTick, EnrichmentFields } from './schemas/enriched.ts';
import type { ReferenceSymbol } from './schemas/reference.ts';
import type { Tick } from './schemas/tick.ts';

/**
 * Per-symbol enrichment, in the order ticks are given (the stream's partition order, or event-time order in the
 * batch path). Formulas:
 *   quote:  mid = (bid + ask) / 2, spreadBps = (ask - bid) / mid · 10⁴; a trade carries the last quote's values.
 *   trade:  logReturn = ln(price / previous trade price)
 *           sessionVwap = Σ(price·size) / Σ(size) over this symbol's trades of the same UTC day (event time)
 *           ewma variance σ² = r² on the first return, then λ·σ² + (1 − λ)·r²  (RiskMetrics); ewmaVol = σ
 * A quote carries the symbol's current sessionVwap (null if no trade yet in the quote's UTC day) and last ewmaVol.
 * A trade from an earlier UTC day than the symbol's current session (a straggler across midnight) neither
 * reopens the old session nor pollutes the new one: its sessionVwap is null. It still updates logReturn/ewma.
 */

export const enricherOptionsSchema = z.object({
  lambda: z.number().gt(0).lt(1).default(0.94),
});
export type EnricherOptions = z.infer<typeof enricherOptionsSchema>;

const US_PER_DAY = 86_400_000_000;

const symbolStateSchema = z.object({
  mid: z.number().nullable(),
  spreadBps: z.number().nullable(),
  lastPrice: z.number().nullable(),
  sessionDay: z.number().int().nullable(),
  sessionPv: z.number(),
  sessionSize: z.number(),
  ewmaVar: z.number().nullable(),
});
type SymbolState = z.infer<typeof symbolStateSchema>;

export const enricherSnapshotSchema = z.object({
  v: z.literal(1),
  lambda: z.number(),
  symbols: z.array(z.tuple([z.string(), symbolStateSchema])),
});
export type EnricherSnapshot = z.infer<typeof enricherSnapshotSchema>;

/**
 * Tick fields + enrichment fields, written out on purpose: in V8, `{ ...tick, ...fields }` over ticks of varying
 * shapes (trade/quote, optional fields) cost ~6 µs per record, 20-50x the rest of enrich() (bench/core-pipeline).
 */
function withTick(t: Tick, f: EnrichmentFields & { ev: typeof ENRICHED_SCHEMA_VERSION }): EnrichedTick {
  const out: EnrichedTick =
    t.type === 'trade'
      ? {
          v: t.v,
          id: t.id,
          source: t.source,
          symbol: t.symbol,
          seq: t.seq,
          ts: t.ts,
          recvTs: t.recvTs,
          type: t.type,
          price: t.price,
          size: t.size,
          ev: f.ev,
          name: f.name,
          sector: f.sector,
          currency: f.currency,
          listingExchange: f.listingExchange,
          mid: f.mid,
          spreadBps: f.spreadBps,
          logReturn: f.logReturn,
          sessionVwap: f.sessionVwap,
          ewmaVol: f.ewmaVol,
          processedTs: f.processedTs,
        }
      : {
          v: t.v,
          id: t.id,
          source: t.source,
          symbol: t.symbol,
          seq: t.seq,
          ts: t.ts,
          recvTs: t.recvTs,
          type: t.type,
          bid: t.bid,
          bidSize: t.bidSize,
          ask: t.ask,
          askSize: t.askSize,
          ev: f.ev,
          name: f.name,
          sector: f.sector,
          currency: f.currency,
          listingExchange: f.listingExchange,
          mid: f.mid,
          spreadBps: f.spreadBps,
          logReturn: f.logReturn,
          sessionVwap: f.sessionVwap,
          ewmaVol: f.ewmaVol,
          processedTs: f.processedTs,
        };
  if (t.exchange !== undefined) out.exchange = t.exchange;
  if (t.conditions !== undefined) out.conditions = t.conditions;
  return out;
}

function utcDay(tsUs: number): number {
  return Math.floor(tsUs / US_PER_DAY);
}

export class Enricher {
  readonly lambda: number;
  private readonly state = new Map<string, SymbolState>();

  constructor(options: Partial<EnricherOptions> = {}) {
    this.lambda = enricherOptionsSchema.parse(options).lambda;
  }

  /** Enriches `tick` and advances its symbol's state. `processedTs` is the caller's clock (µs). */
  enrich(tick: Tick, ref: ReferenceSymbol | null | undefined, processedTs: number): EnrichedTick {
    let s = this.state.get(tick.symbol);
    if (s === undefined) {
      s = {
        mid: null,
        spreadBps: null,
        lastPrice: null,
        sessionDay: null,
        sessionPv: 0,
        sessionSize: 0,
        ewmaVar: null,
      };
      this.state.set(tick.symbol, s);
    }
    const day = utcDay(tick.ts);
    let logReturn: number | null = null;
    let sessionVwap: number | null = null;

    if (tick.type === 'quote') {
      const mid = (tick.bid + tick.ask) / 2;
      s.mid = mid;
      s.spreadBps = ((tick.ask - tick.bid) / mid) * 10_000;
      if (s.sessionDay === day && s.sessionSize > 0) sessionVwap = s.sessionPv / s.sessionSize;
    } else {
      if (s.lastPrice !== null) {
        logReturn = Math.log(tick.price / s.lastPrice);
        const r2 = logReturn * logReturn;
        s.ewmaVar = s.ewmaVar === null ? r2 : this.lambda * s.ewmaVar + (1 - this.lambda) * r2;
      }
      s.lastPrice = tick.price;
      if (s.sessionDay === null || day > s.sessionDay) {
        s.sessionDay = day;
        s.sessionPv = 0;
        s.sessionSize = 0;
      }
      if (day === s.sessionDay) {
        s.sessionPv += tick.price * tick.size;
        s.sessionSize += tick.size;
        sessionVwap = s.sessionPv / s.sessionSize;
      }
    }

    const fields: EnrichmentFields & { ev: typeof ENRICHED_SCHEMA_VERSION } = {
      ev: ENRICHED_SCHEMA_VERSION,
      name: ref?.name ?? null,
      sector: ref?.sector ?? null,
      currency: ref?.currency ?? null,
      listingExchange: ref?.exchange ?? null,
      mid: s.mid,
      spreadBps: s.spreadBps,
      logReturn,
      sessionVwap,
      ewmaVol: s.ewmaVar === null ? null : Math.sqrt(s.ewmaVar),
      processedTs,
    };
    return withTick(tick, fields);
  }

  snapshot(): EnricherSnapshot {
    return { v: 1, lambda: this.lambda, symbols: [...this.state].map(([sym, st]) => [sym, { ...st }]) };
  }

  static restore(snapshot: unknown): Enricher {
    const s = enricherSnapshotSchema.parse(snapshot);
    const e = new Enricher({ lambda: s.lambda });
    for (const [sym, st] of s.symbols) e.state.set(sym, { ...st });
    return e;
  }
}
