import { z } from 'zod';
import { tickSchema } from './tick.ts';

/**
 * A tick after validation, dedupe and enrichment (`ticks.enriched`). Reference fields come from the symbol
 * master (`reference.symbols`); derived fields are computed per symbol, in event-time order, by core/enrich.
 * Derived fields that need history (logReturn, ewmaVol) are null on a symbol's first trade.
 */
export const ENRICHED_SCHEMA_VERSION = 1 as const;

const derived = z.object({
  name: z.string().nullable(),
  sector: z.string().nullable(),
  currency: z.string().nullable(),
  listingExchange: z.string().nullable(),
  /** Quote midpoint; for trades, the last known mid of the symbol (null before the first quote). */
  mid: z.number().nullable(),
  /** (ask - bid) / mid in basis points, from the last known quote. */
  spreadBps: z.number().nullable(),
  /** ln(price / previous trade price), trades only. */
  logReturn: z.number().nullable(),
  /** Volume-weighted average trade price since the session (UTC day) started. */
  sessionVwap: z.number().nullable(),
  /** Exponentially weighted volatility of log returns (per-trade, not annualised). */
  ewmaVol: z.number().nullable(),
  /** When the processor emitted it, µs since epoch. */
  processedTs: z.number().int(),
});

export const enrichedTickSchema = z.intersection(
  tickSchema,
  derived.extend({ ev: z.literal(ENRICHED_SCHEMA_VERSION) }),
);
export type EnrichmentFields = z.infer<typeof derived>;
export type EnrichedTick = z.infer<typeof enrichedTickSchema>;
