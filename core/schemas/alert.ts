import { z } from 'zod';
import { symbolSchema } from './tick.ts';

/**
 * An alert from the speed layer (`alerts`, key = symbol). `id` is deterministic — rule + symbol + window start —
 * so a replayed or retried evaluation produces the same alert, and the reconciliation can match the batch
 * layer's recomputation one to one.
 */
export const ALERT_SCHEMA_VERSION = 1 as const;

/** The `symbol` of an alert about a whole source (a silent feed), whose `source` then names it. */
export const SOURCE_WIDE_SYMBOL = '*';

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const alertSchema = z.object({
  v: z.literal(ALERT_SCHEMA_VERSION),
  id: z.string().min(1),
  rule: z.string().min(1),
  symbol: z.union([symbolSchema, z.literal(SOURCE_WIDE_SYMBOL)]),
  severity: z.enum(ALERT_SEVERITIES),
  /** Event time the alert refers to (µs since epoch). */
  ts: z.number().int(),
  windowStart: z.number().int(),
  value: z.number(),
  threshold: z.number(),
  message: z.string(),
  emittedTs: z.number().int(),
  // Added after v1 as optional fields, so alerts written before them still parse (lake table alerts v2).
  /** The tick source the alert concerns (the silent one, for a source-wide stale feed). */
  source: z.string().min(1).max(32).nullable().optional(),
  /** The model that produced the score of a model-score alert (its version string), else null. */
  modelVersion: z.string().min(1).max(128).nullable().optional(),
});

export type Alert = z.infer<typeof alertSchema>;

export function alertId(rule: string, symbol: string, windowStart: number): string {
  return `${rule}:${symbol}:${windowStart}`;
}
