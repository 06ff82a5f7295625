import { z } from 'zod';
import { symbolSchema } from './tick.ts';

/**
 * A 1-minute OHLCV bar by event time (`bars.1m`, key = symbol). Windows are [windowStart, windowStart + 60 s).
 * A bar is first emitted when the watermark passes its window end; a late trade inside the allowed lateness
 * re-emits it with revision + 1. Consumers keep the highest revision per (symbol, windowStart).
 */
export const BAR_SCHEMA_VERSION = 1 as const;
export const BAR_INTERVAL_US = 60_000_000;

export const barSchema = z.object({
  v: z.literal(BAR_SCHEMA_VERSION),
  symbol: symbolSchema,
  windowStart: z.number().int(),
  windowEnd: z.number().int(),
  open: z.number().positive(),
  high: z.number().positive(),
  low: z.number().positive(),
  close: z.number().positive(),
  volume: z.number().nonnegative(),
  /** Σ(price·size) / Σ(size) over the window's trades. */
  vwap: z.number().positive(),
  trades: z.number().int().positive(),
  firstTs: z.number().int(),
  lastTs: z.number().int(),
  revision: z.number().int().nonnegative(),
});

export type Bar = z.infer<typeof barSchema>;

export function barKey(symbol: string, windowStart: number): string {
  return `${symbol}@${windowStart}`;
}
