import { z } from 'zod';
import { MAX_EVENT_TIME_US, MIN_EVENT_TIME_US } from '../../../core/schemas/tick.ts';

/**
 * Synthetic market configuration, declared once. Everything that shapes the output is here, so the same options
 * give byte-identical output — except `start` when left to its default (today's session open) or set to 'now'.
 */

// The kinds are part of the labels format (core/schemas/labels.ts), which the batch layer reads too.
export { ANOMALY_KINDS, type AnomalyKind } from '../../../core/schemas/labels.ts';

export const MALFORMED_VARIANTS = [
  'invalid_json',
  'nan_price',
  'negative_price',
  'missing_fields',
  'empty_symbol',
  'oversized',
] as const;
export type MalformedVariant = (typeof MALFORMED_VARIANTS)[number];

/**
 * How often a fault is injected: `rate` = probability per generated tick, and/or `count` = exactly that many at
 * random points of a run (needs `maxTicks` to know the run's length). A count whose turn comes at a tick where the
 * fault cannot apply waits for the next tick where it can.
 */
const trigger = {
  rate: z.number().min(0).max(1).default(0),
  count: z.number().int().nonnegative().default(0),
};
const range = (min: number, max: number) => ({
  min: z.number().positive().default(min),
  max: z.number().positive().default(max),
});

export const anomaliesSchema = z
  .object({
    /** A level shift of the symbol's price by ±[min, max] % at a trade (the labelled trade is the first at the new level). */
    priceJump: z.object({ ...trigger, ...range(4, 12) }).prefault({}),
    /** A trade of [min, max] shares (natural trades are capped at 50,000). */
    volumeSpike: z.object({ ...trigger, ...range(200_000, 1_000_000) }).prefault({}),
    /** A quote whose spread is [min, max] × the symbol's current spread, at least 2 % of the mid. */
    spreadBlowout: z.object({ ...trigger, ...range(20, 60) }).prefault({}),
    /** The symbol goes silent for [min, max] seconds of event time. */
    staleFeed: z.object({ ...trigger, ...range(120, 600) }).prefault({}),
    /** A recently emitted tick is sent again, byte for byte. */
    duplicate: z.object(trigger).prefault({}),
    /** A tick is held back and emitted right after the symbol's next (later) tick. */
    outOfOrder: z.object(trigger).prefault({}),
    /** A tick is held back and emitted [min, max] seconds of event time later. */
    late: z.object({ ...trigger, ...range(120, 600) }).prefault({}),
    /** A record that must be dead-lettered; the variant is drawn uniformly from `variants`. */
    malformed: z
      .object({
        ...trigger,
        variants: z
          .array(z.enum(MALFORMED_VARIANTS))
          .min(1)
          .default([...MALFORMED_VARIANTS]),
        /** Size of the 'oversized' variant's value. Kafka's default max.message.bytes is 1,048,588. */
        oversizedBytes: z.number().int().min(20_000).default(1_000_000),
      })
      .prefault({}),
  })
  .strict()
  .refine((a) => Object.values(a).reduce((sum, t) => sum + t.rate, 0) <= 1, {
    message: 'anomaly rates must add up to at most 1 (they are probabilities per tick)',
  })
  .prefault({});

export const marketParamsSchema = z
  .object({
    /** Market index GBM, annualised over 252 × 6.5 h of trading time. */
    indexDrift: z.number().default(0.05),
    indexVol: z.number().nonnegative().default(0.16),
    /** Median idiosyncratic volatility (annualised); per-symbol values are lognormal around it. */
    idioVol: z.number().positive().default(0.25),
    /** GARCH(1,1) per symbol tick: h' = (1-α-β)·h̄ + α·h·z² + β·h. */
    garchAlpha: z.number().min(0).max(1).default(0.08),
    garchBeta: z.number().min(0).max(1).default(0.9),
    /** Natural (unlabelled) Poisson jumps: per symbol per 6.5 h of event time, N(0, jumpSdPct %) clipped to ±3 sd. */
    jumpsPerDay: z.number().nonnegative().default(0.5),
    jumpSdPct: z.number().nonnegative().default(0.5),
    /** Median quoted spread in basis points at average volatility; per-symbol values are lognormal around it. */
    spreadBps: z.number().positive().default(4),
  })
  .strict()
  .refine((p) => p.garchAlpha + p.garchBeta < 1, { message: 'garchAlpha + garchBeta must be < 1', path: ['garchBeta'] })
  .prefault({});

const startSchema = z.union([
  z.number().int().min(MIN_EVENT_TIME_US).max(MAX_EVENT_TIME_US),
  z.iso.datetime({ offset: true }),
  z.literal('now'),
]);

export const syntheticOptionsSchema = z
  .object({
    seed: z.number().int().default(1),
    /** Tick `source` (part of every id). */
    source: z
      .string()
      .min(1)
      .max(32)
      .regex(/^[A-Za-z0-9._-]+$/)
      .default('synthetic'),
    symbols: z.number().int().min(1).max(100_000).default(50),
    /**
     * Symbol master to take the first symbols from (CSV with symbol,name,sector,exchange,currency,beta).
     * Default (undefined): the shipped reference/symbols.csv. null: generated SYN0001… symbols only.
     */
    referenceFile: z.string().min(1).nullable().optional(),
    /** µs since epoch, ISO-8601 with offset, or 'now'; default: today's 09:30 session open (see session.ts). */
    start: startSchema.optional(),
    /** Fixed exchange-local UTC offset in minutes (e.g. -300); default: America/New_York with DST. */
    utcOffsetMinutes: z.number().int().min(-720).max(840).optional(),
    /** On: ticks only in 09:30–16:00 local, Mon–Fri, with a U-shaped intensity; off: flat intensity around the clock. */
    tradingHours: z.boolean().default(true),
    /** Stop after this much event time (s) or this many records, whichever comes first; neither = run until aborted. */
    durationSec: z.number().positive().optional(),
    maxTicks: z.number().int().positive().optional(),
    /** Mean event-time ticks per second per symbol, over a session (the busiest symbols get more, see market.ts). */
    ratePerSymbol: z.number().positive().default(2),
    /** Fraction of ticks that are trades; the rest are quotes. */
    tradeRatio: z.number().min(0).max(1).default(0.3),
    /** ×N real time by event time; 0 = as fast as the consumer takes batches. */
    speed: z.number().nonnegative().finite().default(1),
    batchSize: z.number().int().min(1).max(100_000).default(500),
    /** Longest wall-clock pause when paced (nights and weekends are shortened to this). */
    maxPauseMs: z.number().nonnegative().default(10_000),
    /** NDJSON file receiving one line per injected anomaly (truncated at start). */
    labelsFile: z.string().min(1).optional(),
    anomalies: anomaliesSchema,
    market: marketParamsSchema,
  })
  .strict()
  .refine((o) => o.maxTicks !== undefined || !hasCounts(o.anomalies), {
    message: 'anomaly counts need maxTicks (to spread them over the run); use rates for open-ended runs',
    path: ['anomalies'],
  });

function hasCounts(a: z.output<typeof anomaliesSchema>): boolean {
  return Object.values(a).some((t) => t.count > 0);
}

export type SyntheticOptionsInput = z.input<typeof syntheticOptionsSchema>;
export type SyntheticOptions = z.output<typeof syntheticOptionsSchema>;
export type AnomalyOptions = SyntheticOptions['anomalies'];
export type MarketParams = SyntheticOptions['market'];
