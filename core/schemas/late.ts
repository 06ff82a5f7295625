import { z } from 'zod';
import type { LateTrade } from '../bars.ts';
import { timeUs, tradeTickSchema } from './tick.ts';

/**
 * A trade too late for its bar (`ticks.late`, key = symbol): the trade tick as it was accepted, plus why and
 * against which window and watermark. Kept, never dropped, so reconciliation can account for every trade.
 */
export const lateTickSchema = tradeTickSchema.extend({
  lateReason: z.enum(['window_closed']),
  /** The window the trade belonged to, µs. */
  windowStart: timeUs,
  /** The watermark that had closed it, µs. */
  watermark: z.number().int(),
});
export type LateTick = z.infer<typeof lateTickSchema>;

export function lateTick(late: LateTrade): LateTick {
  return { ...late.tick, lateReason: late.reason, windowStart: late.windowStart, watermark: late.watermark };
}
