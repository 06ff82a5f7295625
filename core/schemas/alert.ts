import { z } from 'zod';
import { symbolSchema } from './tick.ts';

/**
 * An alert from the speed layer (`alerts`, key = symbol). `id` is deterministic — rule + symbol + window start —
 * so a replayed or retried evaluation produces the same alert, and the reconciliation can match the batch
 * layer's recomputation one to one.
 */
export const ALERT_SCHEMA_VERSION = 1 as const;

export const alertSchema = z.object({
  v: z.literal(ALERT_SCHEMA_VERSION),
  id: z.string().min(1),
  rule: z.string().min(1),
  symbol: symbolSchema,
  severity: z.enum(['info', 'warning', 'critical']),
  /** Event time the alert refers to (µs since epoch). */
  ts: z.number().int(),
  windowStart: z.number().int(),
  value: z.number(),
  threshold: z.number(),
  message: z.string(),
  emittedTs: z.number().int(),
});

export type Alert = z.infer<typeof alertSchema>;

export function alertId(rule: string, symbol: string, windowStart: number): string {
  return `${rule}:${symbol}:${windowStart}`;
}
