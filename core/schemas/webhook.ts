import { z } from 'zod';
import { alertSchema } from './alert.ts';

/**
 * Webhook delivery records. `webhooks.state` (compacted, key = endpoint + "/" + webhook-id) holds one record per
 * delivery not yet finished; it is written before the alert's offset is committed and tombstoned once the
 * delivery is delivered or dead-lettered, so a restarted process resumes exactly the unfinished ones.
 */
export const WEBHOOK_SCHEMA_VERSION = 1 as const;

export const deliveryStateSchema = z.object({
  v: z.literal(WEBHOOK_SCHEMA_VERSION),
  endpoint: z.string().min(1),
  webhookId: z.string().min(1),
  alert: alertSchema,
  /** Attempts made so far. */
  attempts: z.number().int().nonnegative(),
  /** When the next attempt is due, ms since epoch. */
  nextAttemptAt: z.number().int(),
  /** When the delivery was first recorded, ms since epoch. */
  createdAt: z.number().int(),
  lastOutcome: z.string().optional(),
  lastDetail: z.string().optional(),
});
export type DeliveryState = z.infer<typeof deliveryStateSchema>;

export function deliveryKey(endpoint: string, webhookId: string): string {
  return `${endpoint}/${webhookId}`;
}

export const WEBHOOK_DLQ_REASONS = [
  /** Every attempt of the retry schedule failed. */
  'attempts_exhausted',
  /** The endpoint answered 410 Gone and was disabled. */
  'endpoint_gone',
  /** A pending delivery's endpoint is no longer configured. */
  'endpoint_removed',
  /** A record on `alerts` that is not an alert. */
  'invalid_alert',
  /** The alert's event time was older than webhooks.maxAlertAgeSec when it came to be delivered (a backlog). */
  'too_old',
] as const;
export type WebhookDlqReason = (typeof WEBHOOK_DLQ_REASONS)[number];

/** A delivery given up (`webhooks.dlq`, key = endpoint or the source key): the alert kept whole, with why. */
export const webhookDeadLetterSchema = z.object({
  v: z.literal(WEBHOOK_SCHEMA_VERSION),
  reason: z.enum(WEBHOOK_DLQ_REASONS),
  detail: z.string(),
  endpoint: z.string().nullable(),
  webhookId: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  alert: alertSchema.nullable(),
  /** An unreadable input record, base64 (invalid_alert only). */
  original: z.string().nullable(),
  /** Dead-lettered at, ms since epoch. */
  ts: z.number().int(),
});
export type WebhookDeadLetter = z.infer<typeof webhookDeadLetterSchema>;
